// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "core/digest.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "core/files.h"

namespace lockstep {
namespace {

// FIPS 180-2 and NIST CAVS vectors.
TEST(DigestTest, KnownSha256Vectors) {
  EXPECT_EQ(Sha256Of("").hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Of("abc").hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const char* two_blocks =
      "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  EXPECT_EQ(Sha256Of(two_blocks).hex(),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha256Of(std::string(1000000, 'a')).hex(),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(DigestTest, StreamedHashEqualsOneShotForAnyChunkSize) {
  std::mt19937 generator(7);
  std::string bytes(100003, '\0');
  for (char& c : bytes) {
    c = static_cast<char>(generator());
  }
  Digest expected = Sha256Of(bytes);
  for (size_t chunk : {1u, 2u, 63u, 64u, 65u, 4095u, 65536u, 1u << 20}) {
    Sha256 hasher;
    for (size_t offset = 0; offset < bytes.size(); offset += chunk) {
      hasher.Update(std::string_view(bytes).substr(offset, chunk));
    }
    EXPECT_EQ(hasher.Finish(), expected) << "chunk size " << chunk;
  }
}

TEST(DigestTest, ACopiedStateTakesAStreamBack) {
  Sha256 hasher;
  hasher.Update("abc");
  Sha256 saved;
  saved.CopyFrom(hasher);
  hasher.Update("bytes taken back");
  hasher.CopyFrom(saved);
  hasher.Update("def");
  EXPECT_EQ(hasher.Finish(), Sha256Of("abcdef"));
  // The copy is a state of its own.
  saved.Update("x");
  EXPECT_EQ(saved.Finish(), Sha256Of("abcx"));
}

TEST(DigestTest, FileDigestMatchesBytesAndReportsSize) {
  auto dir = MakeTempDirectory(fs::temp_directory_path(), "digest-test-");
  ASSERT_TRUE(dir.ok());
  std::string bytes(3 * kHashChunkSize + 17, 'x');
  ASSERT_TRUE(WriteFileAtomically(*dir / "f", bytes).ok());
  uint64_t size = 0;
  uint64_t seen = 0;
  auto digest = Sha256OfFile(*dir / "f", [&](std::string_view chunk) {
    seen += chunk.size();
    return Status::Ok();
  }, &size);
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(*digest, Sha256Of(bytes));
  EXPECT_EQ(size, bytes.size());
  EXPECT_EQ(seen, bytes.size());
  RemoveAllQuietly(*dir);
}

TEST(DigestTest, MissingFileIsNotFound) {
  auto digest = Sha256OfFile("/nonexistent/lockstep/file");
  EXPECT_TRUE(digest.status().IsNotFound());
}

TEST(DigestTest, ParseAcceptsOnlyCanonicalForm) {
  std::string hex(64, 'a');
  EXPECT_TRUE(Digest::Parse("sha256:" + hex).ok());
  EXPECT_FALSE(Digest::Parse("sha256:" + std::string(64, 'A')).ok());
  EXPECT_FALSE(Digest::Parse("sha256:" + hex.substr(1)).ok());
  EXPECT_FALSE(Digest::Parse("md5:" + hex).ok());
  EXPECT_EQ(Digest::Parse("sha256:" + hex)->ToString(), "sha256:" + hex);
}

// Held as bytes: the hex, the order and the equality must be those of
// the text form, and an empty digest differs from one of zero bytes.
TEST(DigestTest, BytesRoundTripAndOrderLikeTheirHex) {
  std::string low = "00" + std::string(62, 'f');
  std::string high = "0f" + std::string(62, '0');
  Digest a = Digest::FromHex(low);
  Digest b = Digest::FromHex(high);
  EXPECT_EQ(a.hex(), low);
  EXPECT_EQ(Digest::FromRaw(b.raw().data()), b);
  EXPECT_EQ(b.raw()[0], 0x0f);
  EXPECT_LT(a, b);
  EXPECT_EQ(low < high, a < b);

  Digest empty;
  Digest zero = Digest::FromHex(std::string(64, '0'));
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.hex(), "");
  EXPECT_EQ(empty.ToString(), "");
  EXPECT_NE(empty, zero);
  EXPECT_LT(empty, zero);
  EXPECT_EQ(zero.ToString(), "sha256:" + std::string(64, '0'));
}

}  // namespace
}  // namespace lockstep
