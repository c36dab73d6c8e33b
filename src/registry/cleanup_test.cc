// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "registry/cleanup.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "core/files.h"
#include "registry/oci.h"

namespace lockstep::registry {
namespace {

constexpr int64_t kDay = 24 * 60 * 60 * 1000;
constexpr int64_t kNow = 1'800'000'000'000;

Digest D(const std::string& name) { return Sha256Of(name); }

class CleanupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = *MakeTempDirectory(fs::temp_directory_path(), "cleanup-");
    index_ = std::move(*Index::Open(root_ / "index.db"));
  }
  void TearDown() override {
    index_.reset();
    RemoveAllQuietly(root_);
  }

  // A manifest pushed `age_days` ago, with optional children.
  void Manifest(const std::string& name, double age_days,
                std::vector<ManifestRef> refs = {},
                const std::string& subject = "") {
    ManifestRow row{"app", D(name), std::string(kOciManifest), 100, "",
                    subject, "",
                    kNow - static_cast<int64_t>(age_days * kDay)};
    ASSERT_TRUE(index_->PutManifest(row, refs).ok());
  }
  void Tag(const std::string& tag, const std::string& name, double age_days) {
    ASSERT_TRUE(index_->SetTag({"app", tag, D(name),
        kNow - static_cast<int64_t>(age_days * kDay)}).ok());
  }

  CleanupPlan Plan(const std::string& policy_json,
                   RetentionRoots* roots = nullptr) {
    auto policies = ParsePolicies(policy_json, "policy.json");
    EXPECT_TRUE(policies.ok()) << policies.status().ToString();
    NoRetentionRoots none;
    auto plan = PlanCleanup(*index_, *policies, roots ? *roots : none, "",
                            kNow);
    EXPECT_TRUE(plan.ok()) << plan.status().ToString();
    return *plan;
  }

  // "tag:remove/keep" or "name:remove/keep" lines, in plan order.
  std::vector<std::string> Summary(const CleanupPlan& plan) {
    std::vector<std::string> lines;
    for (const CleanupDecision& d : plan.decisions) {
      std::string what = d.tag;
      if (what.empty()) {
        for (const char* name : {"a", "b", "c", "d", "index", "sig"}) {
          if (D(name) == d.digest) what = std::string("@") + name;
        }
      }
      lines.push_back(what + ":" + (d.remove ? "remove" : "keep"));
    }
    return lines;
  }

  fs::path root_;
  std::unique_ptr<Index> index_;
};

TEST_F(CleanupTest, ParseErrorsNameTheField) {
  auto bad_state = ParsePolicies(
      R"([{"name":"x","action":{"type":"Delete"},"condition":{}},
          {"name":"y","action":"Delete","condition":{"tagState":"dirty"}}])",
      "p.json");
  ASSERT_FALSE(bad_state.ok());
  EXPECT_EQ(bad_state.status().message(),
            "p.json:2:54: [1].condition.tagState: want tagged, untagged or "
            "any");
  auto bad_count = ParsePolicies(
      R"([{"name":"k","action":"Keep","mostRecentVersions":{}}])", "p.json");
  EXPECT_EQ(bad_count.status().message(),
            "p.json:1:30: [0].mostRecentVersions.keepCount: want an "
            "integer >= 0");
  auto bad_age = ParsePolicies(
      R"([{"name":"o","action":"Delete","condition":{"olderThan":"soon"}}])",
      "p.json");
  EXPECT_EQ(bad_age.status().message(),
            "p.json:1:45: [0].condition.olderThan: 'soon' is not a "
            "duration: want a whole number and a unit, ms, s, m, h, d or w "
            "(30s, 12h, 365d)");
  // Twenty 9s of days wrapped int64 and deleted every tag.
  auto huge_age = ParsePolicies(
      R"([{"name":"o","action":"Delete",)"
      R"("condition":{"olderThan":"99999999999999999999d"}}])",
      "p.json");
  EXPECT_EQ(huge_age.status().message(),
            "p.json:1:45: [0].condition.olderThan: duration "
            "'99999999999999999999d' is too long: at most 1000000d (about "
            "2,700 years)");
  EXPECT_FALSE(ParsePolicies("{}", "p.json").ok());
}

