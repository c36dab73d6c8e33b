// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "metadata/compare.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/canonical_json.h"
#include "core/utf8.h"
#include "store/tar.h"

namespace lockstep::metadata {

namespace {

void CollectMetricChanges(const std::string& prefix, const Json& before,
                          const Json& after, Json* changes) {
  if (before.is_object() && after.is_object()) {
    for (const auto& [key, value] : before.items()) {
      std::string path = prefix.empty() ? key : prefix + "." + key;
      CollectMetricChanges(path, value,
                           after.contains(key) ? after[key] : Json(), changes);
    }
    for (const auto& [key, value] : after.items()) {
      if (!before.contains(key)) {
        std::string path = prefix.empty() ? key : prefix + "." + key;
        changes->push_back({{"key", path}, {"old", nullptr}, {"new", value}});
      }
    }
    return;
  }
  if (before == after) {
    return;
  }
  Json change = {{"key", prefix}, {"old", before}, {"new", after}};
  if (before.is_number() && after.is_number()) {
    change["delta"] = after.get<double>() - before.get<double>();
  }
  changes->push_back(change);
}

// What Python's json.dumps writes for the numbers JSON has no word for.
constexpr std::string_view kNonFiniteTokens[] = {"NaN", "Infinity",
                                                 "-Infinity"};

// The non-finite token Python writes at text[i], or empty.
std::string_view NonFiniteTokenAt(std::string_view text, size_t i) {
  for (std::string_view token : kNonFiniteTokens) {
    if (text.substr(i, token.size()) != token) continue;
    size_t end = i + token.size();
    // A token, not the start of a longer word such as NaNa.
    if (end == text.size() || std::string_view(",]} \t\r\n").find(
                                  text[end]) != std::string_view::npos) {
      return token;
    }
  }
  return {};
}

// The Metrics documents of both sides, or null when either is unreadable.
Json MetricChanges(const store::BlobStore& blobs, const std::string& before,
                   const Digest& after) {
  Result<Digest> expected = Digest::Parse(before);
  if (!expected.ok()) {
    return nullptr;
  }
  Result<std::string> old_bytes = blobs.ReadVerified(*expected);
  Result<std::string> new_bytes = blobs.ReadVerified(after);
  if (!old_bytes.ok() || !new_bytes.ok()) {
    return nullptr;
  }
  Json old_metrics = ParseMetrics(*old_bytes);
  Json new_metrics = ParseMetrics(*new_bytes);
  if (old_metrics.is_discarded() || new_metrics.is_discarded()) {
    return nullptr;
  }
  return CompareMetrics(old_metrics, new_metrics);
}

}  // namespace

bool IsMetricsType(std::string_view type) {
  return type == "Metrics" || type == "ClassificationMetrics";
}

Json ParseMetrics(std::string_view text) {
  std::string quoted;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      quoted += c;
      if (c == '\\' && i + 1 < text.size()) {
        quoted += text[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    std::string_view token = NonFiniteTokenAt(text, i);
    if (!token.empty()) {
      quoted += '"' + std::string(token) + '"';
      i += token.size() - 1;
      continue;
    }
    in_string = c == '"';
    quoted += c;
  }
  return ParseJsonOrDiscarded(quoted);
}

bool IsNonFiniteMetric(const Json& value) {
  if (!value.is_string()) return false;
  const std::string& text = value.get_ref<const std::string&>();
  return std::find(std::begin(kNonFiniteTokens), std::end(kNonFiniteTokens),
                   text) != std::end(kNonFiniteTokens);
}

Json CompareMetrics(const Json& before, const Json& after,
                    const std::string& prefix) {
  Json changes = Json::array();
  CollectMetricChanges(prefix, before, after, &changes);
  return changes;
}

bool WithinTolerance(const Json& changes, double tolerance) {
  for (const Json& change : changes) {
    if (!change.contains("delta") ||
        std::fabs(change["delta"].get<double>()) > tolerance) {
      return false;
    }
  }
  return true;
}

std::string FormatMetricChange(const Json& change) {
  std::string text = change["key"].get<std::string>() + ": " +
                     change["old"].dump() + " -> " + change["new"].dump();
  if (change.contains("delta")) {
    text += " (delta " + change["delta"].dump() + ")";
  }
  return text;
}

bool FolderChanges::empty() const {
  return changed.empty() && added.empty() && removed.empty();
}

std::string FolderChanges::FirstPath() const {
  std::vector<std::string> all = changed;
  all.insert(all.end(), added.begin(), added.end());
  all.insert(all.end(), removed.begin(), removed.end());
  return all.empty() ? "" : *std::min_element(all.begin(), all.end());
}

Json FolderChanges::ToJson() const {
  // Entry names are bytes; JSON carries only UTF-8 (nlohmann would put
  // U+FFFD in place of each bad byte, so two names could read the same).
  auto names = [](const std::vector<std::string>& paths) {
    Json list = Json::array();
    for (const std::string& path : paths) list.push_back(JsonPath(path));
    return list;
  };
  return {{"changed", names(changed)},
          {"added", names(added)},
          {"removed", names(removed)}};
}

Result<FolderChanges> CompareFolders(const store::BlobStore& blobs,
                                     const Digest& before,
                                     const Digest& after) {
  ASSIGN_OR_RETURN(std::vector<store::FolderEntry> old_entries,
                   store::ListFolder(blobs, before));
  ASSIGN_OR_RETURN(std::vector<store::FolderEntry> new_entries,
                   store::ListFolder(blobs, after));
  std::map<std::string, store::FolderEntry> old_by_path;
  for (store::FolderEntry& entry : old_entries) {
    old_by_path.emplace(entry.path, std::move(entry));
  }
  std::map<std::string, store::FolderEntry> new_by_path;
  for (store::FolderEntry& entry : new_entries) {
    new_by_path.emplace(entry.path, std::move(entry));
  }

  FolderChanges changes;
  for (const auto& [path, entry] : old_by_path) {
    auto other = new_by_path.find(path);
    if (other == new_by_path.end()) {
      changes.removed.push_back(path);
    } else if (!entry.SameContent(other->second)) {
      changes.changed.push_back(path);
    }
  }
  for (const auto& [path, entry] : new_by_path) {
    if (!old_by_path.contains(path)) {
      changes.added.push_back(path);
    }
  }
  return changes;
}

Json OutputComparison::ToJson() const {
  Json entry = {{"name", name},          {"policy", policy},
                {"identical", identical}, {"accepted", accepted},
                {"expected", expected},   {"actual", actual}};
  if (!metric_changes.is_null()) {
    entry["metric_changes"] = metric_changes;
  }
  if (!folder_changes.is_null()) {
    entry["folder_changes"] = folder_changes;
    entry["first_file"] = first_file;
  }
  if (!note.empty()) {
    entry["note"] = note;
  }
  return entry;
}

OutputComparison CompareOutput(const std::string& name,
                               const RecordedOutput& recorded,
                               const Digest& actual,
                               const store::BlobStore& blobs) {
  OutputComparison verdict;
  verdict.name = name;
  verdict.policy = recorded.policy;
  verdict.expected = recorded.digest;
  verdict.actual = actual.ToString();
  verdict.identical = verdict.expected == verdict.actual;
  verdict.accepted = verdict.identical || verdict.policy == "ignore";
  if (verdict.identical) {
    return verdict;
  }
  if (IsMetricsType(recorded.type)) {
    verdict.metric_changes = MetricChanges(blobs, recorded.digest, actual);
    if (verdict.metric_changes.is_null()) {
      verdict.note =
          "metrics are not readable JSON on both sides: only digests compared";
    }
    if (verdict.policy == "tolerance" && verdict.metric_changes.is_array()) {
      verdict.accepted =
          WithinTolerance(verdict.metric_changes, recorded.tolerance);
    }
  }
  Result<Digest> expected = Digest::Parse(recorded.digest);
  if (recorded.folder && expected.ok()) {
    Result<FolderChanges> changes = CompareFolders(blobs, *expected, actual);
    if (changes.ok()) {
      verdict.folder_changes = changes->ToJson();
      verdict.first_file = JsonPath(changes->FirstPath());
    }
  }
  return verdict;
}

}  // namespace lockstep::metadata
