// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "data/snapshot.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include "core/files.h"
#include "data/file_store.h"
#include "data/stat_cache.h"
#include "data/test_util.h"
#include "data/tree_digest.h"
#include "store/sweep_lock.h"

namespace lockstep::data {
namespace {

using testing::Sha256Sum;
using testing::Shell;
using testing::WriteBytes;

class SnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = *MakeTempDirectory(fs::temp_directory_path(), "snapshot-");
    blobs_ = std::make_unique<store::BlobStore>(root_ / "store");
    metadata_ = std::move(
        *metadata::MetadataStore::Open((root_ / "metadata.db").string()));
    snapshots_ = std::make_unique<DataSnapshots>(
        blobs_.get(), metadata_.get(), root_ / "store" / "cache");
  }
  void TearDown() override { RemoveAllQuietly(root_); }

  SnapshotInfo Snap(const fs::path& source, const std::string& name) {
    SnapshotRequest request;
    request.source = source.string();
    request.name = name;
    auto info = snapshots_->Create(request);
    EXPECT_TRUE(info.ok()) << info.status().ToString();
    return info.ok() ? *info : SnapshotInfo{};
  }

  // Snapshots `bytes` as a .csv file; returns the snapshot.
  SnapshotInfo SnapCsv(const std::string& file, const std::string& bytes) {
    WriteBytes(root_ / file, bytes);
    return Snap(root_ / file, "csv");
  }

  fs::path root_;
  std::unique_ptr<store::BlobStore> blobs_;
  std::unique_ptr<metadata::MetadataStore> metadata_;
  std::unique_ptr<DataSnapshots> snapshots_;
};

TEST_F(SnapshotTest, QuotedNewlineIsOneRecord) {
  SnapshotInfo info = SnapCsv(
      "q.csv", "id,text\n1,\"two\nlines, \"\"quoted\"\"\"\n2,plain\n");
  EXPECT_EQ(info.row_count, 2u);
  EXPECT_EQ(info.columns, (std::vector<std::string>{"id", "text"}));
  EXPECT_EQ(info.digest, Sha256Sum(root_ / "q.csv"));
}

TEST_F(SnapshotTest, BomIsHashedButNotPartOfTheFirstColumn) {
  SnapshotInfo info = SnapCsv("bom.csv", "\xEF\xBB\xBFname,n\nx,1\n");
  EXPECT_EQ(info.columns, (std::vector<std::string>{"name", "n"}));
  EXPECT_EQ(info.column_types,
            (std::vector<std::string>{"text", "integer"}));
  EXPECT_EQ(info.row_count, 1u);
  EXPECT_EQ(info.size, 14u);
  EXPECT_EQ(info.digest, Sha256Sum(root_ / "bom.csv"));
}

TEST_F(SnapshotTest, FinalNewlineAndTrailingBlankLineDoNotCount) {
  EXPECT_EQ(SnapCsv("a.csv", "h\n1\n2").row_count, 2u);
  EXPECT_EQ(SnapCsv("b.csv", "h\n1\n2\n").row_count, 2u);
  EXPECT_EQ(SnapCsv("c.csv", "h\n1\n2\n\n").row_count, 2u);
}

TEST_F(SnapshotTest, CrlfAndLfHaveSameRowsDifferentDigests) {
  SnapshotInfo lf = SnapCsv("lf.csv", "a,b\n1,2\n3,4\n");
  SnapshotInfo crlf = SnapCsv("crlf.csv", "a,b\r\n1,2\r\n3,4\r\n");
  EXPECT_EQ(lf.row_count, 2u);
  EXPECT_EQ(crlf.row_count, 2u);
  EXPECT_NE(lf.digest, crlf.digest);
  EXPECT_EQ(crlf.digest, Sha256Sum(root_ / "crlf.csv"));
}

