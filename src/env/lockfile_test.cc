// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "env/lockfile.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "core/files.h"
#include "core/base64.h"

namespace lockstep::env {
namespace {

fs::path DataDir() {
  const char* source = std::getenv("LOCKSTEP_SOURCE_DIR");
  return fs::path(source ? source : ".") / "tests/data/lockfiles";
}

// sha256 of the test artifacts' bytes, from `sha256sum` on files holding
// exactly these bytes.
constexpr char kWheelBytes[] = "demo wheel A\n";
constexpr char kWheelSha[] =
    "5ab704263e835c8511b53afdc9bc4f0e693c29bea644eec00e668b835546279d";
constexpr char kSdistBytes[] = "demo sdist B\n";
constexpr char kSdistSha[] =
    "13f01980846c2133c594725ac2b39934b086006f0ef45b4e5c9c5e347bbbaacd";
constexpr char kTamperedBytes[] = "tampered C\n";
constexpr char kTamperedSha[] =
    "916e0d4673dcb920fcfb17b4151820007f4276c912385015053262e63cb53917";

const LockedPackage* Find(const Lockfile& lock, std::string_view name) {
  for (const LockedPackage& package : lock.packages) {
    if (package.name == name) return &package;
  }
  return nullptr;
}

TEST(NormalizePackageNameTest, FollowsPep503) {
  EXPECT_EQ(NormalizePackageName("Friendly-Bard"), "friendly-bard");
  EXPECT_EQ(NormalizePackageName("FRIENDLY-BARD"), "friendly-bard");
  EXPECT_EQ(NormalizePackageName("friendly.bard"), "friendly-bard");
  EXPECT_EQ(NormalizePackageName("friendly_bard"), "friendly-bard");
  EXPECT_EQ(NormalizePackageName("friendly--bard"), "friendly-bard");
  EXPECT_EQ(NormalizePackageName("FrIeNdLy-._.-bArD"), "friendly-bard");
}

TEST(Base64Test, Rfc4648Vectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(*Base64Decode("Zm9vYg=="), "foob");
  EXPECT_EQ(*Base64Decode("Zm9vYg"), "foob");
  EXPECT_FALSE(Base64Decode("Zm9v!").has_value());
  EXPECT_FALSE(Base64Decode("Z").has_value());
}

TEST(ParseArtifactNameTest, WheelsAndSdists) {
  std::string name, version;
  ASSERT_TRUE(ParseArtifactName("Demo_Pkg-1.0-py3-none-any.whl", &name,
                                &version));
  EXPECT_EQ(name, "demo-pkg");
  EXPECT_EQ(version, "1.0");
  ASSERT_TRUE(ParseArtifactName("python-dateutil-2.8.2.tar.gz", &name,
                                &version));
  EXPECT_EQ(name, "python-dateutil");
  EXPECT_EQ(version, "2.8.2");
  EXPECT_FALSE(ParseArtifactName("README.md", &name, &version));
  EXPECT_FALSE(ParseArtifactName("foo-1.0.whl", &name, &version));
}

TEST(ParseLockfileTest, PipCompileOutputGivesPackagesAndHashes) {
  auto lock = LoadLockfile(DataDir() / "pip_compile.txt");
  ASSERT_TRUE(lock.ok()) << lock.status().ToString();
  ASSERT_EQ(lock->packages.size(), 8u);

  const LockedPackage* certifi = Find(*lock, "certifi");
  ASSERT_NE(certifi, nullptr);
  EXPECT_EQ(certifi->version, "2024.2.2");
  EXPECT_EQ(certifi->line, 9);
  ASSERT_EQ(certifi->sha256.size(), 2u);
  EXPECT_EQ(certifi->sha256[1],
            "dc383c07b76109f368f6106eee2b593b04a011ea4d55f652c6ca24a754d1cdd1");

  // The comment between its continued lines did not cut off the 2nd hash.
  const LockedPackage* charset = Find(*lock, "charset-normalizer");
  ASSERT_NE(charset, nullptr);
  EXPECT_EQ(charset->sha256.size(), 2u);
  EXPECT_EQ(charset->line, 13);

  const LockedPackage* requests = Find(*lock, "requests");
  ASSERT_NE(requests, nullptr);
  EXPECT_EQ(requests->version, "2.31.0");
  EXPECT_EQ(requests->extras,
            (std::vector<std::string>{"socks", "security"}));

  const LockedPackage* tomli = Find(*lock, "tomli");
  ASSERT_NE(tomli, nullptr);
  EXPECT_EQ(tomli->marker, "python_version < \"3.11\"");
  EXPECT_EQ(tomli->version, "2.0.1");

  const LockedPackage* zope = Find(*lock, "zope-interface");
  ASSERT_NE(zope, nullptr);
  EXPECT_TRUE(zope->sha256.empty());
  ASSERT_EQ(zope->other_hashes.size(), 1u);
  EXPECT_EQ(zope->other_hashes[0].substr(0, 7), "sha512:");

  // '#' inside the URL is a fragment, not a comment.
  const LockedPackage* torch = Find(*lock, "torch");
  ASSERT_NE(torch, nullptr);
  EXPECT_EQ(torch->version, "2.2.0+cpu");
  EXPECT_NE(torch->url.find("#sha256=15a657"), std::string::npos);
  EXPECT_EQ(torch->sha256.size(), 1u);

  // The digest is of the file's bytes.
  auto bytes = ReadFile(DataDir() / "pip_compile.txt");
  EXPECT_EQ(lock->digest, Sha256Of(*bytes));
}

// Found by a tester: a file saved with a UTF-8 byte-order mark, which pip
// reads, was refused ("cannot read a package name in '\xEF\xBB\xBFa==1.0'").
TEST(ParseLockfileTest, ByteOrderMarkIsNotPartOfTheFirstName) {
  std::string text = "\xEF\xBB\xBF" "demo-pkg==1.0 --hash=sha256:" +
                     std::string(kWheelSha) + "\n";
  auto lock = ParseLockfile(text, "bom.lock");
  ASSERT_TRUE(lock.ok()) << lock.status().ToString();
  ASSERT_EQ(lock->packages.size(), 1u);
  EXPECT_EQ(lock->packages[0].name, "demo-pkg");
  EXPECT_EQ(lock->packages[0].line, 1);
  EXPECT_EQ(lock->digest, Sha256Of(text));
}

TEST(ParseLockfileTest, ViaCommentNeverMergesTheNextRequirement) {
  // The last hash line wrongly ends in '\'; pip would glue "b==2.0" onto
  // "a" and fail. Here the comment closes "a" and "b" stands alone.
  std::string text =
      "a==1.0 \\\n"
      "    --hash=sha256:" + std::string(kWheelSha) + " \\\n"
      "    # via c\n"
      "b==2.0 \\\n"
      "    --hash=sha256:" + std::string(kSdistSha) + "\n";
  auto lock = ParseLockfile(text, "x.lock");
  ASSERT_TRUE(lock.ok()) << lock.status().ToString();
  ASSERT_EQ(lock->packages.size(), 2u);
  EXPECT_EQ(lock->packages[0].sha256,
            std::vector<std::string>{kWheelSha});
  EXPECT_EQ(lock->packages[1].name, "b");
  EXPECT_EQ(lock->packages[1].line, 4);
  EXPECT_EQ(lock->packages[1].sha256,
            std::vector<std::string>{kSdistSha});
}

TEST(ParseLockfileTest, TrailingCommentWithBackslashDoesNotContinue) {
  std::string text = "a==1.0 --hash=sha256:" + std::string(kWheelSha) +
                     " # note \\\n"
                     "b==2.0 --hash=sha256:" + std::string(kSdistSha) + "\n";
  auto lock = ParseLockfile(text, "x.lock");
  ASSERT_TRUE(lock.ok()) << lock.status().ToString();
  EXPECT_EQ(lock->packages.size(), 2u);
}

// PEP 440 epochs ("1!2.0") are exact pins; a '!' anywhere else is not.
TEST(ParseLockfileTest, EpochPinIsPinnedButOtherBangsAreNot) {
  std::string hash = " --hash=sha256:" + std::string(kWheelSha) + "\n";
  auto lock = ParseLockfile("y==1!2.0" + hash, "x.lock");
  ASSERT_TRUE(lock.ok()) << lock.status().ToString();
  EXPECT_EQ(lock->packages[0].version, "1!2.0");
  for (const char* bad : {"y==!2.0", "y==1!", "y==a!2.0", "y==1!!2"}) {
    auto refused = ParseLockfile(bad + hash, "x.lock");
    EXPECT_EQ(refused.status().message(),
              std::string("x.lock:1: '") + bad + "' is not pinned with ==");
  }
}

TEST(ParseLockfileTest, UnpinnedEditableAndVcsFailWithLineNumbers) {
  auto lock = LoadLockfile(DataDir() / "unhashable.txt");
  ASSERT_FALSE(lock.ok());
  EXPECT_TRUE(lock.status().IsInvalidArgument());
  const std::string& message = lock.status().message();
  std::string file = (DataDir() / "unhashable.txt").string();
  EXPECT_NE(message.find(file + ":3: 'numpy>=1.26' is not pinned with =="),
            std::string::npos)
      << message;
  EXPECT_NE(message.find(file + ":6: editable requirement '-e "
                                "./src/mypackage'"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find(file + ":10: vcs requirement"), std::string::npos)
      << message;
}

TEST(ParseLockfileTest, AllowUnhashableAcceptsEditableAsUnverified) {
  std::string text = "-e ./src/mypackage\n"
                     "six==1.16.0 --hash=sha256:" + std::string(kWheelSha) +
                     "\n";
  auto lock = ParseLockfile(text, "x.lock", {.allow_unhashable = true});
  ASSERT_TRUE(lock.ok()) << lock.status().ToString();
  ASSERT_EQ(lock->packages.size(), 2u);
  EXPECT_EQ(lock->packages[0].unhashable_kind, "editable");
  EXPECT_EQ(lock->packages[0].line, 1);
}

TEST(ParseLockfileTest, ErrorsNameTheLine) {
  struct Case {
    std::string text;
    std::string expected;
  };
  std::vector<Case> cases = {
      {"a==1.0\n", "x.lock:1: 'a==1.0' has no --hash"},
      {"a==1.0 --hash=sha256:abc\n", "x.lock:1: malformed sha256 hash"},
      {"a==1.0 \\\n  --hash=md5\n", "x.lock:2: malformed hash 'md5'"},
      {"a==1.* --hash=sha256:" + std::string(kWheelSha) + "\n",
       "x.lock:1: 'a==1.*' is not pinned"},
      {"\n--hash=sha256:" + std::string(kWheelSha) + "\n",
       "x.lock:2: --hash without a requirement"},
      {"-r other.txt\n", "x.lock:1: '-r' includes another file"},
      {"a==1.0 --global-option=x\n", "x.lock:1: unknown option"},
      {"a==1.0 --hash=sha256:" + std::string(kWheelSha) + " \\\n"
       "b==2.0 --hash=sha256:" + std::string(kWheelSha) + "\n",
       "x.lock:2: 'b==2.0' follows the options of 'a==1.0'"},
      {"https://h/a-1.0.tar.gz --hash=sha256:" + std::string(kWheelSha),
       "x.lock:1: URL requirement 'https://h/a-1.0.tar.gz' has no name"},
      {"A==1 --hash=sha256:" + std::string(kWheelSha) + "\na==2 "
       "--hash=sha256:" + std::string(kWheelSha) + "\n",
       "x.lock:2: 'a' is listed again (first at line 1)"},
  };
  for (const Case& c : cases) {
    auto lock = ParseLockfile(c.text, "x.lock");
    ASSERT_FALSE(lock.ok()) << c.text;
    EXPECT_NE(lock.status().message().find(c.expected), std::string::npos)
        << lock.status().message();
  }
}

class ArtifactFolderTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = *MakeTempDirectory(fs::temp_directory_path(), "lock-files");
    auto lock = LoadLockfile(DataDir() / "pip_compile.txt");
    ASSERT_TRUE(lock.ok());
    // Keep only demo-pkg, whose two hashes are the two files' digests.
    lock_ = *lock;
    std::erase_if(lock_.packages, [](const LockedPackage& p) {
      return p.name != "demo-pkg";
    });
  }
  void TearDown() override { RemoveAllQuietly(dir_); }

