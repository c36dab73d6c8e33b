// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// The sandbox probe's cache: a fake bwrap on PATH counts its runs, and
// each part of the recorded key is changed in turn to see a re-probe.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "core/canonical_json.h"
#include "core/files.h"
#include "pipeline/executor.h"

namespace lockstep::pipeline {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

class SandboxProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = *MakeTempDirectory(fs::temp_directory_path(), "probe-");
    fs::create_directories(root_ / "bin");
    WriteBwrap(root_ / "bin", 0);
    saved_path_ = std::getenv("PATH");
    SetPath(root_ / "bin");
    // Files changed in the last 2 s vouch for no cached answer.
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  }
  void TearDown() override {
    ::setenv("PATH", saved_path_.c_str(), 1);
    RemoveAllQuietly(root_);
  }

  // A bwrap that counts its runs and exits with `code`.
  void WriteBwrap(const fs::path& dir, int code) {
    std::ofstream(dir / "bwrap")
        << "#!/bin/sh\necho x >> " << (root_ / "probes").string()
        << "\nexit " << code << "\n";
    fs::permissions(dir / "bwrap", fs::perms::owner_all);
  }
  void SetPath(const fs::path& dir) {
    std::string path = dir.string() + ":" + saved_path_;
    ::setenv("PATH", path.c_str(), 1);
  }
  int Probes() {
    Result<std::string> text = ReadFile(root_ / "probes");
    return text.ok() ? static_cast<int>(std::count(text->begin(),
                                                   text->end(), '\n'))
                     : 0;
  }
  fs::path Record() { return root_ / "cache" / "host-v1" / "sandbox.json"; }

  fs::path root_;
  std::string saved_path_;
};

TEST_F(SandboxProbeTest, AYesIsCachedAndEveryKeyPartReprobes) {
  EXPECT_TRUE(SandboxAvailable(root_));
  EXPECT_TRUE(SandboxAvailable(root_));
  EXPECT_EQ(Probes(), 1);
  EXPECT_TRUE(SandboxAvailable());  // No store: always probes.
  EXPECT_EQ(Probes(), 2);

  // The host differs from the record in one part: probe again.
  int expected = 2;
  for (const char* part :
       {"boot_id", "ns_mnt", "ns_user", "ns_pid", "ns_net", "uid", "argv",
        "bwrap", "true", "kernel/unprivileged_userns_clone",
        "kernel/apparmor_restrict_unprivileged_userns",
        "user/max_user_namespaces", "user/max_mnt_namespaces",
        "user/max_pid_namespaces", "user/max_net_namespaces",
        "kernel/overflowuid"}) {
    Json record = ParseJsonOrDiscarded(*ReadFile(Record()));
    ASSERT_TRUE(record["key"].contains(part)) << part;
    record["key"][part] = "changed";
    ASSERT_TRUE(WriteFileAtomically(Record(), record.dump()).ok());
    EXPECT_TRUE(SandboxAvailable(root_)) << part;
    EXPECT_EQ(Probes(), ++expected) << part;
    EXPECT_TRUE(SandboxAvailable(root_)) << part;  // Saved again.
    EXPECT_EQ(Probes(), expected) << part;
  }
}

TEST_F(SandboxProbeTest, AChangedOrOtherBwrapReprobesAndANoIsNeverCached) {
  EXPECT_TRUE(SandboxAvailable(root_));
  EXPECT_EQ(Probes(), 1);
  // Rewritten (a new version): probed, and not cached while racy.
  WriteBwrap(root_ / "bin", 0);
  EXPECT_TRUE(SandboxAvailable(root_));
  EXPECT_TRUE(SandboxAvailable(root_));
  EXPECT_EQ(Probes(), 3);

  // Another bwrap earlier on PATH that fails: a no, every time.
  fs::create_directories(root_ / "broken");
  WriteBwrap(root_ / "broken", 1);
  SetPath(root_ / "broken");
  EXPECT_FALSE(SandboxAvailable(root_));
  EXPECT_FALSE(SandboxAvailable(root_));
  EXPECT_EQ(Probes(), 5);

  // None on PATH at all.
  ::setenv("PATH", (root_ / "empty").c_str(), 1);
  EXPECT_FALSE(SandboxAvailable(root_));
  EXPECT_EQ(Probes(), 5);
}

}  // namespace
}  // namespace lockstep::pipeline
