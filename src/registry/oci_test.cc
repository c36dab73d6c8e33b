// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "registry/oci.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lockstep::registry {
namespace {

// The digest of the two bytes "{}" (sha256sum of printf '{}').
constexpr const char* kEmptyJson =
    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
// The digest of no bytes at all (sha256sum of /dev/null).
constexpr const char* kNothing =
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// An image manifest text whose layers member is `layers` verbatim, so a
// test can write JSON no serializer would (a repeated key, 10.0).
std::string ManifestWithLayers(const std::string& layers) {
  return std::string("{\"schemaVersion\":2,\"mediaType\":\"") +
         std::string(kOciManifest) +
         "\",\"config\":{\"mediaType\":\"application/vnd.oci.empty.v1+json\","
         "\"digest\":\"" + kEmptyJson + "\",\"size\":2}," + layers + "}";
}

std::string LayerOfSize(const std::string& size) {
  return std::string("{\"mediaType\":\"application/vnd.oci.image.layer.v1"
                     ".tar\",\"digest\":\"") + kNothing + "\",\"size\":" +
         size + "}";
}

// Found by a tester: with "layers" twice the last list won, so a client
// reading the first pulled a layer the registry never checked.
// Found by a tester: "layers" and "Layers" passed; Go's encoding/json
// (skopeo, docker) matches keys ignoring case and took the second.
TEST(ParseManifestTest, RefusesKeysThatDifferOnlyInCase) {
  std::string text = ManifestWithLayers(
      "\"layers\":[],\"Layers\":[" + LayerOfSize("0") + "]");
  auto parsed = ParseManifest(text, kOciManifest);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find(
                "key \"Layers\" appears twice in the same object (keys are "
                "compared ignoring case)"),
            std::string::npos)
      << parsed.status().message();
}

TEST(ParseManifestTest, RefusesARepeatedKey) {
  std::string text = ManifestWithLayers(
      "\"layers\":[" + LayerOfSize("0") + "],\"layers\":[]");
  auto parsed = ParseManifest(text, kOciManifest);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find(
                "key \"layers\" appears twice in the same object"),
            std::string::npos)
      << parsed.status().message();
  // The line and column of the second "layers": one line, and the
  // column is where its quote starts, counted from 1.
  size_t second = text.rfind("\"layers\"");
  EXPECT_NE(parsed.status().message().find(
                "manifest:1:" + std::to_string(second + 1) + ":"),
            std::string::npos)
      << parsed.status().message();
}

std::string ManifestWithArtifactType(const std::string& artifact_type) {
  return ManifestWithLayers("\"layers\":[],\"artifactType\":" +
                            artifact_type);
}

// Found by a tester: "artifactType": "" replaced the config's media type,
// so the referrers listing showed none and a filter on it missed.
TEST(ParseManifestTest, AnEmptyArtifactTypeIsTheConfigsMediaType) {
  auto empty = ParseManifest(ManifestWithArtifactType("\"\""), kOciManifest);
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_EQ(empty->artifact_type, "application/vnd.oci.empty.v1+json");

  auto set = ParseManifest(ManifestWithArtifactType("\"application/x.sbom\""),
                           kOciManifest);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->artifact_type, "application/x.sbom");

  for (const char* wrong : {"5", "null", "[]"}) {
    auto parsed = ParseManifest(ManifestWithArtifactType(wrong), kOciManifest);
    ASSERT_FALSE(parsed.ok()) << wrong;
    EXPECT_EQ(parsed.status().message(),
              "manifest: artifactType: not a string");
  }
}

// Found by a tester: 10.0 was reported as "missing or negative".
TEST(ParseManifestTest, SaysWhatIsWrongWithASize) {
  struct Case {
    std::string size;
    std::string expected;
  };
  const Case cases[] = {
      {"10.0", "layers[0].size: must be a whole number of bytes, not 10.0"},
      {"\"10\"", "layers[0].size: must be a whole number of bytes, not "
                 "\"10\""},
      {"-1", "layers[0].size: must not be negative, not -1"},
      // 2^63, one past the largest int64.
      {"9223372036854775808",
       "layers[0].size: 9223372036854775808 is too large"},
  };
  for (const Case& c : cases) {
    auto parsed = ParseManifest(
        ManifestWithLayers("\"layers\":[" + LayerOfSize(c.size) + "]"),
        kOciManifest);
    ASSERT_FALSE(parsed.ok()) << c.size;
    EXPECT_EQ(parsed.status().message(), c.expected);
  }
  std::string no_size = std::string("{\"digest\":\"") + kNothing + "\"}";
  auto parsed = ParseManifest(
      ManifestWithLayers("\"layers\":[" + no_size + "]"), kOciManifest);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message(), "layers[0].size: missing");
}

