// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "registry/docker_config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>

#include "core/base64.h"
#include "core/files.h"

namespace lockstep::registry {
namespace {

namespace fs = std::filesystem;

class DockerConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = *MakeTempDirectory(fs::temp_directory_path(), "docker-config-");
    config_ = root_ / "config.json";
    const char* path = std::getenv("PATH");
    saved_path_ = path == nullptr ? "" : path;
    ::setenv("PATH", (root_.string() + ":" + saved_path_).c_str(), 1);
  }
  void TearDown() override {
    ::setenv("PATH", saved_path_.c_str(), 1);
    RemoveAllQuietly(root_);
  }

  void WriteConfig(const std::string& text) {
    ASSERT_TRUE(WriteFileAtomically(config_, text).ok());
  }

  // docker-credential-`name` on PATH, running `script` under sh.
  void WriteHelper(const std::string& name, const std::string& script) {
    fs::path program = root_ / ("docker-credential-" + name);
    ASSERT_TRUE(WriteFileAtomically(program, "#!/bin/sh\n" + script).ok());
    ::chmod(program.c_str(), 0755);
  }

  Result<std::optional<RegistryLogin>> Find(const std::string& registry) {
    return FindDockerLogin(config_, registry);
  }

  fs::path root_;
  fs::path config_;
  std::string saved_path_;
};

TEST_F(DockerConfigTest, NoFileMeansNoLogin) {
  auto login = Find("localhost:5000");
  ASSERT_TRUE(login.ok()) << login.status().ToString();
  EXPECT_FALSE(login->has_value());
}

TEST_F(DockerConfigTest, AuthsEntriesMatchWithOrWithoutScheme) {
  WriteConfig("{\"auths\": {\"https://a.test:5000/v2/\": {\"auth\": \"" +
              Base64Encode("ana:pa:ss") + "\"},\n"
              "\"b.test\": {\"username\": \"bo\", \"password\": \"pw\"}}}");

  auto a = Find("a.test:5000");
  auto b = Find("b.test");
  auto other = Find("a.test");

  ASSERT_TRUE(a.ok() && a->has_value()) << a.status().ToString();
  EXPECT_EQ((*a)->username, "ana");
  EXPECT_EQ((*a)->password, "pa:ss");
  ASSERT_TRUE(b.ok() && b->has_value()) << b.status().ToString();
  EXPECT_EQ((*b)->username, "bo");
  EXPECT_EQ((*b)->password, "pw");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());
}

// Found by a tester: every fault in the file was reported as "wants a
// user name and password".
TEST_F(DockerConfigTest, MalformedFilesNameTheLineAndField) {
  WriteConfig("{\"auths\": {\n  \"r.test\": {\"auth\": \"bm9jb2xvbg==\"}}}");
  Status no_colon = Find("r.test").status();
  EXPECT_EQ(no_colon.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(no_colon.message(),
            config_.string() + ":2:14: auths.\"r.test\".auth: is not "
            "base64 of \"user:password\"");

  WriteConfig("{\"auths\": {\"r.test\": {\"auth\": ");
  Status truncated = Find("r.test").status();
  EXPECT_EQ(truncated.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(truncated.message().rfind(config_.string() + ":1:", 0), 0u)
      << truncated.message();

  WriteConfig("{\n\"auths\": []}");
  EXPECT_EQ(Find("r.test").status().message(),
            config_.string() + ":2:1: auths: must be an object");

  WriteConfig("{\"auths\": {\"r.test\": {\"username\": \"u\"}}}");
  EXPECT_EQ(Find("r.test").status().code(), StatusCode::kInvalidArgument);
}

// Found by a tester: a helper that never answered hung the push for
// good, --timeout or not.
TEST_F(DockerConfigTest, AHelperThatHangsIsStopped) {
  WriteHelper("slow", "sleep 30\n");
  WriteConfig("{\"credsStore\": \"slow\"}");
  auto start = std::chrono::steady_clock::now();

  Status stopped = FindDockerLogin(config_, "r.test", 300).status();

  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  EXPECT_EQ(stopped.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(stopped.message().find("timed out"), std::string::npos)
      << stopped.message();
}

// Docker reads an empty helper name as none, and a top-level value that
// is not an object is named by its place.
TEST_F(DockerConfigTest, AnEmptyHelperNameIsNoHelper) {
  WriteConfig("{\"credHelpers\": {\"r.test\": \"\"}, \"auths\": "
              "{\"r.test\": {\"username\": \"u\", \"password\": "
              "\"p\"}}}");
  auto login = Find("r.test");
  ASSERT_TRUE(login.ok() && login->has_value()) << login.status().ToString();
  EXPECT_EQ((*login)->username, "u");

  WriteConfig("\n  []");
  EXPECT_EQ(Find("r.test").status().message(),
            config_.string() + ":2:3: must be a JSON object");
}

TEST_F(DockerConfigTest, IdentityTokensAreRefusedPlainly) {
  WriteConfig("{\"auths\": {\"r.test\": {\"identitytoken\": \"t\"}}}");
  Status refused = Find("r.test").status();
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.message().find("identity token"), std::string::npos);
}

TEST_F(DockerConfigTest, CredentialHelpersAreAskedWithTheHost) {
  // The helper answers only for the host it is asked about on stdin.
  WriteHelper("fake",
              "[ \"$1\" = get ] || exit 2\nread host\n"
              "if [ \"$host\" = r.test:5000 ]; then\n"
              "  echo '{\"ServerURL\":\"r.test:5000\",\"Username\":\"hu\","
              "\"Secret\":\"hs\"}'\nelse\n"
              "  echo 'credentials not found in native keychain'; exit 1\n"
              "fi\n");
  WriteConfig("{\"credHelpers\": {\"r.test:5000\": \"fake\"},"
              " \"credsStore\": \"fake\","
              " \"auths\": {\"r.test:5000\": {\"auth\": \"" +
              Base64Encode("file:login") + "\"}}}");

  auto helped = Find("r.test:5000");
  auto unknown = Find("s.test");

  ASSERT_TRUE(helped.ok() && helped->has_value())
      << helped.status().ToString();
  EXPECT_EQ((*helped)->username, "hu");
  EXPECT_EQ((*helped)->password, "hs");
  ASSERT_TRUE(unknown.ok()) << unknown.status().ToString();
  EXPECT_FALSE(unknown->has_value());
}

TEST_F(DockerConfigTest, AMissingOrFailingHelperIsNamed) {
  WriteConfig("{\"credsStore\": \"absent-helper\"}");
  Status missing = Find("r.test").status();
  EXPECT_EQ(missing.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(missing.message().find(
                "docker-credential-absent-helper (named in " +
                config_.string() + ") could not be run"),
            std::string::npos)
      << missing.message();

  WriteHelper("closed", "echo never\n");
  ::chmod((root_ / "docker-credential-closed").c_str(), 0644);
  WriteConfig("{\"credsStore\": \"closed\"}");
  EXPECT_NE(Find("r.test").status().message().find("or not executable"),
            std::string::npos);

  WriteHelper("broken", "echo 'not json'\n");
  WriteConfig("{\"credsStore\": \"broken\"}");
  Status broken = Find("r.test").status();
  EXPECT_EQ(broken.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(broken.message().find("without a string Username and Secret"),
            std::string::npos)
      << broken.message();
}

}  // namespace
}  // namespace lockstep::registry
