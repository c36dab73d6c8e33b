// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "store/host_facts.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "core/files.h"

namespace lockstep::store {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

class HostFactsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = *MakeTempDirectory(fs::temp_directory_path(), "facts-");
  }
  void TearDown() override { RemoveAllQuietly(root_); }

  Json KeyOf(const fs::path& path) {
    HostFactKey key;
    key.AddFile("f", path);
    return key.json();
  }

  fs::path root_;
};

// Every way a file can change gives another key: a rewrite of the same
// size, a mode change, a relinked symlink, removal.
TEST_F(HostFactsTest, AKeyChangesWithEveryChangeToAFile) {
  fs::path a = root_ / "a";
  fs::path b = root_ / "b";
  fs::path link = root_ / "link";
  std::ofstream(a) << "one";
  std::ofstream(b) << "one";
  fs::create_symlink("a", link);
  Json before = KeyOf(link);
  EXPECT_EQ(KeyOf(link), before);
  ASSERT_EQ(before["f"].size(), 2u);  // The link, then the file.

  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::ofstream(a) << "two";  // Same size.
  Json rewritten = KeyOf(link);
  EXPECT_NE(rewritten, before);
  ASSERT_EQ(::chmod(a.c_str(), 0700), 0);
  Json chmodded = KeyOf(link);
  EXPECT_NE(chmodded, rewritten);
  fs::remove(link);
  fs::create_symlink("b", link);
  Json relinked = KeyOf(link);
  EXPECT_NE(relinked, chmodded);
  fs::remove(b);
  EXPECT_NE(KeyOf(link), relinked);
}

// Every key holds the boot and the namespaces this process runs in.
TEST_F(HostFactsTest, EveryKeyHoldsTheBootTheNamespacesAndTheUser) {
  HostFactKey key;
  for (const char* part : {"boot_id", "ns_mnt", "ns_user", "ns_pid",
                           "ns_net", "uid"}) {
    EXPECT_TRUE(key.json().contains(part)) << part;
  }
  EXPECT_TRUE(key.json()["boot_id"].is_string());
}

// An answer is handed back only under the key it was saved with; a
// damaged record, or one for a key with a file changed in the last 2 s,
// is never used.
TEST_F(HostFactsTest, AnAnswerIsUsedOnlyUnderItsOwnSettledKey) {
  fs::path file = root_ / "tool";
  std::ofstream(file) << "v1";
  HostFactKey fresh;
  fresh.AddFile("tool", file);
  EXPECT_FALSE(fresh.settled());
  SaveHostFact(root_, "tool", fresh, "answer");
  EXPECT_FALSE(LoadHostFact(root_, "tool", fresh).has_value());

  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  HostFactKey key;
  key.AddFile("tool", file);
  key.AddValue("setting", "1");
  ASSERT_TRUE(key.settled());
  SaveHostFact(root_, "tool", key, "answer");
  EXPECT_EQ(LoadHostFact(root_, "tool", key), Json("answer"));
  EXPECT_FALSE(LoadHostFact(root_, "other", key).has_value());

  HostFactKey changed;
  changed.AddFile("tool", file);
  changed.AddValue("setting", "0");
  EXPECT_FALSE(LoadHostFact(root_, "tool", changed).has_value());

  fs::path record = root_ / "cache" / "host-v1" / "tool.json";
  ASSERT_TRUE(fs::exists(record));
  std::ofstream(record) << "{\"key\":";
  EXPECT_FALSE(LoadHostFact(root_, "tool", key).has_value());
}

// The program is the first executable regular file on PATH, as
// posix_spawnp finds it.
TEST_F(HostFactsTest, ResolveOnPathFindsWhatSpawnRuns) {
  fs::create_directories(root_ / "one");
  fs::create_directories(root_ / "two");
  fs::create_directories(root_ / "three" / "tool");  // A folder: skipped.
  std::ofstream(root_ / "one" / "tool") << "#!/bin/sh\n";  // Not +x.
  std::ofstream(root_ / "two" / "tool") << "#!/bin/sh\n";
  fs::permissions(root_ / "two" / "tool", fs::perms::owner_all);
  std::string saved = std::getenv("PATH");
  std::string path = (root_ / "three").string() + ":" +
                     (root_ / "one").string() + ":" +
                     (root_ / "two").string();
  ::setenv("PATH", path.c_str(), 1);
  fs::path found = ResolveOnPath("tool");
  fs::path missing = ResolveOnPath("no-such-tool");
  ::setenv("PATH", saved.c_str(), 1);
  EXPECT_EQ(found, root_ / "two" / "tool");
  EXPECT_TRUE(missing.empty());
  EXPECT_EQ(ResolveOnPath("/bin/sh"), fs::path("/bin/sh"));
}

}  // namespace
}  // namespace lockstep::store