  fs::path dir_;
  Lockfile lock_;
};

TEST_F(ArtifactFolderTest, EitherHashPassesAndAThirdFailsListingAll) {
  fs::path wheel = dir_ / "demo_pkg-1.0-py3-none-any.whl";
  ASSERT_TRUE(WriteFileAtomically(wheel, kWheelBytes).ok());
  auto result = VerifyArtifacts(lock_, dir_);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_TRUE(result->ok()) << result->ToJson().dump();
  EXPECT_EQ(result->files_checked, 1);

  ASSERT_TRUE(WriteFileAtomically(wheel, kSdistBytes).ok());
  result = VerifyArtifacts(lock_, dir_);
  EXPECT_TRUE(result->ok()) << result->ToJson().dump();

  ASSERT_TRUE(WriteFileAtomically(wheel, kTamperedBytes).ok());
  result = VerifyArtifacts(lock_, dir_);
  ASSERT_EQ(result->findings.size(), 1u);
  const LockFinding& finding = result->findings[0];
  EXPECT_EQ(finding.kind, "hash_mismatch");
  EXPECT_EQ(finding.file, "demo_pkg-1.0-py3-none-any.whl");
  EXPECT_EQ(finding.actual, std::string("sha256:") + kTamperedSha);
  EXPECT_EQ(finding.expected,
            (std::vector<std::string>{std::string("sha256:") + kWheelSha,
                                      std::string("sha256:") + kSdistSha}));
  for (const char* hex : {kWheelSha, kSdistSha, kTamperedSha}) {
    EXPECT_NE(finding.message.find(hex), std::string::npos)
        << finding.message;
  }
}

TEST_F(ArtifactFolderTest, MissingOtherVersionAndExtraFiles) {
  auto result = VerifyArtifacts(lock_, dir_);
  ASSERT_EQ(result->findings.size(), 1u);
  EXPECT_EQ(result->findings[0].kind, "missing");

  ASSERT_TRUE(WriteFileAtomically(dir_ / "demo-pkg-1.1.tar.gz", "x").ok());
  ASSERT_TRUE(
      WriteFileAtomically(dir_ / "other-2.0-py3-none-any.whl", "y").ok());
  result = VerifyArtifacts(lock_, dir_);
  ASSERT_EQ(result->findings.size(), 3u);
  EXPECT_EQ(result->findings[0].kind, "other_version");
  EXPECT_EQ(result->findings[0].actual, "1.1");
  EXPECT_EQ(result->findings[1].kind, "extra");
  EXPECT_EQ(result->findings[1].package, "other");
  EXPECT_EQ(result->findings[2].kind, "missing");
  EXPECT_FALSE(result->ToJson()["ok"].get<bool>());
}

// A synthetic installed environment: demo-pkg 1.0 with two files whose
// RECORD hashes were computed by Python:
//   base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
class SitePackagesTest : public testing::Test {
 protected:
  void SetUp() override {
    site_ = *MakeTempDirectory(fs::temp_directory_path(), "site");
    Write("demo_pkg/__init__.py", "print(\"hello\")\n");
    Write("demo_pkg/values.py", "VALUE = 1\n");
    Write("demo_pkg-1.0.dist-info/METADATA",
          "Metadata-Version: 2.1\nName: Demo_Pkg\nVersion: 1.0\n\nBody\n");
    Write("demo_pkg-1.0.dist-info/RECORD",
          "demo_pkg/__init__.py,"
          "sha256=uAeSM2FWx7D3_gLu7yRhDS1SoQ0YEDl3REcdHcVzgYA,15\n"
          "\"demo_pkg/values.py\","
          "sha256=4T34xEr13qHkEkA5ELmcxaSPLMv2imazN01quc75_GU,10\n"
          "demo_pkg-1.0.dist-info/RECORD,,\n");
    Write("pip-24.0.dist-info/METADATA", "Name: pip\nVersion: 24.0\n");
    std::string text = "demo-pkg==1.0 --hash=sha256:" +
                       std::string(kWheelSha) + "\n";
    lock_ = *ParseLockfile(text, "site.lock");
  }
  void TearDown() override { RemoveAllQuietly(site_); }

