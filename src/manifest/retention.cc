// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "manifest/retention.h"

#include <algorithm>
#include <filesystem>
#include <unordered_set>

#include "core/canonical_json.h"
#include "core/log.h"
#include "core/utf8.h"
#include "data/snapshot.h"
#include "data/tree_digest.h"
#include "manifest/manifest.h"

namespace lockstep::manifest {

namespace {

// Collects needed blobs, each digest once.
class NeedsCollector {
 public:
  // `holder` names who needs the blobs: "run R", "pulled artifact 7".
  explicit NeedsCollector(std::string holder) : holder_(std::move(holder)) {}

  void Add(const Json& digest_text, NeededBlob blob) {
    if (!digest_text.is_string()) {
      return;
    }
    Result<Digest> digest = Digest::Parse(digest_text.get<std::string>());
    if (!digest.ok() || !seen_.insert(*digest).second) {
      return;
    }
    blob.digest = *digest;
    blob.reason = holder_ + " needs it (" + blob.reason + ")";
    needs_.push_back(std::move(blob));
  }

  std::vector<NeededBlob> Take() { return std::move(needs_); }

 private:
  std::string holder_;
  std::unordered_set<Digest> seen_;
  std::vector<NeededBlob> needs_;
};

// Adds the files of a folder snapshot whose tree is in `blobs`.
void AddTreeFiles(const store::BlobStore& blobs, const Digest& tree,
                  const std::string& label, NeedsCollector* needs) {
  if (!data::IsTreeBlob(blobs, tree)) {
    return;
  }
  Result<std::string> bytes = blobs.ReadVerified(tree);
  if (!bytes.ok()) {
    return;
  }
  Result<std::vector<data::TreeEntry>> entries = data::DecodeTree(*bytes);
  if (!entries.ok()) {
    return;
  }
  for (const data::TreeEntry& entry : *entries) {
    if (entry.type != data::EntryType::kFile) {
      continue;
    }
    std::string path = DisplayPath(entry.path);
    needs->Add(Json(entry.digest.ToString()),
               {{}, "snapshot-file", "data/" + label + "/" + path, "",
                "snapshot " + label + ", file " + path});
  }
}

std::string StepName(const Json& step) {
  return step.value("name", std::string());
}

}  // namespace

namespace {

// How deep image indexes may nest before the walk stops; real ones nest
// one level (an index of per-platform manifests).
constexpr int kMaxImageIndexDepth = 4;

// The image manifest or index `digest` and, when it is in the store, what
// it references: an index's child manifests (each walked in turn), a
// manifest's config and layers.
void AddImageManifest(const Json& digest_text, const store::BlobStore* blobs,
                      const std::string& what, int depth,
                      NeedsCollector* needs) {
  needs->Add(digest_text, {{}, "image", "image/manifest", "", what});
  Result<Digest> digest = Digest::Parse(digest_text.is_string()
                                            ? digest_text.get<std::string>()
                                            : std::string());
  if (blobs == nullptr || !digest.ok() || !blobs->Contains(*digest)) {
    return;
  }
  Result<std::string> bytes = blobs->ReadVerified(*digest);
  Json image = bytes.ok() ? ParseJsonOrDiscarded(*bytes) : Json();
  if (!image.is_object()) {
    return;
  }
  Json children = image.value("manifests", Json::array());
  if (children.is_array() && depth < kMaxImageIndexDepth) {
    for (const Json& child : children) {
      if (!child.is_object()) continue;
      AddImageManifest(child.value("digest", Json()), blobs,
                       what + ", child manifest", depth + 1, needs);
    }
  }
  Json config = image.value("config", Json::object());
  if (config.is_object()) {
    needs->Add(config.value("digest", Json()),
               {{}, "image", "image/config", "", what + ", config"});
  }
  Json layers = image.value("layers", Json::array());
  if (!layers.is_array()) return;
  for (const Json& layer : layers) {
    if (!layer.is_object()) continue;
    needs->Add(layer.value("digest", Json()),
               {{}, "image", "image/layer", "", what + ", layer"});
  }
}

// A step's image, pinned by digest, so that the step can run again in the
// same image.
void AddImage(const std::string& reference, const store::BlobStore* blobs,
              const std::string& where, NeedsCollector* needs) {
  size_t at = reference.rfind("@sha256:");
  if (at == std::string::npos) {
    return;
  }
  AddImageManifest(Json(reference.substr(at + 1)), blobs,
                   where + ", image " + reference, 0, needs);
}

}  // namespace

std::vector<NeededBlob> ManifestNeeds(const Json& manifest,
                                      const store::BlobStore* blobs) {
  NeedsCollector needs("run " + manifest.value("run_id", std::string("?")));

  // The pipeline file and the uncommitted patch.
  const Json& pipeline = manifest.value("pipeline", Json::object());
  std::string file = pipeline.value("file", std::string("pipeline.yaml"));
  needs.Add(pipeline.value("spec_digest", Json()),
            {{}, "pipeline", file, "", "pipeline file"});
  const Json& code = manifest.value("code", Json::object());
  if (code.is_object() && code.value("patch_stored", false)) {
    needs.Add(code.value("patch_digest", Json()),
              {{}, "patch", "code.patch", "", "uncommitted code patch"});
  }

  // Data snapshots, and a folder's files.
  for (const Json& data : manifest.value("data", Json::array())) {
    std::string label = data.value("name", std::string()) + "@" +
                        std::to_string(data.value("version", int64_t{0}));
    Json digest = data.value("digest", Json());
    needs.Add(digest, {{}, "snapshot", "data/" + label, "",
                       "snapshot " + label});
    Result<Digest> parsed = digest.is_string()
                                ? Digest::Parse(digest.get<std::string>())
                                : Result<Digest>(Status::NotFound("none"));
    if (blobs != nullptr && parsed.ok() && blobs->Contains(*parsed)) {
      AddTreeFiles(*blobs, *parsed, label, &needs);
    }
  }

  // Per step, in run order: outputs before the later steps that read them.
  for (const Json& step : manifest.value("steps", Json::array())) {
    std::string name = StepName(step);
    std::string where = "step " + name;
    // Named copies: items() of a temporary would dangle in a range-for.
    const Json invocation = step.value("invocation", Json::object());
    const Json code_files = invocation.value("code", Json::object());
    const Json inputs = invocation.value("inputs", Json::object());
    const Json outputs = step.value("outputs", Json::object());
    for (const auto& [path, code_file] : code_files.items()) {
      needs.Add(code_file.value("digest", Json()),
                {{}, "code", "code/" + path, "", where + ", code " + path});
    }
    for (const auto& [input, digest] : inputs.items()) {
      needs.Add(digest, {{}, "input", name + "/inputs/" + input, "",
                         where + ", input " + input});
    }
    AddImage(invocation.value("image", std::string()), blobs, where,
             &needs);
    for (const auto& [output, entry] : outputs.items()) {
      needs.Add(entry.value("digest", Json()),
                {{}, "output", name + "/" + output,
                 entry.value("type", std::string()),
                 where + ", output " + output});
    }
  }
  return needs.Take();
}

std::vector<registry::KeptBlob> ManifestRoots(const Json& manifest,
                                              const store::BlobStore* blobs) {
  std::vector<registry::KeptBlob> roots;
  for (NeededBlob& blob : ManifestNeeds(manifest, blobs)) {
    roots.push_back({blob.digest, std::move(blob.reason)});
  }
  return roots;
}

Result<std::vector<Digest>> TreeFileDigests(const store::BlobStore& blobs,
                                            const Digest& tree) {
  ASSIGN_OR_RETURN(std::string bytes, blobs.ReadVerified(tree));
  ASSIGN_OR_RETURN(std::vector<data::TreeEntry> entries,
                   data::DecodeTree(bytes));
  std::vector<Digest> files;
  for (const data::TreeEntry& entry : entries) {
    if (entry.type == data::EntryType::kFile) {
      files.push_back(entry.digest);
    }
  }
  return files;
}

// Defence in depth: a manifest in <store>/runs/ whose run the lineage
// store does not list with a manifest (a database restored from an older
// backup, or replaced) still promises its outputs to someone, so it is a
// root too.
Status LineageRetentionRoots::AddManifestsOnDisk(
    const std::set<std::string>& recorded,
    std::vector<registry::KeptBlob>* roots) const {
  if (metadata_->store_root().empty()) return Status::Ok();
  std::filesystem::path runs = metadata_->store_root() / "runs";
  std::error_code error;
  std::vector<std::filesystem::path> found;
  for (auto it = std::filesystem::directory_iterator(runs, error);
       !error && it != std::filesystem::directory_iterator();
       it.increment(error)) {
    std::filesystem::path path = it->path() / "manifest.json";
    if (!recorded.contains(it->path().filename().string()) &&
        std::filesystem::exists(path)) {
      found.push_back(path);
    }
  }
  std::sort(found.begin(), found.end());
  for (const std::filesystem::path& path : found) {
    Result<Json> manifest = LoadManifest(path);
    if (!manifest.ok()) {
      return Status::DataLoss(
          "cannot read " + path.string() + " (" +
          manifest.status().message() +
          "); refusing to collect garbage without it");
    }
    std::vector<registry::KeptBlob> needed = ManifestRoots(*manifest, blobs_);
    roots->insert(roots->end(), needed.begin(), needed.end());
  }
  return Status::Ok();
}

Result<std::vector<registry::KeptBlob>> LineageRetentionRoots::Roots() {
  std::vector<registry::KeptBlob> roots;
  ASSIGN_OR_RETURN(std::vector<metadata::Run> runs,
                   metadata_->ListRuns({}));
  std::set<std::string> recorded;
  for (const metadata::Run& run : runs) {
    if (run.manifest_path.empty()) {
      // Still running, or died before its manifest: no outputs were
      // promised yet, unless its manifest is on disk after all (a copy of
      // the database taken while it ran), which AddManifestsOnDisk reads.
      continue;
    }
    recorded.insert(run.run_id);
    Result<Json> manifest = LoadManifest(run.manifest_path);
    if (!manifest.ok()) {
      return Status::DataLoss("cannot read the manifest of run " +
                              run.run_id + " (" +
                              manifest.status().message() +
                              "); refusing to collect garbage without it");
    }
    std::vector<registry::KeptBlob> needed = ManifestRoots(*manifest, blobs_);
    roots.insert(roots.end(), needed.begin(), needed.end());
  }
  RETURN_IF_ERROR(AddManifestsOnDisk(recorded, &roots));
  RETURN_IF_ERROR(AddStepLogs(runs, &roots));

  ASSIGN_OR_RETURN(std::vector<metadata::Snapshot> snapshots,
                   metadata_->ListSnapshots());
  for (const metadata::Snapshot& snapshot : snapshots) {
    ASSIGN_OR_RETURN(metadata::Artifact artifact,
                     metadata_->GetArtifact(snapshot.artifact_id));
    if (artifact.state != "live" || excluded_.contains(artifact.id)) {
      continue;  // Expired and removed: its blobs may go.
    }
    std::string reason = "snapshot " + snapshot.name + "@" +
                         std::to_string(snapshot.version);
    Result<Digest> digest = Digest::Parse(artifact.digest);
    if (!digest.ok()) {
      continue;
    }
    roots.push_back({*digest, reason});

    // A folder: its digest is its tree's; every file the tree lists too.
    if (artifact.properties.value("kind", std::string()) != "folder" ||
        blobs_ == nullptr) {
      continue;
    }
    Result<std::vector<Digest>> files = TreeFileDigests(*blobs_, *digest);
    if (!files.ok()) {
      // Without its tree the folder cannot be rebuilt from its files.
      LogWarning("{}: cannot read its tree ({}); its files are not kept",
                 reason, files.status().message());
      continue;
    }
    for (const Digest& file : *files) {
      roots.push_back({file, reason + " (file)"});
    }
  }

  RETURN_IF_ERROR(AddPulledArtifacts(&roots));
  return roots;
}

namespace {

// Who holds a pulled artifact's bytes, named as the pull recorded it:
// the reference pulled, and a file's title.
std::string PulledHolder(const metadata::Artifact& artifact) {
  std::string holder = "pulled artifact " + std::to_string(artifact.id);
  if (artifact.uri.empty()) return holder;
  const Json& properties = artifact.custom_properties;
  std::string title;
  if (properties.is_object() && properties.contains("title") &&
      properties["title"].is_string()) {
    title = properties["title"].get<std::string>();
  }
  return holder + " (" + artifact.uri + (title.empty() ? "" : ", " + title) +
         ")";
}

}  // namespace

Status LineageRetentionRoots::AddStepLogs(
    const std::vector<metadata::Run>& runs,
    std::vector<registry::KeptBlob>* roots) const {
  // A step's stdout and stderr are blobs its execution names by digest;
  // no manifest lists them (found by a tester: gc swept a failed step's
  // stderr, the only full record of why it failed).
  for (const metadata::Run& run : runs) {
    ASSIGN_OR_RETURN(std::vector<metadata::Execution> executions,
                     metadata_->ExecutionsInContext(run.context_id));
    for (const metadata::Execution& execution : executions) {
      for (const char* log : {"stdout", "stderr"}) {
        const Json& properties = execution.properties;
        if (!properties.contains(log) || !properties[log].is_string()) {
          continue;
        }
        Result<Digest> digest =
            Digest::Parse(properties[log].get<std::string>());
        if (!digest.ok()) continue;
        roots->push_back({*digest, "run " + run.run_id + " keeps the " +
                                       log + " of step " + execution.name});
      }
    }
  }
  return Status::Ok();
}

Status LineageRetentionRoots::AddPulledArtifacts(
    std::vector<registry::KeptBlob>* roots) const {
  // An artifact pulled on its own names bytes nothing else keeps (found
  // by a tester: gc took them and left the record).
  ASSIGN_OR_RETURN(
      std::vector<metadata::Artifact> pulled,
      metadata_->OutputsOfExecutionType(kPulledArtifactExecution));
  for (const metadata::Artifact& artifact : pulled) {
    Result<Digest> digest = Digest::Parse(artifact.digest);
    if (artifact.state != "live" || !digest.ok()) continue;
    std::string holder = PulledHolder(artifact);
    if (artifact.type != kPulledManifestType) {
      roots->push_back({*digest, holder});
      continue;
    }
    // An index (or a manifest without layers) pulled as it is: what it
    // references is kept through it.
    NeedsCollector needs(holder);
    AddImageManifest(Json(artifact.digest), blobs_, "OCI manifest", 0,
                     &needs);
    for (NeededBlob& blob : needs.Take()) {
      roots->push_back({blob.digest, std::move(blob.reason)});
    }
  }
  return Status::Ok();
}

}  // namespace lockstep::manifest
