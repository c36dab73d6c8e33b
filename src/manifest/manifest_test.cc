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

// A data-snapshot step cancelled (or skipped) before it took its snapshot
// has no dataset and no source: the manifest records a null digest.
// Found by a tester: an early Ctrl-C threw std::out_of_range here.
TEST(BuildManifestTest, SnapshotStepThatNeverRanHasNullDataset) {
  pipeline::PipelineSpec spec;
  spec.name = "p";
  pipeline::RunReport report;
  report.run_id = "r1";
  report.status = "cancelled";
  pipeline::StepReport step;
  step.name = "snap";
  step.component = "lockstep/data-snapshot";
  step.state = "cancelled";
  step.message = "cancelled";
  report.steps.push_back(step);
  Result<Json> manifest = BuildManifest(spec, report, ManifestContext());
  ASSERT_TRUE(manifest.ok()) << manifest.status().message();
  const Json& entry = (*manifest)["steps"][0];
  EXPECT_EQ(entry["state"], "cancelled");
  EXPECT_TRUE(entry["outputs"]["dataset"]["digest"].is_null());
  EXPECT_FALSE(entry.contains("source"));
}

}  // namespace
}  // namespace lockstep::manifest
