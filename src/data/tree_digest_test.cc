// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "data/tree_digest.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/files.h"
#include "core/utf8.h"
#include "data/test_util.h"

namespace lockstep::data {
namespace {

using testing::Sha256Sum;
using testing::WriteBytes;

class TreeDigestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = *MakeTempDirectory(fs::temp_directory_path(), "tree-");
  }
  void TearDown() override { RemoveAllQuietly(root_); }

  // The relative paths a walk of root_ lists, in its order.
  std::vector<std::string> WalkedPaths() {
    auto walked = WalkFolder(root_);
    EXPECT_TRUE(walked.ok()) << walked.status().ToString();
    std::vector<std::string> paths;
    if (!walked.ok()) return paths;
    for (const WalkedEntry& item : *walked) paths.push_back(item.entry.path);
    return paths;
  }

  Digest DigestOf(const fs::path& folder) {
    auto walked = WalkFolder(folder);
    EXPECT_TRUE(walked.ok()) << walked.status().ToString();
    std::vector<TreeEntry> entries;
    for (WalkedEntry& item : *walked) {
      if (item.entry.type == EntryType::kFile) {
        item.entry.digest = *Digest::Parse(Sha256Sum(folder / item.entry.path));
      }
      entries.push_back(item.entry);
    }
    return TreeDigest(entries);
  }

  fs::path root_;
};

// The layout written out by hand from docs/data.md; its digest comes from
// sha256sum over those bytes.
TEST_F(TreeDigestTest, EncodingMatchesTheDocumentedLayout) {
  std::vector<TreeEntry> entries(3);
  entries[0] = {"a", EntryType::kDirectory, false, 0, {}, ""};
  // `printf 'hi\n' | sha256sum` gives 98ea6e4f...b1107be4.
  entries[1] = {"a/x", EntryType::kFile, true, 3,
                Digest::FromHex("98ea6e4f216f2fb4b69fff9b3a44842c38686ca685f3"
                                "f55dc48c5d3fb1107be4"),
                ""};
  entries[2] = {"l", EntryType::kSymlink, false, 7, {}, "nowhere"};
  std::string expected = "lockstep-tree-v1\n";
  expected += std::string("D\0\0\0\0\1a", 7) + std::string(8, '\0');
  expected += std::string("F\1\0\0\0\3a/x", 9) + std::string(7, '\0') + "\3";
  expected +=
      "\x98\xea\x6e\x4f\x21\x6f\x2f\xb4\xb6\x9f\xff\x9b\x3a\x44\x84\x2c"
      "\x38\x68\x6c\xa6\x85\xf3\xf5\x5d\xc4\x8c\x5d\x3f\xb1\x10\x7b\xe4";
  expected += std::string("L\0\0\0\0\1l", 7) + std::string(7, '\0') + "\7" +
              "nowhere";
  EXPECT_EQ(EncodeTree(entries), expected);

  WriteBytes(root_ / "layout.bin", expected);
  EXPECT_EQ(TreeDigest(entries).ToString(), Sha256Sum(root_ / "layout.bin"));

  auto decoded = DecodeTree(expected);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(EncodeTree(*decoded), expected);
}

TEST_F(TreeDigestTest, CreationOrderDoesNotChangeTheDigest) {
  fs::path first = root_ / "first", second = root_ / "second";
  WriteBytes(first / "b/2.txt", "two");
  WriteBytes(first / "a.txt", "one");
  WriteBytes(first / "b/1.txt", "uno");
  WriteBytes(second / "b/1.txt", "uno");
  WriteBytes(second / "a.txt", "one");
  WriteBytes(second / "b/2.txt", "two");
  EXPECT_EQ(DigestOf(first), DigestOf(second));

  WriteBytes(second / "b/2.txt", "twO");
  EXPECT_NE(DigestOf(first), DigestOf(second));
}

TEST_F(TreeDigestTest, CrlfAndLfFilesDiffer) {
  fs::path lf = root_ / "lf", crlf = root_ / "crlf";
  WriteBytes(lf / "x.csv", "a,b\n1,2\n");
  WriteBytes(crlf / "x.csv", "a,b\r\n1,2\r\n");
  EXPECT_NE(DigestOf(lf), DigestOf(crlf));
}

TEST_F(TreeDigestTest, DanglingSymlinkIsRecordedNotFollowed) {
  ASSERT_EQ(::symlink("../does/not/exist", (root_ / "link").c_str()), 0);
  auto walked = WalkFolder(root_);
  ASSERT_TRUE(walked.ok()) << walked.status().ToString();
  ASSERT_EQ(walked->size(), 1u);
  EXPECT_EQ((*walked)[0].entry.type, EntryType::kSymlink);
  EXPECT_EQ((*walked)[0].entry.target, "../does/not/exist");
  EXPECT_EQ((*walked)[0].entry.size, 17u);
}

