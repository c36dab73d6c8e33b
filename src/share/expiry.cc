// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "share/expiry.h"

#include <map>

#include "core/clock.h"
#include "manifest/manifest.h"

namespace lockstep::share {

namespace {

// Which run first needs each snapshot, by "NAME@V" and by digest.
struct SnapshotUsers {
  std::map<std::string, std::string> by_label;
  std::map<std::string, std::string> by_digest;
};

Result<SnapshotUsers> FindSnapshotUsers(metadata::MetadataStore* metadata) {
  SnapshotUsers users;
  ASSIGN_OR_RETURN(std::vector<metadata::Run> runs, metadata->ListRuns({}));
  for (const metadata::Run& run : runs) {
    if (run.manifest_path.empty()) {
      continue;  // No manifest yet: it promised nothing to anyone.
    }
    Result<nlohmann::json> manifest =
        manifest::LoadManifest(run.manifest_path);
    if (!manifest.ok()) {
      return Status::DataLoss("cannot read the manifest of run " +
                              run.run_id + " (" +
                              manifest.status().message() +
                              "); refusing to expire snapshots without it");
    }
    for (const nlohmann::json& data :
         manifest->value("data", nlohmann::json::array())) {
      std::string label = data.value("name", std::string()) + "@" +
                          std::to_string(data.value("version", int64_t{0}));
      users.by_label.emplace(label, run.run_id);
      users.by_digest.emplace(data.value("digest", std::string()),
                              run.run_id);
    }
  }
  return users;
}

}  // namespace

nlohmann::json ExpiryDecision::ToJson() const {
  return {{"snapshot", snapshot},
          {"artifactId", artifact_id},
          {"digest", digest},
          {"expired", FormatRfc3339(expired_ms)},
          {"action", remove ? "remove" : "keep"},
          {"reason", reason}};
}

Result<std::vector<ExpiryDecision>> ExpireSnapshots(
    metadata::MetadataStore* metadata, int64_t now_ms, bool apply) {
  std::vector<ExpiryDecision> decisions;
  ASSIGN_OR_RETURN(std::vector<metadata::Snapshot> snapshots,
                   metadata->ListSnapshots());
  std::optional<SnapshotUsers> users;  // Read only when something expired.
  for (const metadata::Snapshot& snapshot : snapshots) {
    ASSIGN_OR_RETURN(metadata::Artifact artifact,
                     metadata->GetArtifact(snapshot.artifact_id));
    int64_t expires = artifact.properties.value("expires_ms", int64_t{0});
    if (artifact.state != "live" || expires == 0 || now_ms < expires) {
      continue;
    }
    if (!users) {
      ASSIGN_OR_RETURN(users, FindSnapshotUsers(metadata));
    }
    ExpiryDecision decision;
    decision.snapshot =
        snapshot.name + "@" + std::to_string(snapshot.version);
    decision.artifact_id = artifact.id;
    decision.digest = artifact.digest;
    decision.expired_ms = expires;
    auto by_label = users->by_label.find(decision.snapshot);
    auto by_digest = users->by_digest.find(artifact.digest);
    if (by_label != users->by_label.end()) {
      decision.reason = "expired, but run " + by_label->second + " needs it";
    } else if (by_digest != users->by_digest.end()) {
      decision.reason = "expired, but run " + by_digest->second +
                        " needs its bytes";
    } else {
      decision.remove = true;
      decision.reason = "expired " + FormatRfc3339(expires) +
                        "; no kept run needs it";
    }
    if (apply && decision.remove) {
      RETURN_IF_ERROR(
          metadata->MarkArtifactRemoved(artifact.id, decision.reason));
    }
    decisions.push_back(std::move(decision));
  }
  return decisions;
}

}  // namespace lockstep::share