// A layer of `media_type` (of no bytes), with `urls` verbatim after it.
std::string LayerOfType(const std::string& media_type,
                        const std::string& urls = "") {
  return "{\"mediaType\":\"" + media_type + "\",\"digest\":\"" +
         kNothing + "\",\"size\":0" + urls + "}";
}

// Found by a tester: a non-distributable layer was never checked to
// exist, with or without `urls`; without them no one can fetch it.
TEST(ParseManifestTest, OnlyForeignLayersWithUrlsLiveElsewhere) {
  const std::string nondistributable =
      "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
  const std::string foreign =
      "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
  const std::string urls = ",\"urls\":[\"https://example.com/layer\"]";
  auto parsed = ParseManifest(
      ManifestWithLayers("\"layers\":[" + LayerOfType(nondistributable) +
                         "," + LayerOfType(foreign) + "," +
                         LayerOfType(nondistributable, urls) + "," +
                         LayerOfType(foreign, urls) + "," +
                         LayerOfType(foreign, ",\"urls\":[]") + "]"),
      kOciManifest);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  std::vector<std::string> fields;
  for (const Descriptor& blob : parsed->blobs) fields.push_back(blob.where);
  EXPECT_EQ(fields, (std::vector<std::string>{"config", "layers[0]",
                                              "layers[1]", "layers[4]"}));

  auto bad = ParseManifest(
      ManifestWithLayers("\"layers\":[" +
                         LayerOfType(foreign, ",\"urls\":\"https://x\"") +
                         "]"),
      kOciManifest);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "layers[0].urls: must be a list of strings, not \"https://x\"");
}

// RFC 9110 section 8.3.1: type, subtype and parameter names are
// case-insensitive. The registry keeps one spelling, the lower-case one.
TEST(ParseManifestTest, ComparesMediaTypesWithoutCase) {
  std::string text =
      ManifestWithLayers("\"layers\":[" + LayerOfSize("0") + "]");
  auto parsed = ParseManifest(
      text, "Application/VND.OCI.image.manifest.v1+JSON; charset=utf-8");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->media_type, "application/vnd.oci.image.manifest.v1+json");

  auto other = ParseManifest(text, kOciIndex);
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find("differs from Content-Type"),
            std::string::npos);
}

TEST(CanonicalMediaTypeTest, DropsParametersBlanksAndCase) {
  EXPECT_EQ(CanonicalMediaType("Application/JSON ; charset=UTF-8"),
            "application/json");
  EXPECT_EQ(CanonicalMediaType("  text/plain"), "text/plain");
  EXPECT_EQ(CanonicalMediaType(""), "");
  EXPECT_EQ(CanonicalMediaType(" ; x=y"), "");
}

// A 500's body names no file of the server's (brk-P finding 8); the
// server logs the cause.
TEST(InternalErrorTest, TellsTheClientWhatFailedAndKeepsTheCause) {
  Status full = Status::Unavailable(
      "/srv/store/tmp/upload-6a1a.tmp: No space left on device");
  ApiError error = InternalError(full);
  EXPECT_EQ(error.http_status, 500);
  EXPECT_EQ(error.code, "UNKNOWN");
  EXPECT_EQ(error.message, "the registry's disk is full");
  EXPECT_EQ(error.cause, full.message());
  EXPECT_EQ(error.ToJson(),
            "{\"errors\":[{\"code\":\"UNKNOWN\",\"detail\":{},"
            "\"message\":\"the registry's disk is full\"}]}");
  EXPECT_EQ(InternalError(Status::Unavailable(
                              "running 'COMMIT': database or disk is full"))
                .message,
            "the registry's disk is full");
  EXPECT_EQ(InternalError(Status::Unavailable(
                              "/srv/store/registry/index.db: attempt to "
                              "write a readonly database"))
                .message,
            "the registry's store is on a read-only file system");
  EXPECT_EQ(InternalError(Status::Unavailable(
                              "/srv/store/blobs: Read-only file system"))
                .message,
            "the registry's store is on a read-only file system");
  EXPECT_EQ(InternalError(Status::Internal("/srv/store/x: disk I/O error"))
                .message,
            "the registry failed to answer; its log says why");
}

}  // namespace
}  // namespace lockstep::registry