TEST_F(SnapshotTest, ChangeInTheLastOf10001RowsChangesTheDigest) {
  std::string rows = "id,value\n";
  for (int i = 1; i <= 10001; ++i) {
    rows += std::to_string(i) + "," + std::to_string(i * 7) + "\n";
  }
  SnapshotInfo before = SnapCsv("big.csv", rows);
  rows[rows.size() - 2] = rows[rows.size() - 2] == '0' ? '1' : '0';
  SnapshotInfo after = SnapCsv("big.csv", rows);
  EXPECT_EQ(before.row_count, 10001u);
  EXPECT_EQ(after.row_count, 10001u);
  EXPECT_NE(before.digest, after.digest);
  EXPECT_EQ(after.digest, Sha256Sum(root_ / "big.csv"));
  EXPECT_EQ(after.version, before.version + 1);

  // Found by a tester: with size and rows the same, diff said nothing.
  auto diff = snapshots_->Diff({after.name, before.version},
                               {after.name, after.version});
  ASSERT_TRUE(diff.ok());
  EXPECT_FALSE(diff->same_content);
  EXPECT_EQ(diff->notes, std::vector<std::string>{"content: " +
                                                  before.digest + " -> " +
                                                  after.digest});
}

TEST_F(SnapshotTest, SameSizeRewriteRightAfterHashingIsSeen) {
  fs::path folder = root_ / "data";
  WriteBytes(folder / "f.txt", "aaaa");
  SnapshotInfo first = Snap(folder, "folder");
  WriteBytes(folder / "f.txt", "bbbb");  // Same size, same second.
  SnapshotInfo second = Snap(folder, "folder");
  EXPECT_NE(first.digest, second.digest);

  auto diff = snapshots_->Diff({"folder", 1}, {"folder", 2});
  ASSERT_TRUE(diff.ok());
  EXPECT_EQ(diff->changed, std::vector<std::string>{"f.txt"});
  // Found by a tester: diff named the path but not what changed in it.
  WriteBytes(root_ / "aaaa.ref", "aaaa");
  EXPECT_EQ(diff->changes.at("f.txt"),
            std::vector<std::string>{
                "content " + Sha256Sum(root_ / "aaaa.ref") + " -> " +
                Sha256Sum(folder / "f.txt")});
}

// Found by a tester: a file that became a folder read "type file ->
// folder; size 5 -> 0; content sha256:... -> " with nothing on the right.
TEST_F(SnapshotTest, FileBecomingFolderIsATypeChangeOnly) {
  fs::path folder = root_ / "data";
  WriteBytes(folder / "model", "12345");
  Snap(folder, "folder");
  fs::remove(folder / "model");
  WriteBytes(folder / "model" / "weights", "w");
  Snap(folder, "folder");

  auto diff = snapshots_->Diff({"folder", 1}, {"folder", 2});
  ASSERT_TRUE(diff.ok());
  EXPECT_EQ(diff->changes.at("model"),
            std::vector<std::string>{"type file -> folder"});
}

TEST_F(SnapshotTest, OldFilesComeFromTheStatCache) {
  fs::path folder = root_ / "data";
  WriteBytes(folder / "f.txt", "aaaa");
  // Let the file age past the racy window; the cache then vouches for it.
  ::usleep(2'100'000);
  SnapshotInfo first = Snap(folder, "folder");
  StatCache cache = StatCache::Load(root_ / "store/cache/stat-cache-v1");
  struct stat info;
  ::lstat((folder / "f.txt").c_str(), &info);
  EXPECT_EQ(cache.Lookup((folder / "f.txt").string(), StatKeyOf(info)),
            *Digest::Parse(Sha256Sum(folder / "f.txt")));
  EXPECT_EQ(Snap(folder, "folder").digest, first.digest);
}

// A damaged cache file whose digest for an unchanged file is wrong made
// every later snapshot fail ("changed while being snapshotted"); the
// file's bytes, read again, now stand, and the digest is the right one.
TEST_F(SnapshotTest, AWrongCachedDigestIsReadAgainNotAnError) {
  fs::path folder = root_ / "data";
  WriteBytes(folder / "f.txt", "aaaa");
  WriteBytes(folder / "g.txt", "bbbb");
  ::usleep(2'100'000);
  SnapshotInfo first = Snap(folder, "folder");
  fs::path cache = root_ / "store/cache/stat-cache-v1";
  std::string bytes = *ReadFile(cache);
  bytes.back() = static_cast<char>(bytes.back() ^ 1);  // g.txt's digest.
  ASSERT_TRUE(WriteFileAtomically(cache, bytes).ok());

  SnapshotInfo again = Snap(folder, "folder");
  EXPECT_EQ(again.digest, first.digest);
}