TEST_F(TreeDigestTest, ExecutableBitAndNonUtf8NamesCount) {
  WriteBytes(root_ / "tool", "#!/bin/sh\n");
  Digest plain = DigestOf(root_);
  fs::permissions(root_ / "tool", fs::perms::owner_exec,
                  fs::perm_options::add);
  EXPECT_NE(DigestOf(root_), plain);

  WriteBytes(root_ / "caf\xe9", "latin-1 name");
  auto walked = WalkFolder(root_);
  ASSERT_TRUE(walked.ok());
  EXPECT_EQ((*walked)[0].entry.path, "caf\xe9");
  EXPECT_EQ(DisplayPath("caf\xe9"), "caf\\xe9");
}

// The walk splits the top-level folders across cores; what it lists must
// still be exactly what find(1) lists, in byte order.
TEST_F(TreeDigestTest, ParallelWalkListsWhatFindLists) {
  for (int top = 0; top < 7; ++top) {
    for (int sub = 0; sub < 3; ++sub) {
      fs::path folder = root_ / ("t" + std::to_string(top)) /
                        ("s" + std::to_string(sub)) / "deep";
      WriteBytes(folder / "x.bin", std::to_string(top * 10 + sub));
      WriteBytes(folder.parent_path() / "y.bin", "y");
    }
  }
  WriteBytes(root_ / "top.txt", "top");
  fs::create_directories(root_ / "empty");
  ASSERT_EQ(::symlink("t0", (root_ / "link").c_str()), 0);

  auto walked = WalkFolder(root_);
  ASSERT_TRUE(walked.ok()) << walked.status().ToString();
  std::string listed;
  for (const WalkedEntry& item : *walked) listed += item.entry.path + "\n";
  listed.pop_back();
  EXPECT_EQ(listed, testing::Shell("cd '" + root_.string() +
                                   "' && find . -mindepth 1 | cut -c3- | "
                                   "LC_ALL=C sort"));
  EXPECT_EQ(walked->size(), 7u * (1 + 3 * 3 + 3) + 3);
}

// Each top-level folder's contents are sorted apart and merged in: "a/x"
// sorts after "a-b" and "a.c" ('-' and '.' are below '/') but before
// "a0", although the folder "a" itself sorts before all three.
TEST_F(TreeDigestTest, ParallelWalkMergesFolderContentsInByteOrder) {
  WriteBytes(root_ / "a/x", "x");
  WriteBytes(root_ / "a/y/z", "z");
  WriteBytes(root_ / "a-b", "f");
  WriteBytes(root_ / "a.c/in", "g");
  WriteBytes(root_ / "a0", "h");
  WriteBytes(root_ / "\xff/q", "i");
  auto walked = WalkFolder(root_);
  ASSERT_TRUE(walked.ok()) << walked.status().ToString();
  std::vector<std::string> paths;
  for (const WalkedEntry& item : *walked) paths.push_back(item.entry.path);
  EXPECT_EQ(paths, (std::vector<std::string>{
                       "a", "a-b", "a.c", "a.c/in", "a/x", "a/y", "a/y/z",
                       "a0", "\xff", "\xff/q"}));
}

// A tree with one folder at its top is listed levels deeper so the walk
// spreads over the cores; the order must stay the bytes' order at every
// level, a link to a folder at any depth stays a link, and ignore rules
// still apply. The expected list is computed apart, by the standard
// library's recursive walk (which follows no link) and a byte sort.
TEST_F(TreeDigestTest, ANarrowDeepTreeWalksInByteOrder) {
  fs::path top = root_ / "only";
  WriteBytes(root_ / ".lockstepignore", "*.tmp\n");
  for (const char* path :
       {"a/x", "a/y/z", "a-b", "a.c/in", "a0", "\xff/q", "a/y-1/w",
        "a/y/z2/deep/er", "b/c/d/e/f/g", "b/c/d-e", "junk.tmp", "a/k.tmp"}) {
    WriteBytes(top / path, "x");
  }
  fs::create_directory_symlink("../a", top / "b" / "c" / "up");
  fs::create_directories(top / "empty" / "still");

  auto walked = WalkFolder(root_);
  ASSERT_TRUE(walked.ok()) << walked.status().ToString();
  std::vector<std::string> paths;
  for (const WalkedEntry& item : *walked) paths.push_back(item.entry.path);
  std::vector<std::string> expected;
  for (auto it = fs::recursive_directory_iterator(root_);
       it != fs::recursive_directory_iterator(); ++it) {
    std::string path = fs::relative(it->path(), root_).string();
    if (path.ends_with(".tmp")) continue;
    expected.push_back(path);
  }
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(paths, expected);
  auto link = std::find(paths.begin(), paths.end(), "only/b/c/up");
  ASSERT_NE(link, paths.end());
  EXPECT_EQ((*walked)[link - paths.begin()].entry.type, EntryType::kSymlink);
}

