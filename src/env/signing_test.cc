// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "env/signing.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "core/files.h"
#include "core/base64.h"

namespace lockstep::env {
namespace {

// RFC 8032 section 7.1, TEST 1: the secret key wrapped in PKCS#8 and the
// public key in SPKI (DER prefixes from RFC 8410), and the signature of
// the empty message. The fingerprint is Python's
// hashlib.sha256(spki_der).hexdigest().
constexpr char kRfcPrivatePem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";
constexpr char kRfcPublicPem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
    "-----END PUBLIC KEY-----\n";
constexpr char kRfcSignatureHex[] =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb882"
    "1590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
constexpr char kRfcFingerprint[] =
    "sha256:06e3fd8fda29bb60ab59557de61edb0aecdb231134be30e75b455f8e1b792fa9";

TEST(SigningTest, MatchesRfc8032Vector) {
  auto signature = Sign("", kRfcPrivatePem);
  ASSERT_TRUE(signature.ok()) << signature.status().ToString();
  EXPECT_EQ(HexOf(signature->signature), kRfcSignatureHex);
  EXPECT_EQ(signature->public_key_sha256, kRfcFingerprint);
  EXPECT_EQ(*PublicKeyFingerprint(kRfcPublicPem), kRfcFingerprint);
  EXPECT_TRUE(Verify("", *signature, kRfcPublicPem).ok());
}

TEST(SigningTest, RoundTripThroughJson) {
  auto keys = GenerateKeyPair();
  ASSERT_TRUE(keys.ok());
  EXPECT_NE(keys->private_pem.find("BEGIN PRIVATE KEY"), std::string::npos);
  EXPECT_NE(keys->public_pem.find("BEGIN PUBLIC KEY"), std::string::npos);

  std::string manifest = R"({"run":"r1","outputs":{}})";
  auto signature = Sign(manifest, keys->private_pem);
  ASSERT_TRUE(signature.ok());
  Json json = signature->ToJson();
  EXPECT_EQ(json["algorithm"], "ed25519");
  auto parsed = Signature::FromJson(json);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_TRUE(Verify(manifest, *parsed, keys->public_pem).ok());
}

TEST(SigningTest, FlippedByteFails) {
  auto keys = GenerateKeyPair();
  std::string manifest = R"({"run":"r1"})";
  auto signature = Sign(manifest, keys->private_pem);
  for (size_t i = 0; i < manifest.size(); ++i) {
    std::string altered = manifest;
    altered[i] ^= 0x01;
    Status status = Verify(altered, *signature, keys->public_pem);
    EXPECT_TRUE(status.IsDataLoss()) << i;
  }
  Signature bad = *signature;
  bad.signature[10] ^= 0x80;
  EXPECT_TRUE(Verify(manifest, bad, keys->public_pem).IsDataLoss());
}

TEST(SigningTest, WrongKeySaysTheKeyDiffers) {
  auto signer = GenerateKeyPair();
  auto other = GenerateKeyPair();
  auto signature = Sign("m", signer->private_pem);
  Status status = Verify("m", *signature, other->public_pem);
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("different key"), std::string::npos);
  EXPECT_NE(status.message().find(signature->public_key_sha256),
            std::string::npos);
  EXPECT_NE(status.message().find(*PublicKeyFingerprint(other->public_pem)),
            std::string::npos);
}

TEST(SigningTest, BadInputsAreInvalidArgument) {
  EXPECT_TRUE(Sign("m", "not a key").status().IsInvalidArgument());
  EXPECT_TRUE(Signature::FromJson(Json{{"algorithm", "rsa"}})
                  .status()
                  .IsInvalidArgument());
  Json json = {{"algorithm", "ed25519"},
               {"public_key_sha256", kRfcFingerprint},
               {"signature", "c2hvcnQ="}};
  auto parsed = Signature::FromJson(json);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("'signature'"), std::string::npos);
}

TEST(SigningTest, SignatureFileRoundTrip) {
  fs::path dir = *MakeTempDirectory(fs::temp_directory_path(), "sig");
  fs::path manifest = dir / "run.json";
  fs::path path = SignaturePathFor(manifest);
  EXPECT_EQ(path, dir / "run.json.sig");

  auto signature = Sign("manifest bytes", kRfcPrivatePem);
  ASSERT_TRUE(WriteSignatureFile(path, *signature).ok());
  std::string text = *ReadFile(path);
  // RFC 8785 order: algorithm, public_key_sha256, signature.
  EXPECT_EQ(text.substr(0, 41),
            "{\"algorithm\":\"ed25519\",\"public_key_sha256");
  auto read = ReadSignatureFile(path);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_TRUE(Verify("manifest bytes", *read, kRfcPublicPem).ok());

  ASSERT_TRUE(WriteFileAtomically(path, "{\"algorithm\":\"ed25519\"}").ok());
  read = ReadSignatureFile(path);
  EXPECT_TRUE(read.status().IsInvalidArgument());
  EXPECT_NE(read.status().message().find(path.string()), std::string::npos);
  EXPECT_TRUE(ReadSignatureFile(dir / "none.sig").status().IsNotFound());
  RemoveAllQuietly(dir);
}

TEST(SigningTest, KeyFilesArePrivateAndNeverOverwritten) {
  fs::path dir = *MakeTempDirectory(fs::temp_directory_path(), "keys");
  std::string prefix = (dir / "k").string();
  auto keys = GenerateKeyPair();
  ASSERT_TRUE(WriteKeyPair(*keys, prefix).ok());

  struct stat info;
  ASSERT_EQ(::stat((prefix + ".key").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_EQ(*ReadFile(prefix + ".pub"), keys->public_pem);

  auto again = GenerateKeyPair();
  Status status = WriteKeyPair(*again, prefix);
  EXPECT_EQ(status.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(*ReadFile(prefix + ".key"), keys->private_pem);
  RemoveAllQuietly(dir);
}

}  // namespace
}  // namespace lockstep::env
