// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "registry/auth.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>

#include <chrono>
#include <thread>

#include "core/base64.h"
#include "core/files.h"

namespace lockstep::registry {
namespace {

// Made by Apache's `htpasswd -nbB ana 'secret pass'` and
// `htpasswd -nbB bob hunter2`.
constexpr const char* kUsers =
    "ana:$2y$05$Ive5VVNutKrZ5SrTBlZ52OJdloVD3CIbq/Ssr44m6h.etaQXF7bh.\n"
    "bob:$2y$05$v64eWxcNBeLWMfx6jgpVB.EvGkQL3Trbullh9VHV2JtXyN9QWJT.i\n";

// base64 of "ana:secret pass", "ana:wrong", "bob:hunter2" (coreutils).
constexpr const char* kAnaRight = "Basic YW5hOnNlY3JldCBwYXNz";
constexpr const char* kAnaWrong = "Basic YW5hOndyb25n";
constexpr const char* kBob = "Basic Ym9iOmh1bnRlcjI=";

TEST(AuthenticatorTest, ChecksBcryptPasswords) {
  auto auth = Authenticator::FromText(kUsers, "users", "", "");
  ASSERT_TRUE(auth.ok()) << auth.status().ToString();
  EXPECT_EQ(auth->CheckBasic(kAnaRight), "ana");
  EXPECT_EQ(auth->CheckBasic(kBob), "bob");
  EXPECT_FALSE(auth->CheckBasic(kAnaWrong).has_value());
  EXPECT_FALSE(auth->CheckBasic("Basic !!!!").has_value());
  EXPECT_FALSE(auth->CheckBasic("Bearer abc").has_value());
}

// Found by a tester: "basic ..." got 401 while "Basic ..." got 200; RFC
// 9110 section 11.1 makes the scheme case-insensitive.
TEST(AuthenticatorTest, ReadsTheSchemeInAnyCase) {
  auto auth = Authenticator::FromText(kUsers, "users", "", "");
  ASSERT_TRUE(auth.ok());
  EXPECT_EQ(auth->CheckBasic("basic YW5hOnNlY3JldCBwYXNz"), "ana");
  EXPECT_EQ(auth->CheckBasic("BASIC YW5hOnNlY3JldCBwYXNz"), "ana");
  EXPECT_FALSE(auth->CheckBasic("Basically YW5hOnNlY3JldCBwYXNz"));
}

TEST(CredentialsOfTest, MatchesTheSchemeWord) {
  EXPECT_EQ(CredentialsOf("bearer abc", "Bearer"), "abc");
  EXPECT_EQ(CredentialsOf("Bearer  abc", "Bearer"), "abc");
  EXPECT_EQ(CredentialsOf("BeArEr abc", "Bearer"), "abc");
  EXPECT_FALSE(CredentialsOf("Bearerabc", "Bearer"));
  EXPECT_FALSE(CredentialsOf("Basic abc", "Bearer"));
  EXPECT_FALSE(CredentialsOf("Bearer", "Bearer"));
}

// Found by a tester: "secret pass\0x" was accepted, crypt(3) reading
// only up to the NUL.
TEST(AuthenticatorTest, RefusesPasswordsWithNul) {
  auto auth = Authenticator::FromText(kUsers, "users", "", "");
  ASSERT_TRUE(auth.ok());
  std::string with_nul("ana:secret pass\0x", 17);
  EXPECT_FALSE(
      auth->CheckBasic("Basic " + Base64Encode(with_nul)).has_value());
  EXPECT_EQ(auth->CheckBasic("Basic " + Base64Encode("ana:secret pass")),
            "ana");
}

TEST(AuthenticatorTest, RefusesNonBcryptEntries) {
  auto auth = Authenticator::FromText("eve:{SHA}abc\n", "users", "", "");
  ASSERT_FALSE(auth.ok());
  EXPECT_EQ(auth.status().message(),
            "users:1:5: only bcrypt entries (user:$2y$..., from htpasswd "
            "-B) are accepted");
}

// Found by a tester: with --access given, a bad htpasswd line was
// reported as a line of the rules file.
TEST(AuthenticatorTest, HtpasswdErrorsNameTheHtpasswdFile) {
  auto auth = Authenticator::FromText(
      std::string(kUsers) + "old:S3iGgzRWx/TSU\n", "h.htp",
      R"({"rules": []})", "acc.json");
  ASSERT_FALSE(auth.ok());
  EXPECT_EQ(auth.status().message(),
            "h.htp:3:5: only bcrypt entries (user:$2y$..., from htpasswd "
            "-B) are accepted");
}

// Found by a tester: a file saved with CRLF line ends (or a trailing
// space) locked every user out, with nothing said at start.
TEST(AuthenticatorTest, CrlfAndStraySpacesAreNotPartOfTheHash) {
  std::string crlf;
  for (char c : std::string(kUsers)) {
    if (c == '\n') crlf += "  \r";
    crlf += c;
  }
  auto auth = Authenticator::FromText("  # users\r\n" + crlf, "users", "",
                                      "");
  ASSERT_TRUE(auth.ok()) << auth.status().message();
  EXPECT_EQ(auth->CheckBasic("Basic " + Base64Encode("ana:secret pass")),
            "ana");
}

// Found by a tester: podman sends "Basic Og==" (empty user and password)
// when it has no login; it is no login, not a wrong one.
TEST(AuthenticatorTest, AnEmptyBasicLoginIsNoLogin) {
  EXPECT_TRUE(IsEmptyBasicLogin("Basic Og=="));
  EXPECT_TRUE(IsEmptyBasicLogin("basic " + Base64Encode(":")));
  EXPECT_FALSE(IsEmptyBasicLogin("Basic " + Base64Encode("ana:")));
  EXPECT_FALSE(IsEmptyBasicLogin("Bearer Og=="));
}

TEST(AuthenticatorTest, PerRepositoryRules) {
  auto auth = Authenticator::FromText(kUsers, "users", R"({
      "anonymousPull": ["public/*"],
      "rules": [{"repository": "team/*", "read": ["*"], "write": ["ana"]},
                {"repository": "private", "read": ["ana"], "write": []}]})",
      "rules.json");
  ASSERT_TRUE(auth.ok()) << auth.status().ToString();
  EXPECT_TRUE(auth->Allowed("", "public/base", false));
  EXPECT_FALSE(auth->Allowed("", "public/base", true));
  EXPECT_FALSE(auth->Allowed("", "team/app", false));
  EXPECT_TRUE(auth->Allowed("bob", "team/app", false));
  EXPECT_FALSE(auth->Allowed("bob", "team/app", true));
  EXPECT_TRUE(auth->Allowed("ana", "team/app", true));
  EXPECT_TRUE(auth->Allowed("ana", "private", false));
  EXPECT_FALSE(auth->Allowed("bob", "private", false));
  EXPECT_FALSE(auth->Allowed("ana", "unlisted", false));
}