TEST_F(SnapshotTest, AFolderHoldingTheStoreLeavesTheStoreOut) {
  fs::path project = root_ / "project";
  WriteBytes(project / "x.txt", "x");
  store::BlobStore inner(project / ".lockstep");
  DataSnapshots snapshots(&inner, metadata_.get(), project / ".lockstep");
  SnapshotRequest request;
  request.source = project.string();
  request.name = "project";
  for (int i = 0; i < 2; ++i) {
    auto info = snapshots.Create(request);
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    EXPECT_EQ(info->file_count, 1u);
  }
  auto diff = snapshots.Diff({"project", 1}, {"project", 2});
  ASSERT_TRUE(diff.ok());
  EXPECT_TRUE(diff->same_content);
}

TEST_F(SnapshotTest, VersionsAreImmutableAndNamed) {
  WriteBytes(root_ / "x.bin", "x");
  SnapshotRequest request;
  request.source = (root_ / "x.bin").string();
  request.name = "x";
  request.version = 7;
  request.labels = {{"team", "ml"}};
  request.expires_after_ms = 1000;
  ASSERT_TRUE(snapshots_->Create(request).ok());
  EXPECT_EQ(snapshots_->Create(request).status().code(),
            StatusCode::kAlreadyExists);
  request.version = 0;
  EXPECT_EQ(snapshots_->Create(request)->version, 8);

  auto shown = snapshots_->Get({"x", 7});
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ(shown->labels.at("team"), "ml");
  EXPECT_EQ(shown->expires_ms, shown->created_ms + 1000);
  EXPECT_TRUE(shown->Expired(shown->created_ms + 1000));
  EXPECT_TRUE(snapshots_->Get({"x", 9}).status().IsNotFound());
  EXPECT_TRUE(snapshots_->Get({"nope", 0}).status().IsNotFound());
  EXPECT_TRUE(ParseSnapshotRef("x@0").status().IsInvalidArgument());
  EXPECT_TRUE(ParseSnapshotRef("x@").status().IsInvalidArgument());
  EXPECT_EQ(ParseSnapshotRef("a/b@12")->version, 12);
  // As a pipeline's inputs spell the latest version.
  ASSERT_TRUE(ParseSnapshotRef("a/b@latest").ok());
  EXPECT_EQ(ParseSnapshotRef("a/b@latest")->name, "a/b");
  EXPECT_EQ(ParseSnapshotRef("a/b@latest")->version, 0);
  EXPECT_TRUE(ParseSnapshotRef("a@Latest").status().IsInvalidArgument());
}

TEST_F(SnapshotTest, LineageLinksTheSourceToTheDataset) {
  WriteBytes(root_ / "x.bin", "x");
  SnapshotInfo info = Snap(root_ / "x.bin", "x");
  auto events = metadata_->EventsOfArtifact(info.artifact_id);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  auto inputs = metadata_->EventsOfExecution((*events)[0].execution_id);
  ASSERT_EQ(inputs->size(), 2u);
  for (const metadata::Event& event : *inputs) {
    auto artifact = metadata_->GetArtifact(event.artifact_id);
    EXPECT_EQ(artifact->digest, info.digest);
    EXPECT_EQ(artifact->type, event.type == metadata::EventType::kInput
                                  ? "Artifact"
                                  : "Dataset");
  }
}

TEST_F(SnapshotTest, VerifyNamesTheCorruptFileAndExportRefuses) {
  fs::path folder = root_ / "data";
  WriteBytes(folder / "ok.txt", "fine");
  WriteBytes(folder / "sub/bad.txt", "will rot");
  ASSERT_EQ(::symlink("gone", (folder / "dangling").c_str()), 0);
  SnapshotInfo info = Snap(folder, "folder");
  EXPECT_EQ(info.file_count, 2u);
  EXPECT_TRUE(snapshots_->Verify({"folder", 1})->problems.empty());

  ASSERT_TRUE(snapshots_->Export({"folder", 1}, root_ / "out").ok());
  EXPECT_EQ(Shell("cat '" + (root_ / "out/sub/bad.txt").string() + "'"),
            "will rot");
  EXPECT_EQ(fs::read_symlink(root_ / "out/dangling"), "gone");

  Digest bad = *Digest::Parse(Sha256Sum(folder / "sub/bad.txt"));
  ::chmod(blobs_->PathOf(bad).c_str(), 0644);
  WriteBytes(blobs_->PathOf(bad), "has rot!");
  auto report = snapshots_->Verify({"folder", 1});
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->problems.size(), 1u);
  EXPECT_NE(report->problems[0].find("sub/bad.txt"), std::string::npos);

  EXPECT_TRUE(snapshots_->Export({"folder", 1}, root_ / "out2")
                  .IsDataLoss());
  EXPECT_FALSE(fs::exists(root_ / "out2"));
  EXPECT_EQ(snapshots_->Export({"folder", 1}, root_ / "out").code(),
            StatusCode::kAlreadyExists);
}

