// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Cleanup policies in Artifact Registry's JSON shape, evaluated over the
// registry's tags and manifests. A policy file is a list of named
// policies; each has an action (Delete or Keep) and either a `condition`
// (tagState, tagPrefixes, versionNamePrefixes, packageNamePrefixes,
// olderThan, newerThan) or `mostRecentVersions` (packageNamePrefixes,
// keepCount). A "package" is a repository, a "version" is a manifest
// digest.
//
// Decisions are made per item: every tag reference, and every untagged
// manifest. Keep beats Delete. Deleting a tag removes that reference
// only; a manifest goes when it is untagged (or loses all its tags in
// this run) and nothing holds it: no kept item, no kept index that lists
// it, no kept manifest it is a referrer of, no retention root (a kept
// run) that needs it or one of its blobs. See docs/registry.md.

#ifndef LOCKSTEP_REGISTRY_CLEANUP_H_
#define LOCKSTEP_REGISTRY_CLEANUP_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "registry/index.h"
#include "registry/retention.h"

namespace lockstep::registry {

enum class TagState { kAny, kTagged, kUntagged };

struct PolicyCondition {
  TagState tag_state = TagState::kAny;
  std::vector<std::string> tag_prefixes;
  std::vector<std::string> version_name_prefixes;
  std::vector<std::string> package_name_prefixes;
  std::optional<int64_t> older_than_ms;
  std::optional<int64_t> newer_than_ms;
};

struct CleanupPolicy {
  std::string name;
  bool keep = false;  // action Keep (else Delete)
  std::optional<PolicyCondition> condition;
  // mostRecentVersions
  std::optional<int64_t> keep_count;
  std::vector<std::string> recent_package_prefixes;
};

// Parses the policy list. `source` names the file in errors, which say
// the policy index and field: "p.json: [1].condition.tagState: ...".
Result<std::vector<CleanupPolicy>> ParsePolicies(std::string_view text,
                                                 const std::string& source);

// One decision: a tag (tag non-empty) or a manifest (tag empty).
struct CleanupDecision {
  std::string repository;
  std::string tag;
  Digest digest;
  bool remove = false;
  std::string reason;  // the policy, or the path that kept it
  // When the tag (or the manifest) was pushed, as planned: a tag pushed
  // again while the plan is applied is newer than the plan and stays.
  int64_t pushed_ms = 0;
};

struct CleanupPlan {
  std::vector<CleanupDecision> decisions;  // tags, then manifests
};

// Decides, for `repository` (all when empty), at time `now_ms`.
Result<CleanupPlan> PlanCleanup(Index& index,
                                const std::vector<CleanupPolicy>& policies,
                                RetentionRoots& roots,
                                const std::string& repository,
                                int64_t now_ms);

// Carries out the plan's removals (tags, then manifests).
Status ApplyCleanup(Index& index, const CleanupPlan& plan);

}  // namespace lockstep::registry

#endif  // LOCKSTEP_REGISTRY_CLEANUP_H_