  void Write(const std::string& path, const std::string& bytes) {
    ASSERT_TRUE(WriteFileAtomically(site_ / path, bytes).ok());
  }

  fs::path site_;
  Lockfile lock_;
};

TEST_F(SitePackagesTest, MatchingEnvironmentVerifies) {
  auto result = VerifyInstalled(lock_, site_);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_TRUE(result->ok()) << result->ToJson().dump();
  EXPECT_EQ(result->files_checked, 2);
  EXPECT_EQ(result->packages_checked, 1);
}

TEST_F(SitePackagesTest, ModifiedFileIsReportedByName) {
  Write("demo_pkg/values.py", "VALUE = 2\n");
  auto result = VerifyInstalled(lock_, site_);
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(result->findings.size(), 1u);
  EXPECT_EQ(result->findings[0].kind, "modified_file");
  EXPECT_EQ(result->findings[0].file, "demo_pkg/values.py");
  EXPECT_EQ(result->findings[0].expected[0],
            "sha256:e13df8c44af5dea1e412403910b99cc5a48f2ccbf68a66b3374d6ab9"
            "cef9fc65");
  EXPECT_EQ(result->findings[0].actual,
            Sha256Of("VALUE = 2\n").ToString());
}

TEST_F(SitePackagesTest, MissingFileOtherVersionAndExtra) {
  fs::remove(site_ / "demo_pkg/__init__.py");
  auto result = VerifyInstalled(lock_, site_);
  ASSERT_EQ(result->findings.size(), 1u);
  EXPECT_EQ(result->findings[0].kind, "missing_file");

  Write("demo_pkg-1.0.dist-info/METADATA", "Name: demo-pkg\nVersion: 1.1\n");
  Write("extra_thing-3.0.dist-info/METADATA",
        "Name: extra.thing\nVersion: 3.0\n");
  result = VerifyInstalled(lock_, site_);
  ASSERT_EQ(result->findings.size(), 2u);
  EXPECT_EQ(result->findings[0].kind, "other_version");
  EXPECT_EQ(result->findings[0].actual, "1.1");
  EXPECT_EQ(result->findings[1].kind, "extra");
  EXPECT_EQ(result->findings[1].package, "extra-thing");
}

TEST_F(SitePackagesTest, MissingPackageWithMarkerIsUnverifiedNotDrift) {
  std::string text = "demo-pkg==1.0 --hash=sha256:" + std::string(kWheelSha) +
                     "\ntomli==2.0.1 ; python_version < \"3.11\" "
                     "--hash=sha256:" + std::string(kSdistSha) +
                     "\nabsent==1.0 --hash=sha256:" + kSdistSha + "\n";
  Lockfile lock = *ParseLockfile(text, "x.lock");
  auto result = VerifyInstalled(lock, site_);
  ASSERT_EQ(result->findings.size(), 1u);
  EXPECT_EQ(result->findings[0].kind, "missing");
  EXPECT_EQ(result->findings[0].package, "absent");
  ASSERT_EQ(result->unverified.size(), 1u);
  EXPECT_EQ(result->unverified[0].package, "tomli");
}

}  // namespace
}  // namespace lockstep::env
