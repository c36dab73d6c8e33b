// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "data/snapshot_record.h"

#include <gtest/gtest.h>

#include "core/files.h"
#include "data/tree_digest.h"

namespace lockstep::data {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

class SnapshotRecordTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = *MakeTempDirectory(fs::temp_directory_path(), "record-");
    blobs_ = std::make_unique<store::BlobStore>(root_ / "store");
  }
  void TearDown() override { RemoveAllQuietly(root_); }

  Status Check(const Digest& digest, const Json& properties) {
    return CheckSnapshotProperties(*blobs_, digest, properties, "docs@1");
  }

  fs::path root_;
  std::unique_ptr<store::BlobStore> blobs_;
};

// Found by a tester: a pushed record claiming 999999 bytes and 5000 rows
// for 12 bytes holding 2 rows was registered, and runs repeated it.
TEST_F(SnapshotRecordTest, SizeAndRowsMustBeTheBytes) {
  const std::string csv = "a,b\n1,2\n3,4\n";  // 12 bytes, 2 records.
  Digest digest = *blobs_->PutBytes(csv);

  EXPECT_TRUE(Check(digest, {{"kind", "file"}, {"size", 12},
                             {"row_count", 2}}).ok());
  EXPECT_TRUE(Check(digest, {{"size", 12}, {"row_count", nullptr}}).ok());
  Status size = Check(digest, {{"kind", "file"}, {"size", 999999}});
  EXPECT_EQ(size.message(), "docs@1: properties.size: the record says "
                            "999999, the bytes hold 12");
  Status rows = Check(digest, {{"kind", "table"}, {"size", 12},
                               {"row_count", 5000}});
  EXPECT_EQ(rows.message(), "docs@1: properties.row_count: the record says "
                            "5000, the bytes hold 2");
}

// Found by a tester: columns that were not the header's, and a folder
// claiming rows, were registered.
TEST_F(SnapshotRecordTest, ColumnsAreTheHeadersAndFoldersHaveNoRows) {
  Digest csv = *blobs_->PutBytes("a,b\n1,2\n");
  EXPECT_TRUE(Check(csv, {{"size", 8}, {"row_count", 1},
                          {"columns", {"a", "b"}},
                          {"column_types", {"integer", "integer"}}})
                  .ok());
  EXPECT_EQ(Check(csv, {{"size", 8}, {"row_count", 1},
                        {"columns", {"a", "b", "c"}}})
                .message(),
            "docs@1: properties.columns: the record says [\"a\",\"b\","
            "\"c\"], the header holds [\"a\",\"b\"]");
  EXPECT_EQ(Check(csv, {{"size", 8}, {"row_count", 1},
                        {"column_types", {"integer"}}})
                .code(),
            StatusCode::kInvalidArgument);
  // A CSV that breaks RFC 4180 is snapshotted as it is, and so checked.
  Digest open_quote = *blobs_->PutBytes("a\n\"x\n");
  EXPECT_TRUE(Check(open_quote, {{"size", 5}, {"row_count", 1}}).ok());

  std::vector<TreeEntry> entries = {
      {"f", EntryType::kFile, false, 1, *blobs_->PutBytes("f"), ""}};
  Digest tree = *blobs_->PutBytes(EncodeTree(entries));
  EXPECT_EQ(Check(tree, {{"kind", "folder"}, {"size", 1},
                         {"file_count", 1}, {"row_count", 5}})
                .message(),
            "docs@1: properties.row_count: a folder has none; it must be "
            "null");
  EXPECT_TRUE(Check(tree, {{"kind", "folder"}, {"size", 1},
                           {"file_count", 1}, {"row_count", nullptr},
                           {"columns", Json::array()}})
                  .ok());
}

TEST_F(SnapshotRecordTest, FieldsMustHaveTheirTypes) {
  Digest digest = *blobs_->PutBytes("x");
  for (const Json& bad :
       {Json{{"size", "1"}}, Json{{"size", -1}}, Json{{"size", 1.5}},
        Json{{"size", 1}, {"kind", "dir"}},
        Json{{"size", 1}, {"row_count", "2"}},
        Json{{"size", 1}, {"columns", {"a", 1}}},
        Json{{"size", 1}, {"labels", {{"team", 3}}}},
        Json{{"size", 1}, {"created_ms", "today"}},
        Json{{"size", 1}, {"created_ms", -584}}, Json::array()}) {
    Status status = Check(digest, bad);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << bad.dump();
    EXPECT_EQ(status.message().rfind("docs@1: properties", 0), 0u)
        << status.message();
  }
}

TEST_F(SnapshotRecordTest, AFolderCountsItsFilesFromTheTree) {
  std::vector<TreeEntry> entries = {
      {"a.txt", EntryType::kFile, false, 5, *blobs_->PutBytes("hello"), ""},
      {"b", EntryType::kSymlink, false, 5, Digest(), "a.txt"},
      {"c.txt", EntryType::kFile, false, 2, *blobs_->PutBytes("hi"), ""}};
  SortTree(&entries);
  Digest tree = *blobs_->PutBytes(EncodeTree(entries));

  EXPECT_TRUE(Check(tree, {{"kind", "folder"}, {"size", 7},
                           {"file_count", 2}, {"tree", tree.ToString()}})
                  .ok());
  EXPECT_EQ(Check(tree, {{"kind", "folder"}, {"size", 7}, {"file_count", 3}})
                .message(),
            "docs@1: properties.file_count: the record says 3, the bytes "
            "hold 2");
  Digest not_a_tree = *blobs_->PutBytes("plain");
  Status plain = Check(not_a_tree,
                       {{"kind", "folder"}, {"size", 5}, {"file_count", 1}});
  EXPECT_NE(plain.message().find("is not a folder tree"), std::string::npos)
      << plain.message();
}

}  // namespace
}  // namespace lockstep::data