// A tester found a .lockstepignore that is a FIFO hanging every snapshot,
// one linked to /dev/zero read until memory ran out, and one linked
// outside the folder followed. It must be a regular file in the folder.
TEST_F(TreeDigestTest, ALockstepIgnoreThatIsNotAFileIsRefused) {
  WriteBytes(root_ / "f", "x");
  ASSERT_EQ(::mkfifo((root_ / ".lockstepignore").c_str(), 0644), 0);
  auto fifo = WalkFolder(root_);
  ASSERT_FALSE(fifo.ok());
  EXPECT_TRUE(fifo.status().IsInvalidArgument());
  EXPECT_NE(fifo.status().message().find(".lockstepignore: not a regular "
                                         "file"),
            std::string::npos);

  fs::remove(root_ / ".lockstepignore");
  fs::create_symlink("/dev/zero", root_ / ".lockstepignore");
  auto link = WalkFolder(root_);
  ASSERT_FALSE(link.ok());
  EXPECT_NE(link.status().message().find(".lockstepignore: a link"),
            std::string::npos);
}

TEST_F(TreeDigestTest, LockstepIgnoreLeavesEntriesOut) {
  WriteBytes(root_ / ".lockstepignore",
             "# comment\n*.tmp\ncache/\n/top-only.txt\n");
  WriteBytes(root_ / "keep.csv", "k");
  WriteBytes(root_ / "scratch.tmp", "t");
  WriteBytes(root_ / "sub/deep.tmp", "t");
  WriteBytes(root_ / "cache/blob", "c");
  WriteBytes(root_ / "top-only.txt", "t");
  WriteBytes(root_ / "sub/top-only.txt", "kept");
  EXPECT_EQ(WalkedPaths(),
            (std::vector<std::string>{".lockstepignore", "keep.csv", "sub",
                                      "sub/top-only.txt"}));
}

// Found by a tester: `*` (or `.*`) left the rules file itself out,
// though docs/data.md says it is kept.
TEST_F(TreeDigestTest, LockstepIgnoreKeepsItselfWhateverItSays) {
  WriteBytes(root_ / ".lockstepignore", "*\n");
  WriteBytes(root_ / "a.csv", "a");
  WriteBytes(root_ / "sub/.lockstepignore", "a nested one is data");
  EXPECT_EQ(WalkedPaths(), std::vector<std::string>{".lockstepignore"});
}

// .gitignore's "!" (DVC's .dvcignore has it too): the last pattern that
// matches decides. A folder left out is not descended, so nothing under
// it can be put back; "\!" starts a name with "!".
TEST_F(TreeDigestTest, LockstepIgnoreNegationPutsBack) {
  WriteBytes(root_ / ".lockstepignore",
             "*.tmp\n!keep.tmp\nlogs/\n!logs/a.log\n\\!bang\n");
  for (const char* path :
       {"x.tmp", "keep.tmp", "sub/keep.tmp", "sub/y.tmp", "logs/a.log",
        "!bang", "bang"}) {
    WriteBytes(root_ / path, "x");
  }
  EXPECT_EQ(WalkedPaths(),
            (std::vector<std::string>{".lockstepignore", "bang", "keep.tmp",
                                      "sub", "sub/keep.tmp"}));
}

// Found by a tester: "trail\ " lost its quoted space, so a file whose
// name ends in a space could not be left out by name (gitignore(5)).
TEST_F(TreeDigestTest, LockstepIgnoreKeepsAQuotedTrailingSpace) {
  WriteBytes(root_ / ".lockstepignore", "trail\\ \nplain  \n");
  for (const char* path : {"trail ", "trail", "plain", "plain "}) {
    WriteBytes(root_ / path, "x");
  }
  EXPECT_EQ(WalkedPaths(),
            (std::vector<std::string>{".lockstepignore", "plain ", "trail"}));
}

TEST_F(TreeDigestTest, DecodeRejectsUnsafeOrUnsortedTrees) {
  std::string escape = "lockstep-tree-v1\n" +
                       std::string("L\0\0\0\0\2..", 8) + std::string(7, '\0') +
                       "\1x";
  EXPECT_TRUE(DecodeTree(escape).status().IsInvalidArgument());

  std::vector<TreeEntry> unsorted(2);
  unsorted[0] = {"b", EntryType::kSymlink, false, 1, {}, "x"};
  unsorted[1] = {"a", EntryType::kSymlink, false, 1, {}, "x"};
  EXPECT_TRUE(DecodeTree(EncodeTree(unsorted)).status().IsInvalidArgument());

  std::vector<TreeEntry> orphan(1);
  orphan[0] = {"dir/x", EntryType::kSymlink, false, 1, {}, "x"};
  EXPECT_TRUE(DecodeTree(EncodeTree(orphan)).status().IsInvalidArgument());
  EXPECT_TRUE(DecodeTree("lockstep-tree-v1\nF").status().IsInvalidArgument());
  std::string bad_flags = "lockstep-tree-v1\n" +
                          std::string("L\2\0\0\0\1l", 7) +
                          std::string(7, '\0') + "\1x";
  EXPECT_TRUE(DecodeTree(bad_flags).status().IsInvalidArgument());
}

}  // namespace
}  // namespace lockstep::data
