// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "manifest/manifest.h"

#include <gtest/gtest.h>

#include "core/canonical_json.h"

namespace lockstep::manifest {
namespace {

// Sealing from per-field texts must give exactly the canonical form of
// the whole document, with hashes that VerifyManifestHash accepts.
TEST(SealManifestTest, EqualsCanonicalFormOfTheWholeDocument) {
  Json manifest = {
      {"manifest_version", 1},
      {"run_id", "r1"},
      {"steps", Json::array({{{"name", "b"}, {"z", 1.5}, {"a", "\u00e9"}},
                             {{"name", "a"}, {"n", nullptr}}})},
      {"params", {{"lr", {{"type", "float"}, {"value", 1e-5}}}}},
      {"code", nullptr},
      {"warnings", Json::array()}};
  Json sealed = manifest;
  Result<std::string> text = SealManifest(&sealed);
  ASSERT_TRUE(text.ok()) << text.status().message();
  Result<std::string> whole = CanonicalJson(sealed);
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(*text, *whole + "\n");
  EXPECT_TRUE(VerifyManifestHash(sealed).ok());
  Json body = sealed;
  body.erase("manifest_hash");
  EXPECT_EQ(sealed["manifest_hash"], CanonicalDigest(body)->ToString());
  EXPECT_EQ(sealed["field_hashes"]["steps"],
            CanonicalDigest(manifest["steps"])->ToString());
}

}  // namespace
}  // namespace lockstep::manifest