// Found by a tester: "tagstate" (lower-case s) was ignored, so the
// Delete policy had no condition left and deleted every tag.
TEST_F(CleanupTest, UnknownKeysAreRefusedWhereTheyAre) {
  auto misspelt = ParsePolicies(
      "[{\"name\":\"drop-untagged\",\"action\":{\"type\":\"Delete\"},\n"
      "  \"condition\":{\"tagstate\":\"untagged\"}}]",
      "p.json");
  ASSERT_FALSE(misspelt.ok());
  EXPECT_EQ(misspelt.status().message(),
            "p.json:2:16: unknown key \"tagstate\" in [0].condition "
            "(known: tagState, tagPrefixes, versionNamePrefixes, "
            "packageNamePrefixes, olderThan, newerThan)");
  auto prefix = ParsePolicies(
      R"([{"name":"d","action":"Delete","condition":{"tagPrefix":["dev-"]}}])",
      "p.json");
  EXPECT_EQ(prefix.status().message(),
            "p.json:1:45: unknown key \"tagPrefix\" in [0].condition "
            "(known: tagState, tagPrefixes, versionNamePrefixes, "
            "packageNamePrefixes, olderThan, newerThan)");
  auto top = ParsePolicies(
      R"([{"name":"k","action":"Keep","condition":{}},)"
      R"( {"name":"d","action":"Delete","conditions":{}}])",
      "p.json");
  EXPECT_EQ(top.status().message(),
            "p.json:1:77: unknown key \"conditions\" in [1] (known: name, "
            "action, condition, mostRecentVersions)");
  auto action = ParsePolicies(
      R"([{"name":"d","action":{"type":"Keep","kind":"Delete"},)"
      R"("condition":{}}])",
      "p.json");
  EXPECT_EQ(action.status().message(),
            "p.json:1:38: unknown key \"kind\" in [0].action (known: type)");
  auto recent = ParsePolicies(
      R"([{"name":"k","action":"Keep",)"
      R"("mostRecentVersions":{"keepcount":5}}])",
      "p.json");
  EXPECT_EQ(recent.status().message(),
            "p.json:1:52: unknown key \"keepcount\" in "
            "[0].mostRecentVersions (known: packageNamePrefixes, keepCount)");
}

// Found by a tester: these gave no line:column, though exit-codes.md
// promises one for a fault in a file, and a name given as a number was
// called "missing". Lines and columns counted by hand.
TEST_F(CleanupTest, ShapeErrorsPointAtTheirPolicy) {
  auto message = [](const std::string& text) {
    return ParsePolicies(text, "p.json").status().message();
  };
  EXPECT_EQ(message("[\n {\"action\": \"Delete\",\n  \"condition\": {}}]\n"),
            "p.json:2:2: [0].name: missing");
  EXPECT_EQ(message("[\n {\"name\": 5, \"action\": \"Delete\", "
                    "\"condition\": {}}]\n"),
            "p.json:2:3: [0].name: want a non-empty string");
  EXPECT_EQ(message("[\n {\"name\": \"\", \"action\": \"Delete\", "
                    "\"condition\": {}}]\n"),
            "p.json:2:3: [0].name: want a non-empty string");
  EXPECT_EQ(message("[\n {\"name\": \"a\", \"action\": \"Delete\"}]\n"),
            "p.json:2:2: [0]: want a condition or mostRecentVersions");
  EXPECT_EQ(message("[\n {\"name\": \"a\", \"action\": \"Keep\",\n"
                    "  \"condition\": {}, \"mostRecentVersions\": "
                    "{\"keepCount\": 3}}]\n"),
            "p.json:3:20: [0].mostRecentVersions: want a condition or "
            "mostRecentVersions, not both");
  EXPECT_EQ(message("[\n {\"name\": \"a\", \"action\": \"Keep\", "
                    "\"condition\": {}},\n 5]\n"),
            "p.json:3:2: [1]: want an object");
  EXPECT_EQ(message("\n  {\"name\": \"a\"}\n"),
            "p.json:2:3: want a list of policies at the top level");
}

