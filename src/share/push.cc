// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// The push half of share.h: runs, snapshots and artifacts as OCI
// artifacts (layout in docs/formats/oci-artifacts.md).

#include <cctype>
#include <optional>
#include <unordered_set>

#include "core/canonical_json.h"
#include "core/files.h"
#include "core/utf8.h"
#include "data/snapshot.h"
#include "data/tree_digest.h"
#include "manifest/manifest.h"
#include "manifest/retention.h"
#include "registry/oci.h"
#include "share/bundle.h"
#include "share/share.h"

namespace lockstep::share {

namespace {

constexpr std::string_view kTitle = "org.opencontainers.image.title";

registry::PushLayer Layer(const Digest& digest, std::string_view media_type,
                          const std::string& title, const std::string& role) {
  registry::PushLayer layer;
  layer.digest = digest;
  layer.media_type = std::string(media_type);
  layer.annotations = {{std::string(kTitle), title},
                       {"lockstep.role", role}};
  return layer;
}

// The layers of a folder's tree and files, titled LABEL/PATH.
Result<std::vector<registry::PushLayer>> TreeLayers(
    const store::BlobStore& blobs, const Digest& tree,
    const std::string& label) {
  std::vector<registry::PushLayer> layers;
  layers.push_back(Layer(tree, kTreeLayer, label + "/.tree", "tree"));
  ASSIGN_OR_RETURN(std::string bytes, blobs.ReadVerified(tree));
  ASSIGN_OR_RETURN(std::vector<data::TreeEntry> entries,
                   data::DecodeTree(bytes));
  for (const data::TreeEntry& entry : entries) {
    if (entry.type != data::EntryType::kFile) {
      continue;
    }
    layers.push_back(Layer(entry.digest, kBlobLayer,
                           label + "/" + DisplayPath(entry.path),
                           std::string(kFileRole)));
  }
  return layers;
}

// Drops layers whose digest an earlier layer already has: a manifest
// lists each blob once.
void DropRepeatedLayers(std::vector<registry::PushLayer>* layers) {
  std::vector<registry::PushLayer> unique;
  std::unordered_set<Digest> seen;
  for (registry::PushLayer& layer : *layers) {
    if (seen.insert(layer.digest).second) {
      unique.push_back(std::move(layer));
    }
  }
  *layers = std::move(unique);
}

Status RequirePresent(const store::BlobStore& blobs,
                      const std::vector<registry::PushLayer>& layers,
                      const std::string& what) {
  for (const registry::PushLayer& layer : layers) {
    if (!blobs.Contains(layer.digest)) {
      std::string title = layer.annotations.value(std::string(kTitle), "");
      return Status::NotFound(what + " needs blob " +
                              layer.digest.ToString() + " (" + title +
                              "), which is not in the store");
    }
  }
  return Status::Ok();
}

// The manifest the client will put for `request`, built the same way
// (registry::Client::Push) so its size can be checked before any upload.
Json ManifestFor(const store::BlobStore& blobs,
                 const registry::PushRequest& request) {
  Json layers = Json::array();
  for (const registry::PushLayer& layer : request.layers) {
    Result<uint64_t> size = blobs.SizeOf(layer.digest);
    Json entry = {{"mediaType", layer.media_type},
                  {"digest", layer.digest.ToString()},
                  {"size", size.ok() ? *size : 0}};
    if (layer.annotations.is_object()) entry["annotations"] = layer.annotations;
    layers.push_back(std::move(entry));
  }
  Json manifest = {{"schemaVersion", 2},
                   {"mediaType", std::string(registry::kOciManifest)},
                   {"artifactType", request.artifact_type},
                   {"config", {{"mediaType",
                                std::string(registry::kOciEmptyConfig)},
                               {"digest", Sha256Of("{}").ToString()},
                               {"size", 2}}},
                   {"layers", layers}};
  if (request.subject) {
    // The longest descriptor the client could write for it.
    manifest["subject"] = {{"mediaType", std::string(registry::kOciIndex)},
                           {"digest", request.subject->ToString()},
                           {"size", INT64_MAX}};
  }
  if (request.annotations.is_object()) {
    manifest["annotations"] = request.annotations;
  }
  return manifest;
}

// InvalidArgument when `request`'s manifest would be larger than
// registries accept: found after uploading every blob, the refusal wasted
// the whole push.
Status RequireManifestFits(const store::BlobStore& blobs,
                           const registry::PushRequest& request,
                           const std::string& what) {
  uint64_t bytes = ManifestFor(blobs, request).dump().size();
  if (bytes <= registry::kMaxManifestBytes) return Status::Ok();
  size_t own = 0;  // Files too large for a bundle.
  for (const registry::PushLayer& layer : request.layers) {
    if (AnnotationOf(layer, "lockstep.role") == kFileRole) ++own;
  }
  return Status::InvalidArgument(
      what + ": its OCI manifest would be " + std::to_string(bytes) +
      " bytes for " + std::to_string(request.layers.size()) + " layers (" +
      std::to_string(own) + " of them files over 64 KiB, a layer each), "
      "more than the " + std::to_string(registry::kMaxManifestBytes) +
      " bytes registries accept; nothing was uploaded");
}

PushSummary Summarize(const std::string& kind,
                      const registry::Reference& target,
                      const registry::PushResult& pushed, size_t layers) {
  PushSummary summary;
  summary.kind = kind;
  summary.reference = target.ToString();
  summary.manifest = pushed.manifest;
  summary.layers = layers;
  summary.uploaded = pushed.uploaded;
  summary.skipped = pushed.skipped;
  summary.mounted = pushed.mounted;
  return summary;
}

// TAG-model, TAG-model-2, ...; untagged (by digest) when TAG is empty.
registry::Reference ModelReference(const registry::Reference& target,
                                   size_t index) {
  registry::Reference model = target;
  if (!model.tag.empty()) {
    model.tag += index == 0 ? "-model" : "-model-" + std::to_string(index + 1);
  }
  return model;
}

// Every Model output of the run, in step order, each under its own name
// ("train/model"). Not taken from ManifestNeeds, which lists a blob once
// under its first use: a tester found that a Model whose bytes equalled
// an input, or an earlier Model, got no TAG-model artifact of its own.
std::vector<manifest::NeededBlob> ModelOutputs(const Json& manifest) {
  std::vector<manifest::NeededBlob> models;
  for (const Json& step : manifest.value("steps", Json::array())) {
    std::string name = step.value("name", std::string());
    const Json outputs = step.value("outputs", Json::object());
    for (const auto& [output, entry] : outputs.items()) {
      if (!entry.is_object() || entry.value("type", "") != "Model") continue;
      Json digest = entry.value("digest", Json());
      Result<Digest> parsed = digest.is_string()
                                  ? Digest::Parse(digest.get<std::string>())
                                  : Result<Digest>(Status::NotFound("none"));
      if (!parsed.ok()) continue;
      models.push_back({*parsed, "output", name + "/" + output, "Model", ""});
    }
  }
  return models;
}

}  // namespace

Json PushSummary::ToJson() const {
  Json out = {{"kind", kind},
              {"reference", reference},
              {"digest", manifest.ToString()},
              {"layers", layers},
              {"uploaded", uploaded},
              {"skipped", skipped},
              {"mounted", mounted}};
  if (!models.empty()) {
    Json list = Json::array();
    for (const PushSummary& model : models) list.push_back(model.ToJson());
    out["models"] = list;
  }
  return out;
}

bool IsValidRunId(std::string_view run_id) {
  // The first character is a letter or digit, as NewRunId's are: an id
  // such as "--help" or ".x" could not be named on a command line.
  if (run_id.empty() || run_id.size() > 200 ||
      !std::isalnum(static_cast<unsigned char>(run_id[0]))) {
    return false;
  }
  for (char c : run_id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' &&
        c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

Result<registry::PushResult> Sharer::Send(const registry::Reference& target,
                                          registry::PushRequest request) {
  if (!target.digest.empty()) {
    return Status::InvalidArgument(target.ToString() +
                                   ": push to a tag, not a digest");
  }
  RETURN_IF_ERROR(RequirePresent(*blobs_, request.layers, target.ToString()));
  RETURN_IF_ERROR(
      RequireManifestFits(*blobs_, request, "push to " + target.ToString()));
  request.mount_from = mount_from_;
  return client_->Push(target, request);
}

Result<registry::PushLayer> Sharer::SnapshotRecordLayer(
    const std::string& title, const metadata::Snapshot& snapshot) {
  std::string label = snapshot.name + "@" + std::to_string(snapshot.version);
  ASSIGN_OR_RETURN(metadata::Artifact artifact,
                   metadata_->GetArtifact(snapshot.artifact_id));
  Json record = {{"kind", "lockstep.snapshot"},
                 {"name", snapshot.name},
                 {"version", snapshot.version},
                 {"type", artifact.type},
                 {"uri", artifact.uri},
                 {"digest", artifact.digest},
                 {"properties", artifact.properties}};
  ASSIGN_OR_RETURN(std::string text, CanonicalJson(record));
  ASSIGN_OR_RETURN(Digest digest, blobs_->PutBytes(text));
  registry::PushLayer layer =
      Layer(digest, kSnapshotRecordLayer, title, "snapshot-record");
  layer.annotations["lockstep.snapshot"] = label;
  return layer;
}

Result<std::optional<metadata::Snapshot>> Sharer::SnapshotOfRun(
    const Json& data) {
  std::string name = data.value("name", "");
  int64_t version = data.value("version", int64_t{0});
  // A run pulled where its NAME@V names another dataset keeps its own
  // unnamed (found by a tester: this store's dataset, its path and
  // columns, went out under the run's name, and the result could not be
  // pulled).
  ASSIGN_OR_RETURN(int64_t dataset,
                   DatasetOf(name, version, data.value("digest", "")));
  if (dataset == 0) return std::optional<metadata::Snapshot>();
  return std::optional<metadata::Snapshot>(
      metadata::Snapshot{name, version, dataset});
}

Result<PushSummary> Sharer::PushRun(const std::string& run_id,
                                    const registry::Reference& target) {
  ASSIGN_OR_RETURN(metadata::Run run, metadata_->GetRun(run_id));
  if (run.manifest_path.empty()) {
    return Status::FailedPrecondition("run " + run_id +
                                      " has no manifest yet");
  }
  ASSIGN_OR_RETURN(Json manifest, manifest::LoadManifest(run.manifest_path));
  ASSIGN_OR_RETURN(std::string bytes, ReadFile(run.manifest_path));
  ASSIGN_OR_RETURN(Digest manifest_blob, blobs_->PutBytes(bytes));

  // The manifest first, then everything it needs, then snapshot records.
  std::vector<registry::PushLayer> layers;
  registry::PushLayer manifest_layer =
      Layer(manifest_blob, kManifestLayer, "manifest.json", "manifest");
  manifest_layer.annotations["lockstep.run"] = run_id;
  layers.push_back(manifest_layer);
  std::vector<manifest::NeededBlob> needs =
      manifest::ManifestNeeds(manifest, blobs_);
  std::vector<manifest::NeededBlob> models = ModelOutputs(manifest);
  for (const manifest::NeededBlob& need : needs) {
    bool tree = need.role == "snapshot" && blobs_->Contains(need.digest) &&
                data::IsTreeBlob(*blobs_, need.digest);
    registry::PushLayer layer = Layer(
        need.digest, tree ? kTreeLayer : kBlobLayer, need.name, need.role);
    if (!need.type.empty()) layer.annotations["lockstep.type"] = need.type;
    layers.push_back(std::move(layer));
  }
  for (const Json& data : manifest.value("data", Json::array())) {
    ASSIGN_OR_RETURN(std::optional<metadata::Snapshot> snapshot,
                     SnapshotOfRun(data));
    if (!snapshot) {
      continue;  // The bytes travel anyway; only the record is local.
    }
    std::string label = snapshot->name + "@" +
                        std::to_string(snapshot->version);
    ASSIGN_OR_RETURN(
        registry::PushLayer record,
        SnapshotRecordLayer("data/" + label + ".json", *snapshot));
    layers.push_back(std::move(record));
  }
  DropRepeatedLayers(&layers);
  RETURN_IF_ERROR(RequirePresent(*blobs_, layers, "run " + run_id));
  RETURN_IF_ERROR(BundleSmallFiles(blobs_, "data/", bundle_sizes_, &layers));
  // Checked before anything is uploaded: a tag near the 128-character
  // limit failed only at the model's manifest, after every blob went.
  for (size_t i = 0; i < models.size(); ++i) {
    std::string tag = ModelReference(target, i).tag;
    if (!tag.empty() && !registry::IsValidTag(tag)) {
      return Status::InvalidArgument(
          "the run's model would be tagged " + tag + ", longer than a "
          "tag may be (128 characters); push under a shorter tag");
    }
  }

  // The run's own manifest, checked before the models go.
  registry::PushRequest request;
  request.artifact_type = std::string(kRunArtifact);
  request.layers = layers;
  request.annotations = {
      {"lockstep.run", run_id},
      {"lockstep.pipeline", run.pipeline},
      {"lockstep.manifest-hash", manifest.value("manifest_hash", "")}};
  // Any digest stands in for the first model's: only its size counts.
  if (!models.empty()) request.subject = Sha256Of("");
  RETURN_IF_ERROR(RequireManifestFits(*blobs_, request, "run " + run_id));

  // Each model as an artifact of its own, so the run can refer to it.
  std::vector<PushSummary> pushed_models;
  for (size_t i = 0; i < models.size(); ++i) {
    registry::PushRequest model_request;
    model_request.artifact_type = std::string(kModelArtifact);
    registry::PushLayer layer =
        Layer(models[i].digest, kBlobLayer, models[i].name, "model");
    layer.annotations["lockstep.run"] = run_id;
    model_request.layers.push_back(layer);
    model_request.annotations = {{"lockstep.run", run_id},
                                 {"lockstep.output", models[i].name}};
    registry::Reference model_target = ModelReference(target, i);
    ASSIGN_OR_RETURN(registry::PushResult pushed,
                     Send(model_target, std::move(model_request)));
    pushed_models.push_back(Summarize("model", model_target, pushed, 1));
  }

  // The run, a referrer of its first model.
  if (!pushed_models.empty()) request.subject = pushed_models[0].manifest;
  ASSIGN_OR_RETURN(registry::PushResult pushed, Send(target, request));
  PushSummary summary = Summarize("run", target, pushed, layers.size());

  // Further models get a small referrer holding the manifest only.
  for (size_t i = 1; i < pushed_models.size(); ++i) {
    registry::PushRequest referrer;
    referrer.artifact_type = std::string(kRunArtifact);
    referrer.layers = {manifest_layer};
    referrer.annotations = request.annotations;
    referrer.subject = pushed_models[i].manifest;
    registry::Reference by_digest = target;
    by_digest.tag.clear();
    RETURN_IF_ERROR(Send(by_digest, std::move(referrer)).status());
  }
  summary.models = std::move(pushed_models);
  return summary;
}

Result<PushSummary> Sharer::PushSnapshot(const std::string& ref_text,
                                         const registry::Reference& target) {
  ASSIGN_OR_RETURN(data::SnapshotRef ref, data::ParseSnapshotRef(ref_text));
  Result<metadata::Snapshot> snapshot =
      ref.version == 0 ? metadata_->LatestSnapshot(ref.name)
                       : metadata_->GetSnapshot(ref.name, ref.version);
  if (snapshot.status().IsNotFound()) {
    return Status::NotFound("no snapshot " + ref_text);
  }
  RETURN_IF_ERROR(snapshot.status());
  ASSIGN_OR_RETURN(metadata::Artifact artifact,
                   metadata_->GetArtifact(snapshot->artifact_id));
  if (artifact.state != "live") {
    return Status::FailedPrecondition(
        "snapshot " + ref_text + " was removed (" + artifact.removal_reason +
        ")");
  }
  std::string label = snapshot->name + "@" + std::to_string(snapshot->version);
  ASSIGN_OR_RETURN(Digest digest, Digest::Parse(artifact.digest));

  std::vector<registry::PushLayer> layers;
  ASSIGN_OR_RETURN(registry::PushLayer record,
                   SnapshotRecordLayer(label + ".json", *snapshot));
  layers.push_back(record);
  if (artifact.properties.value("kind", "") == "folder") {
    ASSIGN_OR_RETURN(std::vector<registry::PushLayer> tree,
                     TreeLayers(*blobs_, digest, label));
    layers.insert(layers.end(), tree.begin(), tree.end());
  } else {
    layers.push_back(Layer(digest, kBlobLayer, label, "snapshot"));
  }
  DropRepeatedLayers(&layers);
  RETURN_IF_ERROR(
      BundleSmallFiles(blobs_, label + "/", bundle_sizes_, &layers));

  registry::PushRequest request;
  request.artifact_type = std::string(kSnapshotArtifact);
  request.layers = layers;
  request.annotations = {{"lockstep.snapshot", label}};
  ASSIGN_OR_RETURN(registry::PushResult pushed, Send(target, request));
  return Summarize("snapshot", target, pushed, layers.size());
}

Result<PushSummary> Sharer::PushArtifact(int64_t artifact_id,
                                         const registry::Reference& target) {
  ASSIGN_OR_RETURN(metadata::Artifact artifact,
                   metadata_->GetArtifact(artifact_id));
  ASSIGN_OR_RETURN(Digest digest, Digest::Parse(artifact.digest));
  Json record = {{"kind", "lockstep.artifact"},
                 {"type", artifact.type},
                 {"uri", artifact.uri},
                 {"digest", artifact.digest},
                 {"properties", artifact.properties},
                 {"custom_properties", artifact.custom_properties}};
  ASSIGN_OR_RETURN(std::string text, CanonicalJson(record));
  ASSIGN_OR_RETURN(Digest record_blob, blobs_->PutBytes(text));
  std::string label = "artifact-" + std::to_string(artifact_id);

  std::vector<registry::PushLayer> layers;
  layers.push_back(Layer(record_blob, kArtifactRecordLayer, label + ".json",
                         "artifact-record"));
  if (blobs_->Contains(digest) && data::IsTreeBlob(*blobs_, digest)) {
    ASSIGN_OR_RETURN(std::vector<registry::PushLayer> tree,
                     TreeLayers(*blobs_, digest, label));
    layers.insert(layers.end(), tree.begin(), tree.end());
  } else {
    registry::PushLayer layer = Layer(digest, kBlobLayer, label, "artifact");
    layer.annotations["lockstep.type"] = artifact.type;
    layers.push_back(layer);
  }
  DropRepeatedLayers(&layers);
  RETURN_IF_ERROR(
      BundleSmallFiles(blobs_, label + "/", bundle_sizes_, &layers));

  registry::PushRequest request;
  request.artifact_type = std::string(kArtifactArtifact);
  request.layers = layers;
  request.annotations = {{"lockstep.artifact-type", artifact.type}};
  ASSIGN_OR_RETURN(registry::PushResult pushed, Send(target, request));
  return Summarize("artifact", target, pushed, layers.size());
}

}  // namespace lockstep::share
