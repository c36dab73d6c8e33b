// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "pipeline/replay.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <chrono>
#include <fstream>
#include <thread>

#include "core/files.h"
#include "pipeline/runner.h"

namespace lockstep::pipeline {
namespace {

namespace fs = std::filesystem;

class ReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = *MakeTempDirectory(fs::temp_directory_path(), "replay-test-");
    Write("binary", "lockstep");
    Write("pipeline.yaml", "pipeline: p\n");
    Write("params.json", "{\"n\": 1}");
    parts_.lockstep_binary = dir_ / "binary";
    parts_.lockstep_version = "0.1.0";
    parts_.metadata_url = "store.db";
    parts_.pipeline_file = dir_ / "pipeline.yaml";
    parts_.pipeline_bytes = "pipeline: p\n";
    parts_.param_overrides = {"n=2"};
    parts_.params_file = (dir_ / "params.json").string();
    parts_.params_bytes = "{\"n\": 1}";
    parts_.sandbox = "none";
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }
  static data::StatKey StatOf(const fs::path& path) {
    struct stat info;
    EXPECT_EQ(::stat(path.c_str(), &info), 0);
    return data::StatKeyOf(info);
  }
  Digest Fingerprint() { return *ReplayFingerprint(parts_); }

  fs::path dir_;
  ReplayFingerprintParts parts_;
};

// Every cheap part is in the fingerprint; the same parts give the same.
TEST_F(ReplayTest, FingerprintChangesWithEveryPart) {
  Digest base = Fingerprint();
  EXPECT_EQ(Fingerprint(), base);
  auto differs = [&](auto change) {
    ReplayFingerprintParts saved = parts_;
    change();
    Digest changed = Fingerprint();
    parts_ = saved;
    return changed != base;
  };
  EXPECT_TRUE(differs([&] { parts_.pipeline_bytes += "# c\n"; }));
  EXPECT_TRUE(differs([&] { parts_.param_overrides = {"n=3"}; }));
  EXPECT_TRUE(differs([&] { parts_.param_overrides = {"n", "=2"}; }));
  EXPECT_TRUE(differs([&] { parts_.sandbox = "bubblewrap"; }));
  EXPECT_TRUE(differs([&] { parts_.allow_tags = true; }));
  EXPECT_TRUE(differs([&] { parts_.metadata_url = "other.db"; }));
  EXPECT_TRUE(differs([&] { parts_.lockstep_version = "0.2.0"; }));
  EXPECT_TRUE(differs([&] { parts_.pipeline_file = dir_ / "b.yaml"; }));
  EXPECT_TRUE(differs([&] { parts_.params_bytes = "{\"n\": 2}"; }));
  // Only the bytes the run read count: the file now is not read again.
  Write("params.json", "{\"n\": 2}");
  EXPECT_EQ(Fingerprint(), base);
  // A rebuilt binary: same bytes, new inode and times.
  fs::remove(dir_ / "binary");
  Write("binary", "lockstep");
  EXPECT_NE(Fingerprint(), base);
  parts_.lockstep_binary = dir_ / "missing";
  EXPECT_FALSE(ReplayFingerprint(parts_).ok());
}

// A file changed within the racy window of its read is refused.
TEST_F(ReplayTest, RacyFilesRefuseTheRecord) {
  ReplayInputs inputs;
  data::StatKey key = StatOf(dir_ / "pipeline.yaml");
  int64_t changed = std::max(key.mtime_ns, key.ctime_ns);
  inputs.WatchIfSettled(&inputs.files, "a", key, changed + 2'100'000'000);
  EXPECT_EQ(inputs.refused, "");
  EXPECT_EQ(inputs.files.size(), 1u);
  inputs.WatchIfSettled(&inputs.files, "b", key, changed + 1'900'000'000);
  EXPECT_EQ(inputs.refused, "b changed less than 2 s before it was read");
  EXPECT_EQ(inputs.files.size(), 1u);
}

// ReplayMismatch compares env values, files and blobs with the record.
TEST_F(ReplayTest, MismatchNamesWhatChanged) {
  store::BlobStore blobs(dir_ / "store");
  Digest blob = *blobs.PutBytes("output");
  Digest code_blob = *blobs.PutBytes("echo code");
  struct stat info;
  ASSERT_EQ(::lstat(blobs.PathOf(blob).c_str(), &info), 0);
  ::setenv("LOCKSTEP_REPLAY_TEST_VAR", "one", 1);
  fs::path code = dir_ / "pipeline.yaml";
  Json record = {
      {"env", {{"LOCKSTEP_REPLAY_TEST_VAR", "one"}}},
      {"toolchain", HostToolchain()},
      {"programs", {{"sh", FindStepProgram("sh").string()}}},
      {"program_files", Json::array()},
      {"files", Json::array({Json::array(
                    {code.string(), StatKeyToJson(StatOf(code))})})},
      {"blobs", {{blob.ToString(), StatKeyToJson(data::StatKeyOf(info))}}},
      {"needed_blobs", {code_blob.ToString()}}};
  EXPECT_EQ(ReplayMismatch(record, blobs), "");

  ::setenv("LOCKSTEP_REPLAY_TEST_VAR", "two", 1);
  EXPECT_EQ(ReplayMismatch(record, blobs),
            "env LOCKSTEP_REPLAY_TEST_VAR changed");
  ::setenv("LOCKSTEP_REPLAY_TEST_VAR", "one", 1);

  // Past the kernel's timestamp tick (up to 10 ms), so the ctime moves:
  // within one tick it could not, which is why records refuse racy files.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ(::chmod(code.c_str(), 0700), 0);  // Only the ctime changes.
  EXPECT_EQ(ReplayMismatch(record, blobs), code.string() + " changed");
  record["files"][0][1] = StatKeyToJson(StatOf(code));
  EXPECT_EQ(ReplayMismatch(record, blobs), "");

  record["programs"]["sh"] = "/nowhere/sh";
  EXPECT_EQ(ReplayMismatch(record, blobs), "program sh resolves elsewhere");
  record["programs"]["sh"] = FindStepProgram("sh").string();

  // A code file's blob the manifest names, removed: no replay.
  fs::remove(blobs.PathOf(code_blob));
  EXPECT_EQ(ReplayMismatch(record, blobs),
            "blob " + code_blob.ToString() + " the manifest names is gone");
  record["needed_blobs"] = Json::array();
  EXPECT_EQ(ReplayMismatch(record, blobs), "");

  fs::remove(blobs.PathOf(blob));
  EXPECT_EQ(ReplayMismatch(record, blobs),
            "output blob " + blobs.PathOf(blob).string() + " is gone");
  ::unsetenv("LOCKSTEP_REPLAY_TEST_VAR");
}

}  // namespace
}  // namespace lockstep::pipeline