// Found by a tester: --repository no-such-repo printed nothing, exit 0.
TEST_F(CleanupTest, AnUnknownRepositoryIsNotFound) {
  Manifest("a", 10);
  auto policies = ParsePolicies(
      R"([{"name":"d","action":"Delete","condition":{"tagState":"any"}}])",
      "p.json");
  NoRetentionRoots none;
  auto plan = PlanCleanup(*index_, *policies, none, "no-such-repo", kNow);
  ASSERT_FALSE(plan.ok());
  EXPECT_TRUE(plan.status().IsNotFound());
  EXPECT_EQ(plan.status().message(),
            "repository no-such-repo does not exist in this registry");
  EXPECT_TRUE(PlanCleanup(*index_, *policies, none, "app", kNow).ok());
}

TEST_F(CleanupTest, TagsSharingADigestAreListedOneByOne) {
  Manifest("a", 10);
  Tag("dev-1", "a", 10);
  Tag("dev-2", "a", 9);
  Tag("release-1", "a", 8);
  CleanupPlan plan = Plan(R"([{"name":"drop-dev","action":"Delete",
      "condition":{"tagState":"tagged","tagPrefixes":["dev-"]}}])");
  // Three tag lines; the digest survives through release-1 and gets no
  // line of its own.
  EXPECT_EQ(Summary(plan), (std::vector<std::string>{
                               "dev-1:remove", "dev-2:remove",
                               "release-1:keep"}));
  EXPECT_EQ(plan.decisions[0].reason, "policy drop-dev (Delete)");
  EXPECT_EQ(plan.decisions[2].reason, "no policy matched");

  ASSERT_TRUE(ApplyCleanup(*index_, plan).ok());
  auto tags = *index_->TagsOf("app");
  ASSERT_EQ(tags.size(), 1u);
  EXPECT_EQ(tags[0].tag, "release-1");
  EXPECT_TRUE(index_->FindManifest("app", D("a"))->has_value());
}

TEST_F(CleanupTest, ManifestGoesWhenAllItsTagsGo) {
  Manifest("a", 10);
  Tag("dev-1", "a", 10);
  Tag("dev-2", "a", 9);
  CleanupPlan plan = Plan(R"([{"name":"drop-dev","action":"Delete",
      "condition":{"tagPrefixes":["dev-"]}}])");
  EXPECT_EQ(Summary(plan), (std::vector<std::string>{
                               "dev-1:remove", "dev-2:remove", "@a:remove"}));
  ASSERT_TRUE(ApplyCleanup(*index_, plan).ok());
  EXPECT_FALSE(index_->FindManifest("app", D("a"))->has_value());
}

// Found by a tester: a tag pushed again (to a new manifest, or the same
// one) between planning and applying was deleted by the old plan.
TEST_F(CleanupTest, ATagPushedAgainAfterThePlanStays) {
  Manifest("a", 10);
  Manifest("b", 0);
  Tag("dev-1", "a", 10);
  Tag("dev-2", "a", 10);
  Tag("dev-3", "a", 10);
  CleanupPlan plan = Plan(R"([{"name":"drop-dev","action":"Delete",
      "condition":{"tagPrefixes":["dev-"],"olderThan":"1d"}}])");
  EXPECT_EQ(Summary(plan),
            (std::vector<std::string>{"dev-1:remove", "dev-2:remove",
                                      "dev-3:remove", "@b:keep",
                                      "@a:remove"}));
  Tag("dev-1", "b", 0);  // Moved to a new manifest.
  Tag("dev-2", "a", 0);  // The same manifest, pushed again.
  ASSERT_TRUE(ApplyCleanup(*index_, plan).ok());
  std::vector<std::string> left;
  // Held first: a range-for over *TagsOf() would outlive its Result.
  Result<std::vector<TagRow>> tags = index_->TagsOf("app");
  ASSERT_TRUE(tags.ok());
  for (const TagRow& tag : *tags) {
    left.push_back(tag.tag + "=" + (tag.digest == D("b") ? "b" : "a"));
  }
  EXPECT_EQ(left, (std::vector<std::string>{"dev-1=b", "dev-2=a"}));
  // dev-2 still holds a, so a stays too.
  EXPECT_TRUE(index_->FindManifest("app", D("a"))->has_value());
}

