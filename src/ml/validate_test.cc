// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "ml/validate.h"

#include <gtest/gtest.h>

#include "core/files.h"

namespace lockstep::ml {
namespace {

class ValidateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = *MakeTempDirectory(fs::temp_directory_path(), "validate-");
    // Two records; the second holds a quoted newline.
    ASSERT_TRUE(WriteFileAtomically(dir_ / "d.csv",
                                    "a,b\n1,\"x\ny\"\n2,z\n").ok());
  }
  void TearDown() override { RemoveAllQuietly(dir_); }
  fs::path dir_;
};

// sha256 of the bytes above, computed with `printf 'a,b\n1,"x\ny"\n2,z\n' |
// sha256sum`.
constexpr const char* kDigest =
    "sha256:b3d5dd9ecf596249d91752db1c4aa151b125ed24993aff0ab4fe001033494072";

TEST_F(ValidateTest, MatchingDigestAndRowsIsValid) {
  auto first = ValidateDataset(dir_ / "d.csv", std::nullopt, 2);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->valid);
  EXPECT_EQ(first->rows, 2);
  EXPECT_EQ(first->digest, kDigest);
  auto again = ValidateDataset(dir_ / "d.csv", kDigest, 2);
  EXPECT_TRUE(again->valid);
}

TEST_F(ValidateTest, WrongRowCountOrDigestIsInvalidWithReasons) {
  auto rows = ValidateDataset(dir_ / "d.csv", std::nullopt, 3);
  ASSERT_TRUE(rows.ok());
  EXPECT_FALSE(rows->valid);
  ASSERT_EQ(rows->problems.size(), 1u);
  EXPECT_EQ(rows->problems[0], "row count is 2, expected 3");

  std::string wrong = "sha256:" + std::string(64, '0');
  auto digest = ValidateDataset(dir_ / "d.csv", wrong, 2);
  EXPECT_FALSE(digest->valid);
  EXPECT_NE(digest->problems[0].find("expected " + wrong), std::string::npos);
}

TEST_F(ValidateTest, MissingFileIsNotFound) {
  EXPECT_TRUE(ValidateDataset(dir_ / "none.csv", std::nullopt, std::nullopt)
                  .status()
                  .IsNotFound());
}

}  // namespace
}  // namespace lockstep::ml