TEST(AuthenticatorTest, RuleErrorsNameTheField) {
  auto auth = Authenticator::FromText(
      kUsers, "users", R"({"rules": [{"repository": "a", "read": "ana"}]})",
      "rules.json");
  ASSERT_FALSE(auth.ok());
  EXPECT_EQ(auth.status().message(),
            "rules.json:1:32: rules[0].read: not a list of strings");
}

// Found by a tester: with "write" given twice the last list won (bob
// could push), and unknown keys were ignored.
TEST(AuthenticatorTest, RepeatedAndUnknownRuleKeysAreRefused) {
  auto twice = Authenticator::FromText(
      kUsers, "users",
      "{\"rules\": [{\"repository\": \"team/*\", \"write\": [\"ana\"],\n"
      "  \"write\": [\"ana\", \"bob\"]}]}",
      "rules.json");
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.status().message(),
            "rules.json:2:3: key \"write\" appears twice in the same object");
  auto misspelt = Authenticator::FromText(
      kUsers, "users", R"({"rules": [{"repository": "a", "wrte": ["ana"]}]})",
      "rules.json");
  ASSERT_FALSE(misspelt.ok());
  EXPECT_EQ(misspelt.status().message(),
            "rules.json:1:32: unknown key \"wrte\" in rules[0] (known: "
            "repository, read, write)");
  auto top = Authenticator::FromText(
      kUsers, "users", R"({"anonymousPulls": ["*"], "rules": []})",
      "rules.json");
  ASSERT_FALSE(top.ok());
  EXPECT_EQ(top.status().message(),
            "rules.json:1:2: unknown key \"anonymousPulls\" in the rules "
            "(known: anonymousPull, rules)");
}

}  // namespace
}  // namespace lockstep::registry