// Found by a tester: an index pushed (and accepted) between planning and
// applying listed a planned manifest, and cleanup deleted the manifest
// all the same, leaving the index with a missing child.
TEST_F(CleanupTest, AManifestListedSinceThePlanStays) {
  Manifest("a", 10);
  Manifest("b", 10);
  Manifest("c", 10);
  Manifest("d", 10);
  Manifest("index", 10, {{D("d"), true}});  // Goes with its child d.
  CleanupPlan plan = Plan(R"([{"name":"untagged","action":"Delete",
      "condition":{"tagState":"untagged"}}])");
  std::vector<std::string> planned = Summary(plan);
  std::sort(planned.begin(), planned.end());
  EXPECT_EQ(planned,
            (std::vector<std::string>{"@a:remove", "@b:remove", "@c:remove",
                                      "@d:remove", "@index:remove"}));
  Manifest("new index", 0, {{D("a"), true}});
  Tag("latest", "new index", 0);
  Manifest("b", 0);  // Pushed again.

  ASSERT_TRUE(ApplyCleanup(*index_, plan).ok());

  EXPECT_TRUE(index_->FindManifest("app", D("a"))->has_value());
  EXPECT_TRUE(index_->FindManifest("app", D("b"))->has_value());
  EXPECT_FALSE(index_->FindManifest("app", D("c"))->has_value());
  EXPECT_FALSE(index_->FindManifest("app", D("d"))->has_value());
  EXPECT_FALSE(index_->FindManifest("app", D("index"))->has_value());
}

TEST_F(CleanupTest, KeepMostRecentBeatsDeleteUntagged) {
  Manifest("a", 30);
  Manifest("b", 20);
  Manifest("c", 10);
  Manifest("d", 1);
  const char* delete_untagged = R"([{"name":"untagged","action":"Delete",
      "condition":{"tagState":"untagged"}}])";
  // Alone, the delete-untagged policy takes all four.
  std::vector<std::string> alone = Summary(Plan(delete_untagged));
  std::sort(alone.begin(), alone.end());
  EXPECT_EQ(alone, (std::vector<std::string>{"@a:remove", "@b:remove",
                                             "@c:remove", "@d:remove"}));
  CleanupPlan plan = Plan(R"([
      {"name":"untagged","action":"Delete","condition":{"tagState":"untagged"}},
      {"name":"recent","action":"Keep",
       "mostRecentVersions":{"keepCount":2}}])");
  std::map<std::string, std::string> by_name;
  for (const CleanupDecision& d : plan.decisions) {
    for (const char* name : {"a", "b", "c", "d"}) {
      if (D(name) == d.digest) by_name[name] = d.reason;
    }
  }
  EXPECT_EQ(by_name["a"], "policy untagged (Delete)");
  EXPECT_EQ(by_name["b"], "policy untagged (Delete)");
  EXPECT_EQ(by_name["c"], "policy recent (Keep)");
  EXPECT_EQ(by_name["d"], "policy recent (Keep)");
}

TEST_F(CleanupTest, EqualPushTimesAreBrokenByDigest) {
  Manifest("a", 5);
  Manifest("b", 5);
  CleanupPlan plan = Plan(R"([
      {"name":"all","action":"Delete","condition":{"tagState":"any"}},
      {"name":"one","action":"Keep","mostRecentVersions":{"keepCount":1}}])");
  // The lexically smaller digest counts as the more recent.
  Digest newer = std::min(D("a"), D("b"));
  for (const CleanupDecision& d : plan.decisions) {
    EXPECT_EQ(d.remove, d.digest != newer) << d.digest.ToString();
  }
}

