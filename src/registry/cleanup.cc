// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "registry/cleanup.h"

#include <algorithm>
#include <map>
#include <set>

#include "core/ascii.h"
#include "core/canonical_json.h"
#include "core/clock.h"
#include "core/json_keys.h"

namespace lockstep::registry {
namespace {

Result<std::vector<std::string>> Strings(const Json& object, const char* key,
                                         const std::string& where) {
  std::vector<std::string> out;
  auto found = object.find(key);
  if (found == object.end()) return out;
  if (!found->is_array()) {
    return Status::InvalidArgument(where + "." + key +
                                   ": want a list of strings");
  }
  for (const Json& item : *found) {
    if (!item.is_string()) {
      return Status::InvalidArgument(where + "." + key +
                                     ": want a list of strings");
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

Result<std::optional<int64_t>> Duration(const Json& object, const char* key,
                                        const std::string& where) {
  auto found = object.find(key);
  if (found == object.end()) return std::optional<int64_t>();
  if (!found->is_string()) {
    return Status::InvalidArgument(where + "." + key +
                                   ": want a duration such as \"30d\"");
  }
  Result<int64_t> millis = ParseDurationMillis(found->get<std::string>());
  if (!millis.ok()) {
    return Status::InvalidArgument(where + "." + key + ": " +
                                   millis.status().message());
  }
  return std::optional<int64_t>(*millis);
}

Result<PolicyCondition> ParseCondition(const Json& value,
                                       const std::string& where) {
  if (!value.is_object()) {
    return Status::InvalidArgument(where + ": want an object");
  }
  PolicyCondition condition;
  auto state = value.find("tagState");
  if (state != value.end()) {
    std::string text =
        state->is_string() ? AsciiLowercase(state->get<std::string>()) : "";
    if (text == "tagged") {
      condition.tag_state = TagState::kTagged;
    } else if (text == "untagged") {
      condition.tag_state = TagState::kUntagged;
    } else if (text == "any") {
      condition.tag_state = TagState::kAny;
    } else {
      return Status::InvalidArgument(
          where + ".tagState: want tagged, untagged or any");
    }
  }
  ASSIGN_OR_RETURN(condition.tag_prefixes,
                   Strings(value, "tagPrefixes", where));
  ASSIGN_OR_RETURN(condition.version_name_prefixes,
                   Strings(value, "versionNamePrefixes", where));
  ASSIGN_OR_RETURN(condition.package_name_prefixes,
                   Strings(value, "packageNamePrefixes", where));
  ASSIGN_OR_RETURN(condition.older_than_ms,
                   Duration(value, "olderThan", where));
  ASSIGN_OR_RETURN(condition.newer_than_ms,
                   Duration(value, "newerThan", where));
  return condition;
}

Result<CleanupPolicy> ParsePolicy(const Json& value,
                                  const std::string& where) {
  if (!value.is_object()) {
    return Status::InvalidArgument(where + ": want an object");
  }
  CleanupPolicy policy;
  auto name = value.find("name");
  if (name == value.end()) {
    return Status::InvalidArgument(where + ".name: missing");
  }
  if (!name->is_string() || name->get<std::string>().empty()) {
    return Status::InvalidArgument(where + ".name: want a non-empty string");
  }
  policy.name = name->get<std::string>();
  // Artifact Registry writes {"type": "Delete"}; a bare string is
  // accepted too.
  auto action = value.find("action");
  std::string type;
  if (action != value.end() && action->is_string()) {
    type = AsciiLowercase(action->get<std::string>());
  } else if (action != value.end() && action->is_object() &&
             action->contains("type") && (*action)["type"].is_string()) {
    type = AsciiLowercase((*action)["type"].get<std::string>());
  }
  if (type != "delete" && type != "keep") {
    return Status::InvalidArgument(where + ".action: want Delete or Keep");
  }
  policy.keep = type == "keep";

  auto condition = value.find("condition");
  auto recent = value.find("mostRecentVersions");
  if (condition == value.end() && recent == value.end()) {
    return Status::InvalidArgument(
        where + ": want a condition or mostRecentVersions");
  }
  if (condition != value.end() && recent != value.end()) {
    return Status::InvalidArgument(
        where + ".mostRecentVersions: want a condition or "
                "mostRecentVersions, not both");
  }
  if (condition != value.end()) {
    ASSIGN_OR_RETURN(policy.condition,
                     ParseCondition(*condition, where + ".condition"));
    return policy;
  }
  std::string at = where + ".mostRecentVersions";
  if (!policy.keep) {
    return Status::InvalidArgument(at + ": only a Keep policy keeps the "
                                         "most recent versions");
  }
  if (!recent->is_object()) {
    return Status::InvalidArgument(at + ": want an object");
  }
  ASSIGN_OR_RETURN(policy.recent_package_prefixes,
                   Strings(*recent, "packageNamePrefixes", at));
  auto count = recent->find("keepCount");
  if (count == recent->end() || !count->is_number_integer() ||
      count->get<int64_t>() < 0) {
    return Status::InvalidArgument(at + ".keepCount: want an integer >= 0");
  }
  policy.keep_count = count->get<int64_t>();
  return policy;
}

bool AnyPrefix(const std::vector<std::string>& prefixes,
               const std::string& text) {
  for (const std::string& prefix : prefixes) {
    if (text.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

// One tag reference, or one untagged manifest (tag empty).
struct Item {
  std::string tag;
  Digest digest;
  int64_t pushed_ms = 0;
};

bool Matches(const PolicyCondition& c, const std::string& repo,
             const Item& item, int64_t now_ms) {
  bool tagged = !item.tag.empty();
  if (c.tag_state == TagState::kTagged && !tagged) return false;
  if (c.tag_state == TagState::kUntagged && tagged) return false;
  if (!c.tag_prefixes.empty() &&
      (!tagged || !AnyPrefix(c.tag_prefixes, item.tag))) {
    return false;
  }
  if (!c.version_name_prefixes.empty() &&
      !AnyPrefix(c.version_name_prefixes, item.digest.ToString())) {
    return false;
  }
  if (!c.package_name_prefixes.empty() &&
      !AnyPrefix(c.package_name_prefixes, repo)) {
    return false;
  }
  int64_t age = now_ms - item.pushed_ms;
  if (c.older_than_ms && age <= *c.older_than_ms) return false;
  if (c.newer_than_ms && age >= *c.newer_than_ms) return false;
  return true;
}

// Everything about one repository that the plan needs.
struct RepoState {
  std::vector<ManifestRow> manifests;
  std::vector<TagRow> tags;
  std::map<Digest, std::vector<ManifestRef>> refs;
};

// The digests of the `keep_count` most recent versions. A version's push
// time is the latest of its manifest's and its tags' push times; equal
// times are ordered by digest, the lexically smaller counting as newer.
std::set<Digest> MostRecent(const RepoState& state, int64_t keep_count) {
  std::map<Digest, int64_t> latest;
  for (const ManifestRow& row : state.manifests) {
    latest[row.digest] = row.pushed_ms;
  }
  for (const TagRow& tag : state.tags) {
    latest[tag.digest] = std::max(latest[tag.digest], tag.pushed_ms);
  }
  std::vector<std::pair<int64_t, Digest>> order;
  for (const auto& [digest, when] : latest) order.push_back({when, digest});
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first > b.first;
    return a.second < b.second;
  });
  std::set<Digest> kept;
  for (size_t i = 0; i < order.size() && i < static_cast<size_t>(keep_count);
       ++i) {
    kept.insert(order[i].second);
  }
  return kept;
}

// Blobs that carry nothing of their own: the empty config every artifact
// shares ("{}", OCI's empty descriptor) and zero bytes. A run needing
// them (an output "{}") says nothing about a manifest that holds them.
bool IsContentFree(const Digest& digest) {
  static const Digest kEmptyJson = Sha256Of("{}");
  static const Digest kNoBytes = Sha256Of("");
  return digest == kEmptyJson || digest == kNoBytes;
}

// Why a retention root holds `digest` (directly or through what it
// references), as "reason (path)"; empty when nothing does.
std::string RootReason(const Digest& digest, const RepoState& state,
                       const std::map<Digest, std::string>& roots,
                       std::set<Digest>& visiting) {
  if (IsContentFree(digest)) return "";
  auto direct = roots.find(digest);
  if (direct != roots.end()) return direct->second;
  if (!visiting.insert(digest).second) return "";
  auto refs = state.refs.find(digest);
  if (refs == state.refs.end()) return "";
  for (const ManifestRef& ref : refs->second) {
    std::string below = RootReason(ref.digest, state, roots, visiting);
    if (below.empty()) continue;
    // A manifest reached through others already ends the path below.
    bool held_directly = roots.count(ref.digest) != 0;
    return below + (held_directly ? " <- " + ref.digest.Short() : "") +
           " <- " + digest.Short();
  }
  return "";
}

CleanupDecision Decide(const std::vector<CleanupPolicy>& policies,
                       const std::string& repo, const Item& item,
                       const std::map<std::string, std::set<Digest>>& recent,
                       const std::string& lineage, int64_t now_ms) {
  CleanupDecision decision{repo, item.tag, item.digest, false, "",
                           item.pushed_ms};
  if (!lineage.empty()) {
    decision.reason = "lineage: " + lineage;
    return decision;
  }
  const CleanupPolicy* deleting = nullptr;
  for (const CleanupPolicy& policy : policies) {
    bool match = false;
    if (policy.condition) {
      match = Matches(*policy.condition, repo, item, now_ms);
    } else {
      auto kept = recent.find(policy.name);
      match = kept != recent.end() && kept->second.count(item.digest) > 0;
    }
    if (!match) continue;
    if (policy.keep) {
      decision.reason = "policy " + policy.name + " (Keep)";
      return decision;
    }
    if (deleting == nullptr) deleting = &policy;
  }
  if (deleting != nullptr) {
    decision.remove = true;
    decision.reason = "policy " + deleting->name + " (Delete)";
  } else {
    decision.reason = "no policy matched";
  }
  return decision;
}

Result<RepoState> LoadRepo(Index& index, const std::string& repo) {
  RepoState state;
  ASSIGN_OR_RETURN(state.manifests, index.ManifestsOf(repo));
  ASSIGN_OR_RETURN(state.tags, index.TagsOf(repo));
  for (const ManifestRow& row : state.manifests) {
    ASSIGN_OR_RETURN(state.refs[row.digest], index.RefsOf(repo, row.digest));
  }
  return state;
}

Status PlanRepo(Index& index, const std::vector<CleanupPolicy>& policies,
                const std::map<Digest, std::string>& roots,
                const std::string& repo, int64_t now_ms, CleanupPlan* plan) {
  ASSIGN_OR_RETURN(RepoState state, LoadRepo(index, repo));
  std::map<std::string, std::set<Digest>> recent;
  for (const CleanupPolicy& policy : policies) {
    if (policy.keep_count &&
        (policy.recent_package_prefixes.empty() ||
         AnyPrefix(policy.recent_package_prefixes, repo))) {
      recent[policy.name] = MostRecent(state, *policy.keep_count);
    }
  }
  auto lineage = [&](const Digest& digest) {
    std::set<Digest> visiting;
    return RootReason(digest, state, roots, visiting);
  };

  // Tags first; a manifest survives when any of its tags does. Immutable
  // tags are never removed, by cleanup either.
  ASSIGN_OR_RETURN(bool immutable, index.TagsImmutable(repo));
  std::map<Digest, std::string> survivors;
  std::set<Digest> tagged;
  for (const TagRow& tag : state.tags) {
    Item item{tag.tag, tag.digest, tag.pushed_ms};
    CleanupDecision decision = Decide(policies, repo, item, recent,
                                      lineage(tag.digest), now_ms);
    if (immutable && decision.remove) {
      decision.remove = false;
      decision.reason = "tags in " + repo + " are immutable";
    }
    tagged.insert(tag.digest);
    if (!decision.remove) survivors.emplace(tag.digest, decision.reason);
    plan->decisions.push_back(std::move(decision));
  }
  std::map<Digest, CleanupDecision> manifest_decisions;
  for (const ManifestRow& row : state.manifests) {
    if (tagged.count(row.digest)) {
      if (!survivors.count(row.digest)) {
        manifest_decisions[row.digest] = {repo, "", row.digest, true,
                                          "all its tags are removed",
                                          row.pushed_ms};
      }
      continue;
    }
    Item item{"", row.digest, row.pushed_ms};
    CleanupDecision decision = Decide(policies, repo, item, recent,
                                      lineage(row.digest), now_ms);
    if (!decision.remove) survivors.emplace(row.digest, decision.reason);
    manifest_decisions[row.digest] = std::move(decision);
  }

  // What a surviving index lists, and the referrers of a surviving
  // manifest, survive too (until nothing changes).
  bool changed = true;
  while (changed) {
    changed = false;
    for (const ManifestRow& row : state.manifests) {
      if (survivors.count(row.digest)) continue;
      std::string why;
      for (const auto& [parent, unused] : survivors) {
        for (const ManifestRef& ref : state.refs[parent]) {
          if (ref.is_manifest && ref.digest == row.digest) {
            why = "listed by kept index " + parent.ToString();
          }
        }
      }
      if (why.empty() && !row.subject.empty()) {
        Result<Digest> subject = Digest::Parse(row.subject);
        if (subject.ok() && survivors.count(*subject)) {
          why = "referrer of kept " + row.subject;
        }
      }
      if (why.empty()) continue;
      survivors.emplace(row.digest, why);
      auto& decision = manifest_decisions[row.digest];
      decision.remove = false;
      decision.reason = why;
      changed = true;
    }
  }
  for (auto& [digest, decision] : manifest_decisions) {
    plan->decisions.push_back(std::move(decision));
  }
  return Status::Ok();
}

// RequireKnownKeys at every level of one policy. An ignored misspelling
// such as "tagstate" would drop a condition, and a Delete policy without
// conditions matches everything.
Status CheckPolicyKeys(const Json& policy, std::string_view text,
                       const std::string& source, size_t i) {
  std::string at = "/" + std::to_string(i);
  std::string where = "[" + std::to_string(i) + "]";
  RETURN_IF_ERROR(RequireKnownKeys(
      policy, text, source, at, where,
      {"name", "action", "condition", "mostRecentVersions"}));
  if (!policy.is_object()) return Status::Ok();
  if (auto action = policy.find("action"); action != policy.end()) {
    RETURN_IF_ERROR(RequireKnownKeys(*action, text, source, at + "/action",
                                     where + ".action", {"type"}));
  }
  if (auto found = policy.find("condition"); found != policy.end()) {
    RETURN_IF_ERROR(RequireKnownKeys(
        *found, text, source, at + "/condition", where + ".condition",
        {"tagState", "tagPrefixes", "versionNamePrefixes",
         "packageNamePrefixes", "olderThan", "newerThan"}));
  }
  if (auto found = policy.find("mostRecentVersions");
      found != policy.end()) {
    RETURN_IF_ERROR(RequireKnownKeys(
        *found, text, source, at + "/mostRecentVersions",
        where + ".mostRecentVersions", {"packageNamePrefixes", "keepCount"}));
  }
  return Status::Ok();
}

}  // namespace

namespace {

Result<std::vector<CleanupPolicy>> ParsePoliciesUnlocated(
    std::string_view text, const std::string& source) {
  ASSIGN_OR_RETURN(Json root, ParseJsonWithUniqueKeys(text, source));
  if (!root.is_array()) {
    // No field to name: the top-level value itself is shown.
    return Status::InvalidArgument(source + ":" +
                                   JsonValueLocation(text, "") +
                                   ": want a list of policies at the top "
                                   "level");
  }
  std::vector<CleanupPolicy> policies;
  for (size_t i = 0; i < root.size(); ++i) {
    RETURN_IF_ERROR(CheckPolicyKeys(root[i], text, source, i));
  }
  std::set<std::string> names;
  for (size_t i = 0; i < root.size(); ++i) {
    std::string where = source + ": [" + std::to_string(i) + "]";
    ASSIGN_OR_RETURN(CleanupPolicy policy, ParsePolicy(root[i], where));
    if (!names.insert(policy.name).second) {
      return Status::InvalidArgument(where + ".name: " + policy.name +
                                     " is used twice");
    }
    policies.push_back(std::move(policy));
  }
  return policies;
}

}  // namespace

Result<std::vector<CleanupPolicy>> ParsePolicies(std::string_view text,
                                                 const std::string& source) {
  // Checks name fields by path; their line is found in the text after.
  Result<std::vector<CleanupPolicy>> policies =
      ParsePoliciesUnlocated(text, source);
  if (!policies.ok()) return LocateJsonError(policies.status(), text, source);
  return policies;
}

Result<CleanupPlan> PlanCleanup(Index& index,
                                const std::vector<CleanupPolicy>& policies,
                                RetentionRoots& roots,
                                const std::string& repository,
                                int64_t now_ms) {
  ASSIGN_OR_RETURN(std::vector<KeptBlob> kept, roots.Roots());
  std::map<Digest, std::string> root_reasons;
  for (const KeptBlob& blob : kept) {
    root_reasons.emplace(blob.digest, blob.reason);
  }
  std::vector<std::string> repos;
  if (repository.empty()) {
    ASSIGN_OR_RETURN(repos, index.Repositories());
  } else {
    // A misspelt name would otherwise look like "nothing to clean".
    ASSIGN_OR_RETURN(bool exists, index.RepositoryExists(repository));
    if (!exists) {
      return Status::NotFound("repository " + repository +
                              " does not exist in this registry");
    }
    repos.push_back(repository);
  }
  CleanupPlan plan;
  for (const std::string& repo : repos) {
    RETURN_IF_ERROR(
        PlanRepo(index, policies, root_reasons, repo, now_ms, &plan));
  }
  return plan;
}

namespace {

// Removes the tag as planned: one pushed again since (found by a tester,
// mid-cleanup) is judged by the next cleanup.
Status RemovePlannedTag(Index& index, const CleanupDecision& decision) {
  ASSIGN_OR_RETURN(std::optional<TagRow> now,
                   index.FindTag(decision.repository, decision.tag));
  if (now && now->digest == decision.digest &&
      now->pushed_ms == decision.pushed_ms) {
    RETURN_IF_ERROR(index.DeleteTag(decision.repository, decision.tag));
  }
  return Status::Ok();
}

using RepoDigest = std::pair<std::string, Digest>;

// Whether the planned removal of a manifest still stands: the registry
// served pushes while the plan was made, and a tag (among `tagged`, what
// the repository's tags point at now) or a fresh push of the same
// manifest since then holds it.
Result<bool> StillUnheld(Index& index, const CleanupDecision& decision,
                         const std::set<Digest>& tagged) {
  ASSIGN_OR_RETURN(std::optional<ManifestRow> row,
                   index.FindManifest(decision.repository, decision.digest));
  if (!row || row->pushed_ms != decision.pushed_ms) return false;
  return tagged.count(decision.digest) == 0;
}

// Drops from `doomed` every manifest an index outside it lists (one
// pushed since the plan, or one whose own removal no longer stands),
// until none is left to drop.
Status SpareListedManifests(Index& index, std::set<RepoDigest>* doomed) {
  bool changed = true;
  while (changed) {
    changed = false;
    for (auto it = doomed->begin(); it != doomed->end();) {
      ASSIGN_OR_RETURN(std::vector<Digest> parents,
                       index.ListedBy(it->first, it->second));
      bool listed = std::any_of(
          parents.begin(), parents.end(), [&](const Digest& parent) {
            return doomed->count({it->first, parent}) == 0;
          });
      if (listed) {
        it = doomed->erase(it);
        changed = true;
      } else {
        ++it;
      }
    }
  }
  return Status::Ok();
}

}  // namespace

Status ApplyCleanup(Index& index, const CleanupPlan& plan) {
  return index.InWriteTransaction([&]() -> Status {
    // Tags first: a manifest is judged against the tags left after them.
    for (const CleanupDecision& decision : plan.decisions) {
      if (decision.remove && !decision.tag.empty()) {
        RETURN_IF_ERROR(RemovePlannedTag(index, decision));
      }
    }
    std::map<std::string, std::set<Digest>> tagged;  // Read once a repo.
    std::set<RepoDigest> doomed;
    for (const CleanupDecision& decision : plan.decisions) {
      if (!decision.remove || !decision.tag.empty()) continue;
      if (!tagged.count(decision.repository)) {
        ASSIGN_OR_RETURN(std::vector<TagRow> tags,
                         index.TagsOf(decision.repository));
        std::set<Digest>& digests = tagged[decision.repository];
        for (const TagRow& tag : tags) digests.insert(tag.digest);
      }
      ASSIGN_OR_RETURN(bool unheld,
                       StillUnheld(index, decision,
                                   tagged.at(decision.repository)));
      if (unheld) doomed.insert({decision.repository, decision.digest});
    }
    RETURN_IF_ERROR(SpareListedManifests(index, &doomed));
    for (const auto& [repo, digest] : doomed) {
      RETURN_IF_ERROR(index.DeleteManifest(repo, digest));
    }
    return Status::Ok();
  });
}

}  // namespace lockstep::registry