namespace lockstep::registry {
namespace {

// Tokens whose payload the test chooses, signed as TokenIssuer signs:
// hex(payload) "." hex(HMAC-SHA256(key, payload)).
std::string HexOf(const unsigned char* bytes, size_t size) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < size; ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 15];
  }
  return out;
}

std::string SignedToken(const std::string& key, const std::string& payload) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(payload.data()), payload.size(),
       mac, &length);
  return HexOf(reinterpret_cast<const unsigned char*>(payload.data()),
               payload.size()) +
         "." + HexOf(mac, length);
}

// Found by fuzz/registry_http_fuzzer: a correctly signed payload without
// "exp", or with fields of the wrong type, threw from nlohmann::json
// instead of being refused.
TEST(TokenIssuerTest, MalformedSignedClaimsAreRefused) {
  TokenIssuer issuer("k");
  for (const char* payload :
       {"{}", "[]", R"({"exp": "soon"})", R"({"exp": 9e18, "sub": 1})",
        R"({"exp": 4000000000000, "access": [1]})",
        R"({"exp": 4000000000000, "access": [{"name": 2}]})"}) {
    EXPECT_FALSE(issuer.Verify(SignedToken("k", payload), 0).has_value())
        << payload;
  }
  // The same helper signs a good token that verifies, so the refusals
  // above are about the claims, not the signature.
  auto good = issuer.Verify(
      SignedToken("k", R"({"exp": 4000000000000, "sub": "ann", "access": )"
                       R"([{"name": "team/m", "pull": true}]})"),
      0);
  ASSERT_TRUE(good.has_value());
  EXPECT_EQ(good->user, "ann");
  ASSERT_EQ(good->grants.size(), 1u);
  EXPECT_EQ(good->grants[0].repository, "team/m");
  EXPECT_TRUE(good->grants[0].pull);
  EXPECT_FALSE(good->grants[0].push);
}