// Found by a tester: verify of a snapshot whose blobs gc had freed
// reported them as it reports a changed byte, so the CLI exited 1 (as
// for corruption) rather than 2 (missing). They are now kept apart.
TEST_F(SnapshotTest, VerifyTellsMissingBytesFromChangedOnes) {
  fs::path folder = root_ / "data";
  // Over kPackedFileLimit, so loose and removable one by one.
  WriteBytes(folder / "gone.txt", std::string(kPackedFileLimit + 1, 'g'));
  WriteBytes(folder / "rot.txt", "will rot");
  SnapshotInfo info = Snap(folder, "folder");
  Digest gone = *Digest::Parse(Sha256Sum(folder / "gone.txt"));
  ASSERT_TRUE(blobs_->Remove(gone).ok());
  ASSERT_FALSE(blobs_->Contains(gone));
  auto report = snapshots_->Verify({"folder", 1});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->problems, std::vector<std::string>{});
  ASSERT_EQ(report->missing.size(), 1u);
  EXPECT_NE(report->missing[0].find("gone.txt"), std::string::npos);

  Digest rot = *Digest::Parse(Sha256Sum(folder / "rot.txt"));
  ::chmod(blobs_->PathOf(rot).c_str(), 0644);
  WriteBytes(blobs_->PathOf(rot), "has rot!");
  report = snapshots_->Verify({"folder", 1});
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->problems.size(), 1u);
  EXPECT_NE(report->problems[0].find("rot.txt"), std::string::npos);
  EXPECT_EQ(report->missing.size(), 1u);

  // The folder's tree gone: nothing below it can be checked.
  ASSERT_TRUE(blobs_->Remove(*Digest::Parse(info.digest)).ok());
  report = snapshots_->Verify({"folder", 1});
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->problems, std::vector<std::string>{});
  ASSERT_EQ(report->missing.size(), 1u);
  EXPECT_NE(report->missing[0].find(info.digest), std::string::npos);

  // A file snapshot's one blob.
  WriteBytes(root_ / "one.txt", "single");
  SnapshotInfo one = Snap(root_ / "one.txt", "one");
  ASSERT_TRUE(blobs_->Remove(*Digest::Parse(one.digest)).ok());
  report = snapshots_->Verify({"one", 1});
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->problems, std::vector<std::string>{});
  ASSERT_EQ(report->missing.size(), 1u);
  EXPECT_NE(report->missing[0].find(one.digest), std::string::npos);
}

// Found by a tester: a link to a folder or a file was refused ("not a
// file, folder or table URL") while the same path with a trailing /
// worked. A link snapshots what it points to.
TEST_F(SnapshotTest, LinkToAFolderOrFileIsSnapshotted) {
  fs::path folder = root_ / "data";
  WriteBytes(folder / "a.txt", "alpha");
  fs::create_directory_symlink(folder, root_ / "folder-link");
  fs::create_symlink(folder / "a.txt", root_ / "file-link");
  SnapshotInfo direct = Snap(folder, "direct");
  SnapshotInfo linked = Snap(root_ / "folder-link", "linked");
  EXPECT_EQ(linked.kind, SourceKind::kFolder);
  EXPECT_EQ(linked.digest, direct.digest);
  SnapshotInfo file = Snap(root_ / "file-link", "file");
  EXPECT_EQ(file.kind, SourceKind::kFile);
  EXPECT_EQ(file.digest, Sha256Sum(folder / "a.txt"));
}

// The seconds since `path` was last modified.
int64_t AgeSeconds(const fs::path& path) {
  struct stat info;
  EXPECT_EQ(::stat(path.c_str(), &info), 0) << path;
  return static_cast<int64_t>(::time(nullptr)) - info.st_mtime;
}

