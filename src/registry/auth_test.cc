// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "registry/auth.h"

#include <gtest/gtest.h>

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
  auto auth = Authenticator::FromText(kUsers, "", "users");
  ASSERT_TRUE(auth.ok()) << auth.status().ToString();
  EXPECT_EQ(auth->CheckBasic(kAnaRight), "ana");
  EXPECT_EQ(auth->CheckBasic(kBob), "bob");
  EXPECT_FALSE(auth->CheckBasic(kAnaWrong).has_value());
  EXPECT_FALSE(auth->CheckBasic("Basic !!!!").has_value());
  EXPECT_FALSE(auth->CheckBasic("Bearer abc").has_value());
}

TEST(AuthenticatorTest, RefusesNonBcryptEntries) {
  auto auth = Authenticator::FromText("eve:{SHA}abc\n", "", "users");
  ASSERT_FALSE(auth.ok());
  EXPECT_EQ(auth.status().message(),
            "users line 1: only bcrypt entries (htpasswd -B) are accepted");
}

TEST(AuthenticatorTest, PerRepositoryRules) {
  auto auth = Authenticator::FromText(kUsers, R"({
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
      kUsers, R"({"rules": [{"repository": "a", "read": "ana"}]})",
      "rules.json");
  ASSERT_FALSE(auth.ok());
  EXPECT_EQ(auth.status().message(),
            "rules.json: rules[0].read: not a list of strings");
}

}  // namespace
}  // namespace lockstep::registry