// Writes `text` to `path` in place (same inode, as Apache's htpasswd
// does) or by rename, and gives it mtime `second`: each version an
// mtime of its own, so nothing rests on the clock's granularity.
void WriteVersion(const fs::path& path, const std::string& text,
                  int64_t second, bool in_place) {
  if (in_place) {
    int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CREAT, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(WriteAll(fd, text, path).ok());
    ::close(fd);
  } else {
    ASSERT_TRUE(WriteFileAtomically(path, text).ok());
  }
  timespec times[2] = {{second, 0}, {second, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
}

// Found by a tester: a user removed with `htpasswd -D` could still push
// until the server was restarted. Zero recheck: every Current() looks.
TEST(AuthFilesTest, FollowsChangesAndKeepsTheLastGoodVersion) {
  fs::path dir = *MakeTempDirectory(fs::temp_directory_path(), "authf-");
  fs::path users = dir / "users";
  fs::path rules = dir / "rules.json";
  std::string ana(kUsers, std::string(kUsers).find('\n') + 1);
  WriteVersion(users, ana, 1000, true);
  WriteVersion(rules, R"({"rules": []})", 1000, true);
  auto files = AuthFiles::Load(users, rules, std::chrono::milliseconds(0));
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  AuthFiles& auth = **files;
  std::shared_ptr<const Authenticator> first = auth.Current();
  EXPECT_EQ(first->CheckBasic(kAnaRight), "ana");
  EXPECT_FALSE(first->CheckBasic(kBob));
  EXPECT_FALSE(first->Allowed("ana", "team/m", true));

  // Added in place (htpasswd -bB), then removed by rename.
  WriteVersion(users, kUsers, 1001, true);
  EXPECT_EQ(auth.Current()->CheckBasic(kBob), "bob");
  WriteVersion(users, ana, 1002, false);
  EXPECT_FALSE(auth.Current()->CheckBasic(kBob));
  // A snapshot taken before a change stays as it was.
  EXPECT_EQ(first->CheckBasic(kAnaRight), "ana");

  // Broken: the last good users kept, one warning naming file and line.
  testing::internal::CaptureStderr();
  WriteVersion(users, ana + "carl:plain\n", 1003, true);
  EXPECT_EQ(auth.Current()->CheckBasic(kAnaRight), "ana");
  EXPECT_EQ(auth.Current()->CheckBasic(kAnaRight), "ana");
  std::string log = testing::internal::GetCapturedStderr();
  std::string warning = users.string() + ":2:6: only bcrypt entries";
  ASSERT_NE(log.find(warning), std::string::npos) << log;
  EXPECT_EQ(log.find(warning), log.rfind(warning)) << "warned twice";
  // Missing: the same.
  fs::remove(users);
  EXPECT_EQ(auth.Current()->CheckBasic(kAnaRight), "ana");
  // Fixed: read again.
  WriteVersion(users, kUsers, 1004, false);
  EXPECT_EQ(auth.Current()->CheckBasic(kBob), "bob");

  // The rules file is followed too, and kept when broken.
  WriteVersion(rules,
               R"({"rules": [{"repository": "team/*", "write": ["ana"]}]})",
               1005, true);
  EXPECT_TRUE(auth.Current()->Allowed("ana", "team/m", true));
  WriteVersion(rules, R"({"rules": [{"repository": "team/*",)", 1006, true);
  EXPECT_TRUE(auth.Current()->Allowed("ana", "team/m", true));
  RemoveAllQuietly(dir);
}

// Same size, same mtime, same inode: the ctime still tells (a copy
// with cp -p keeps the mtime).
TEST(AuthFilesTest, SeesARewriteThatKeepsSizeAndMtime) {
  fs::path dir = *MakeTempDirectory(fs::temp_directory_path(), "authf-");
  fs::path users = dir / "users";
  std::string ana(kUsers, std::string(kUsers).find('\n') + 1);
  std::string other = ana;
  other.replace(0, 3, "eve");
  WriteVersion(users, ana, 1000, true);
  auto files = AuthFiles::Load(users, "", std::chrono::milliseconds(0));
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  ASSERT_EQ((*files)->Current()->CheckBasic(kAnaRight), "ana");
  // The ctime has no finer steps than the kernel's tick: wait one out.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  WriteVersion(users, other, 1000, true);
  EXPECT_FALSE((*files)->Current()->CheckBasic(kAnaRight));
  RemoveAllQuietly(dir);
}

// Not looked at again within `recheck`.
TEST(AuthFilesTest, LooksAtMostOncePerRecheck) {
  fs::path dir = *MakeTempDirectory(fs::temp_directory_path(), "authf-");
  fs::path users = dir / "users";
  WriteVersion(users, kUsers, 1000, true);
  auto files = AuthFiles::Load(users, "", std::chrono::hours(1));
  ASSERT_TRUE(files.ok());
  WriteVersion(users, "", 1001, true);
  EXPECT_EQ((*files)->Current()->CheckBasic(kBob), "bob");
  RemoveAllQuietly(dir);
}

// The key kept in the store: a second issuer over the same file (a
// restarted server) accepts tokens the first issued, until they expire;
// an issuer over another key file does not.
TEST(TokenIssuerTest, KeyFileKeepsTokensValidAcrossRestarts) {
  fs::path dir = *MakeTempDirectory(fs::temp_directory_path(), "token-");
  fs::path key_file = dir / "token.key";
  auto first = TokenIssuer::KeyFromFile(key_file);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(fs::file_size(key_file), 32u);
  EXPECT_EQ(fs::status(key_file).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  std::string token =
      first->Issue("ana", {{"team/m", true, true}}, 1000, 300000);

  auto restarted = TokenIssuer::KeyFromFile(key_file);
  ASSERT_TRUE(restarted.ok());
  auto claims = restarted->Verify(token, 2000);
  ASSERT_TRUE(claims.has_value());
  EXPECT_EQ(claims->user, "ana");
  ASSERT_EQ(claims->grants.size(), 1u);
  EXPECT_TRUE(claims->grants[0].push);
  EXPECT_FALSE(restarted->Verify(token, 301000).has_value());  // expired

  auto other = TokenIssuer::KeyFromFile(dir / "other.key");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->Verify(token, 2000).has_value());

  ASSERT_TRUE(WriteFileAtomically(dir / "short.key", "abc").ok());
  auto bad = TokenIssuer::KeyFromFile(dir / "short.key");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            (dir / "short.key").string() +
                ": token key must be 32 bytes, found 3 (delete it to make "
                "a new one)");
  RemoveAllQuietly(dir);
}

}  // namespace
}  // namespace lockstep::registry