// Found by a tester: a snapshot of an unchanged folder reused its tree
// and file blobs without touching them, so a gc running meanwhile (its
// grace judged by mtime) swept them and the new snapshot failed verify.
TEST_F(SnapshotTest, UnchangedFolderRefreshesTheBlobsItReuses) {
  fs::path folder = root_ / "data";
  WriteBytes(folder / "a.txt", "alpha");
  WriteBytes(folder / "sub/b.txt", "beta");
  SnapshotInfo old = Snap(folder, "old");
  // The tree is a loose file; the two small files share one pack.
  std::set<fs::path> blobs;
  for (const std::string& digest :
       {old.digest, Sha256Sum(folder / "a.txt"),
        Sha256Sum(folder / "sub/b.txt")}) {
    auto where = blobs_->Locate(*Digest::Parse(digest));
    ASSERT_TRUE(where.ok()) << digest;
    blobs.insert(where->file);
  }
  ASSERT_EQ(blobs.size(), 2u);
  struct timespec three_hours_ago[2] = {{::time(nullptr) - 3 * 3600, 0},
                                        {::time(nullptr) - 3 * 3600, 0}};
  for (const fs::path& blob : blobs) {
    ASSERT_EQ(::utimensat(AT_FDCWD, blob.c_str(), three_hours_ago, 0), 0);
    ASSERT_GE(AgeSeconds(blob), 3 * 3600 - 5);
  }
  SnapshotInfo fresh = Snap(folder, "new");
  EXPECT_EQ(fresh.digest, old.digest);
  for (const fs::path& blob : blobs) {
    EXPECT_LT(AgeSeconds(blob), 60) << blob;
  }
}

// A file blob swept after the tree was first stored (gc removes in digest
// order, not trees first) is stored again, not trusted to the tree.
TEST_F(SnapshotTest, ReusedFileBlobSweptMeanwhileIsStoredAgain) {
  fs::path folder = root_ / "data";
  WriteBytes(folder / "a.txt", "alpha");
  WriteBytes(folder / "b.txt", "beta");
  // Old enough (past the racy window) for the stat cache to vouch for
  // them the second time, so that only the tree could vouch for them.
  ::usleep(2'200'000);
  Snap(folder, "old");
  Digest swept = *Digest::Parse(Sha256Sum(folder / "b.txt"));
  ASSERT_TRUE(blobs_->Remove(swept).ok());
  Snap(folder, "new");
  EXPECT_TRUE(blobs_->Contains(swept));
  auto report = snapshots_->Verify({"new", 1});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->problems, std::vector<std::string>{});
}

// An unchanged folder whose tree was recorded under the sweep lock's
// current stamp refreshes the tree alone: no gc came in between, so the
// files an earlier snapshot refreshed are still present (and young to
// any gc that fixed its cutoff before). A new stamp (gc fixing its
// cutoff) ends that, and every reused blob is refreshed again.
TEST_F(SnapshotTest, OnlyANewSweepStampMakesAnUnchangedFolderRefreshAll) {
  fs::path folder = root_ / "data";
  WriteBytes(folder / "a.txt", "alpha");
  WriteBytes(folder / "sub/b.txt", "beta");
  ::usleep(2'200'000);  // Past the racy window: the cache vouches next.
  SnapshotInfo first = Snap(folder, "s");
  fs::path tree = blobs_->Locate(*Digest::Parse(first.digest))->file;
  fs::path pack =
      blobs_->Locate(*Digest::Parse(Sha256Sum(folder / "a.txt")))->file;
  ASSERT_NE(pack, tree);
  struct timespec three_hours_ago[2] = {{::time(nullptr) - 3 * 3600, 0},
                                        {::time(nullptr) - 3 * 3600, 0}};
  auto age = [&] {
    for (const fs::path& blob : {tree, pack}) {
      ASSERT_EQ(::utimensat(AT_FDCWD, blob.c_str(), three_hours_ago, 0), 0);
    }
  };
  age();
  EXPECT_EQ(Snap(folder, "s").digest, first.digest);
  EXPECT_LT(AgeSeconds(tree), 60);
  EXPECT_GE(AgeSeconds(pack), 3 * 3600 - 60);

  age();
  ASSERT_TRUE(store::SweepLock::Acquire(blobs_->root(),
                                        store::SweepLock::Mode::kExclusive)
                  .ok());
  EXPECT_EQ(Snap(folder, "s").digest, first.digest);
  EXPECT_LT(AgeSeconds(tree), 60);
  EXPECT_LT(AgeSeconds(pack), 60);
}