TEST_F(CleanupTest, AgeConditions) {
  Manifest("a", 40);
  Manifest("b", 5);
  CleanupPlan plan = Plan(R"([{"name":"old","action":"Delete",
      "condition":{"olderThan":"30d"}}])");
  for (const CleanupDecision& d : plan.decisions) {
    EXPECT_EQ(d.remove, d.digest == D("a"));
  }
  plan = Plan(R"([{"name":"new","action":"Delete",
      "condition":{"newerThan":"7d"}}])");
  for (const CleanupDecision& d : plan.decisions) {
    EXPECT_EQ(d.remove, d.digest == D("b"));
  }
}

TEST_F(CleanupTest, KeptIndexHoldsChildrenAndReferrers) {
  Manifest("a", 10);
  Manifest("b", 10);
  Manifest("index", 10, {{D("a"), true}, {D("b"), true}});
  Manifest("sig", 10, {}, D("index").ToString());
  Manifest("c", 10);
  Tag("latest", "index", 10);
  CleanupPlan plan = Plan(R"([{"name":"untagged","action":"Delete",
      "condition":{"tagState":"untagged"}}])");
  for (const CleanupDecision& d : plan.decisions) {
    if (d.digest == D("a") || d.digest == D("b")) {
      EXPECT_FALSE(d.remove);
      EXPECT_EQ(d.reason, "listed by kept index " + D("index").ToString());
    } else if (d.digest == D("sig")) {
      EXPECT_FALSE(d.remove);
      EXPECT_EQ(d.reason, "referrer of kept " + D("index").ToString());
    } else if (d.digest == D("c")) {
      EXPECT_TRUE(d.remove);
    }
  }
}

TEST_F(CleanupTest, LineageKeepsWhatAKeptRunNeeds) {
  Manifest("a", 10, {{D("model layer"), false}});
  Manifest("b", 10);
  FixedRetentionRoots roots({{D("model layer"), "run train-7 needs it"}});
  CleanupPlan plan = Plan(R"([{"name":"untagged","action":"Delete",
      "condition":{"tagState":"untagged"}}])", &roots);
  for (const CleanupDecision& d : plan.decisions) {
    if (d.digest == D("a")) {
      EXPECT_FALSE(d.remove);
      EXPECT_EQ(d.reason.rfind("lineage: run train-7 needs it", 0), 0u)
          << d.reason;
    } else {
      EXPECT_TRUE(d.remove);
    }
  }
}

// Found by a tester: a run whose output was "{}" kept every artifact in
// every repository (they share the empty config), and a path through an
// index named each manifest twice.
TEST_F(CleanupTest, LineageIgnoresTheEmptyConfigAndNamesEachStepOnce) {
  Digest empty = Sha256Of("{}");
  Manifest("a", 10, {{empty, false}, {D("model layer"), false}});
  Manifest("index", 10, {{D("a"), true}});
  Manifest("b", 10, {{empty, false}, {D("other layer"), false}});
  FixedRetentionRoots roots({{D("model layer"), "run train-7 needs it"},
                             {empty, "run metrics-1 needs it"}});
  CleanupPlan plan = Plan(R"([{"name":"untagged","action":"Delete",
      "condition":{"tagState":"untagged"}}])", &roots);
  std::map<Digest, CleanupDecision> decisions;
  for (const CleanupDecision& d : plan.decisions) decisions[d.digest] = d;
  EXPECT_TRUE(decisions[D("b")].remove) << decisions[D("b")].reason;
  EXPECT_FALSE(decisions[D("index")].remove);
  EXPECT_EQ(decisions[D("index")].reason,
            "lineage: run train-7 needs it <- " + D("model layer").Short() +
                " <- " + D("a").Short() + " <- " + D("index").Short());
}

TEST_F(CleanupTest, ImmutableTagsSurviveCleanup) {
  Manifest("a", 10);
  Tag("dev-1", "a", 10);
  ASSERT_TRUE(index_->SetTagsImmutable("app", true).ok());
  CleanupPlan plan = Plan(R"([{"name":"dev","action":"Delete",
      "condition":{"tagPrefixes":["dev-"]}}])");
  ASSERT_EQ(plan.decisions.size(), 1u);
  EXPECT_FALSE(plan.decisions[0].remove);
  EXPECT_EQ(plan.decisions[0].reason, "tags in app are immutable");
}

}  // namespace
}  // namespace lockstep::registry