// A folder the stat cache knows nothing of is walked without lstat of
// its files (fstat once open). Its digest must be the one the lstat
// walk and sha256sum give: executable bit, sizes (one file too big to
// pack, one empty), a link recorded as a link.
TEST_F(SnapshotTest, ColdFolderReadWithoutLstatHasTheLstatWalksDigest) {
  fs::path folder = root_ / "data";
  WriteBytes(folder / "run.sh", "#!/bin/sh\n");
  ASSERT_EQ(::chmod((folder / "run.sh").c_str(), 0755), 0);
  WriteBytes(folder / "big.bin", std::string(5 << 20, 'x'));
  WriteBytes(folder / "empty", "");
  WriteBytes(folder / "sub/a.txt", "alpha");
  fs::create_symlink("run.sh", folder / "link");
  SnapshotInfo cold = Snap(folder, "cold");

  auto walked = WalkFolder(folder);
  ASSERT_TRUE(walked.ok());
  std::vector<TreeEntry> entries;
  uint64_t size = 0;
  for (WalkedEntry& item : *walked) {
    if (item.entry.type == EntryType::kFile) {
      item.entry.digest = *Digest::Parse(Sha256Sum(folder / item.entry.path));
      size += item.entry.size;
    }
    entries.push_back(item.entry);
  }
  EXPECT_EQ(cold.digest, TreeDigest(entries).ToString());
  EXPECT_EQ(cold.size, size);
  EXPECT_EQ(cold.size, (5u << 20) + 15);
  EXPECT_EQ(cold.file_count, 4u);
}

TEST_F(SnapshotTest, SqliteTableMatchesAHandExportInKeyOrder) {
  fs::path db = root_ / "t.db";
  WriteBytes(root_ / "t.sql",
             "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score REAL);\n"
             "INSERT INTO t VALUES (3, 'c, with comma', 1.5),\n"
             "  (1, 'say \"hi\" twice', 3.0),\n"
             "  (2, 'two' || char(10) || 'lines', NULL);\n");
  Shell("sqlite3 '" + db.string() + "' < '" + (root_ / "t.sql").string() + "'");
  // The hand export: Python's csv module (minimal quoting, LF), rows in
  // primary-key order, NULL written as an empty field.
  Shell("python3 -c \"import csv, sqlite3, sys\n"
        "rows = sqlite3.connect(sys.argv[1]).execute("
        "'SELECT * FROM t ORDER BY id')\n"
        "out = csv.writer(open(sys.argv[2], 'w', newline=''), "
        "lineterminator='\\n')\n"
        "out.writerow([d[0] for d in rows.description])\n"
        "out.writerows(rows)\" '" +
        db.string() + "' '" + (root_ / "hand.csv").string() + "'");
  SnapshotInfo info = Snap("sqlite://" + db.string() + "?table=t", "table");
  EXPECT_EQ(info.kind, SourceKind::kTable);
  EXPECT_EQ(info.row_count, 3u);
  EXPECT_EQ(info.digest, Sha256Sum(root_ / "hand.csv"));
  EXPECT_EQ(info.columns, (std::vector<std::string>{"id", "name", "score"}));
  EXPECT_EQ(info.column_types,
            (std::vector<std::string>{"INTEGER", "TEXT", "REAL"}));

  SnapshotRequest missing;
  missing.source = "sqlite://" + db.string() + "?table=nope";
  missing.name = "table";
  EXPECT_TRUE(snapshots_->Create(missing).status().IsNotFound());
}

TEST_F(SnapshotTest, SqliteNullIsEmptyAndEmptyStringIsQuoted) {
  fs::path db = root_ / "n.db";
  Shell("sqlite3 '" + db.string() +
        "' \"CREATE TABLE n (a TEXT, b TEXT); INSERT INTO n VALUES "
        "(NULL, ''), ('z', x'00ff');\"");
  std::string expected = "a,b\n,\"\"\nz,\\x00ff\n";
  WriteBytes(root_ / "expected.csv", expected);
  SnapshotInfo info = Snap("sqlite://" + db.string() + "?table=n", "n");
  EXPECT_EQ(info.digest, Sha256Sum(root_ / "expected.csv"));
  ASSERT_TRUE(snapshots_->Export({"n", 1}, root_ / "n.csv").ok());
  EXPECT_EQ(Shell("cat '" + (root_ / "n.csv").string() + "'"),
            "a,b\n,\"\"\nz,\\x00ff");
}

}  // namespace
}  // namespace lockstep::data
