// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// The pull half of share.h: fetch an OCI artifact and re-register the
// run, snapshots and artifacts it carries in the local lineage store.

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "core/canonical_json.h"
#include "core/clock.h"
#include "core/files.h"
#include "core/log.h"
#include "core/utf8.h"
#include "data/snapshot.h"
#include "data/snapshot_record.h"
#include "manifest/manifest.h"
#include "manifest/retention.h"
#include "metadata/compare.h"
#include "metadata/run_view.h"
#include "pipeline/step_paths.h"
#include "share/layer_files.h"
#include "share/share.h"

namespace lockstep::share {

namespace {

// Records and manifests are small; anything larger is not one of ours.
constexpr uint64_t kMaxRecordBytes = 4u << 20;

Result<std::string> ReadSmallLayer(const store::BlobStore& blobs,
                                   const registry::PushLayer& layer) {
  ASSIGN_OR_RETURN(uint64_t size, blobs.SizeOf(layer.digest));
  if (size > kMaxRecordBytes) {
    return Status::InvalidArgument("layer " + layer.digest.ToString() + " (" +
                                   layer.media_type + ") is " +
                                   std::to_string(size) +
                                   " bytes; at most 4 MiB expected");
  }
  return blobs.ReadVerified(layer.digest);
}

// The record layer's JSON object, whose "kind" must be `kind`. A key
// given twice is refused: which copy counts would depend on the reader.
Result<Json> ReadRecord(const store::BlobStore& blobs,
                        const registry::PushLayer& layer,
                        const std::string& kind) {
  std::string what = "record layer " + layer.digest.ToString();
  ASSIGN_OR_RETURN(std::string text, ReadSmallLayer(blobs, layer));
  ASSIGN_OR_RETURN(Json record, ParseJsonWithUniqueKeys(text, what));
  if (!record.is_object()) {
    return Status::InvalidArgument(what + ": must be a JSON object");
  }
  if (record.value("kind", Json()) != kind) {
    return Status::InvalidArgument(what + ": field 'kind' must be \"" +
                                   kind + "\"");
  }
  return record;
}

std::string KindOf(const std::string& artifact_type) {
  if (artifact_type == kRunArtifact) return "run";
  if (artifact_type == kSnapshotArtifact) return "snapshot";
  if (artifact_type == kArtifactArtifact) return "artifact";
  if (artifact_type == kModelArtifact) return "model";
  return "other";
}

// The string member `key` of `record`, or InvalidArgument naming it.
Result<std::string> StringField(const Json& record, const std::string& key,
                                const std::string& what) {
  auto found = record.find(key);
  if (found == record.end() || !found->is_string() ||
      found->get<std::string>().empty()) {
    return Status::InvalidArgument(what + ": field '" + key +
                                   "' must be a non-empty string");
  }
  return found->get<std::string>();
}

// InvalidArgument naming `where` unless `value` is a string that parses
// as a digest (`may_be_null`: or null, an output a failed step never
// wrote).
Status CheckDigestField(const Json& value, const std::string& where,
                        bool may_be_null = false) {
  if (may_be_null && value.is_null()) return Status::Ok();
  if (value.is_string() && Digest::Parse(value.get<std::string>()).ok()) {
    return Status::Ok();
  }
  return Status::InvalidArgument(where + ": want a digest");
}

// InvalidArgument naming `where` unless `step[key]`, when present (or
// always, with `required`), is a string.
Status CheckStringField(const Json& step, const char* key,
                        const std::string& where, bool required = false) {
  auto found = step.find(key);
  if (found == step.end() ? !required : found->is_string()) {
    return Status::Ok();
  }
  return Status::InvalidArgument(where + "." + key + ": want a string");
}

// The ports of one step's "inputs" or "outputs" (`kind`): an object of
// simple names, each an object whose digest is one.
Status CheckPulledPorts(const Json& step, const char* kind,
                        const std::string& where) {
  auto ports = step.find(kind);
  if (ports == step.end()) return Status::Ok();
  std::string at = where + "." + kind;
  if (!ports->is_object()) {
    return Status::InvalidArgument(at + ": want an object");
  }
  bool output = std::string_view(kind) == "outputs";
  for (const auto& [port, entry] : ports->items()) {
    std::string port_at = at + "." + DisplayPath(port);
    if (!pipeline::IsSimpleName(port)) {
      return Status::InvalidArgument(port_at + ": not a port name");
    }
    if (!entry.is_object()) {
      return Status::InvalidArgument(port_at + ": want an object");
    }
    RETURN_IF_ERROR(CheckDigestField(entry.value("digest", Json()),
                                     port_at + ".digest", output));
    RETURN_IF_ERROR(
        CheckStringField(entry, output ? "type" : "from", port_at));
  }
  return Status::Ok();
}

// What recording a pulled run's steps in the lineage relies on, checked
// before anything of the pull is registered: a manifest's hash proves
// only that it is the one its author sealed, not that it is well formed
// (found by a tester: `"component": 5` ended a pull in an exception).
Status CheckPulledSteps(const Json& steps, const std::string& what) {
  std::set<std::string> names;
  for (size_t i = 0; i < steps.size(); ++i) {
    const Json& step = steps[i];
    std::string where = what + " steps[" + std::to_string(i) + "]";
    if (!step.is_object()) {
      return Status::InvalidArgument(where + ": want an object");
    }
    const Json& name = step.value("name", Json());
    if (!name.is_string() ||
        !pipeline::IsStepRecordName(name.get<std::string>())) {
      return Status::InvalidArgument(where + ".name: not a step name");
    }
    if (!names.insert(name.get<std::string>()).second) {
      return Status::InvalidArgument(where + ".name: '" +
                                     name.get<std::string>() +
                                     "' appears twice");
    }
    for (const char* key : {"component", "state", "cache_key"}) {
      RETURN_IF_ERROR(CheckStringField(step, key, where, true));
    }
    for (const char* key : {"message", "produced_by_run"}) {
      RETURN_IF_ERROR(CheckStringField(step, key, where));
    }
    RETURN_IF_ERROR(CheckPulledPorts(step, "inputs", where));
    RETURN_IF_ERROR(CheckPulledPorts(step, "outputs", where));
  }
  return Status::Ok();
}

// What sets one manifest of an index apart: its platform, else its
// artifactType; empty when it has neither.
std::string IndexEntryLabel(const Json& entry) {
  auto platform = entry.find("platform");
  if (platform != entry.end() && platform->is_object()) {
    std::string label = platform->value("os", std::string()) + "/" +
                        platform->value("architecture", std::string());
    std::string variant = platform->value("variant", std::string());
    return variant.empty() ? label : label + "/" + variant;
  }
  return entry.value("artifactType", std::string());
}

// How many of an index's manifests a refusal lists.
constexpr size_t kIndexEntriesNamed = 10;

// --output writes the files of one manifest, and an image index has none
// of its own; what it lists may be one manifest per platform, whose
// files would collide. InvalidArgument for an index, naming the
// manifests it lists as references to pull with --output instead.
Status CheckManifestHasFiles(const registry::Reference& source,
                             const registry::PullResult& pulled) {
  if (pulled.media_type != registry::kOciIndex &&
      pulled.media_type != registry::kDockerManifestList) {
    return Status::Ok();
  }
  // The client parsed and verified this body already.
  Json index = Json::parse(pulled.body, nullptr, false);
  Json entries = index.is_object() ? index.value("manifests", Json::array())
                                   : Json::array();
  std::string message = source.ToString() +
                        " is an image index, which has no files of its own "
                        "(--output writes those of one manifest)";
  if (!entries.is_array() || entries.empty()) {
    return Status::InvalidArgument(message + ", and it lists no manifest");
  }
  message += "; pull one of the " + std::to_string(entries.size()) +
             " it lists with --output:";
  for (size_t i = 0; i < entries.size() && i < kIndexEntriesNamed; ++i) {
    const Json& entry = entries[i];
    std::string digest =
        entry.is_object() ? entry.value("digest", std::string()) : "";
    message += (i == 0 ? " " : ", ") + source.registry + "/" +
               source.repository + "@" + digest;
    std::string label = entry.is_object() ? IndexEntryLabel(entry) : "";
    if (!label.empty()) message += " (" + label + ")";
  }
  if (entries.size() > kIndexEntriesNamed) {
    message += ", and " +
               std::to_string(entries.size() - kIndexEntriesNamed) + " more";
  }
  return Status::InvalidArgument(message);
}

}  // namespace

Json PullSummary::ToJson() const {
  Json out = {{"digest", pulled.manifest.ToString()},
              {"mediaType", pulled.media_type},
              {"artifactType", artifact_type},
              {"kind", kind},
              {"downloaded", pulled.downloaded},
              {"alreadyPresent", pulled.present},
              {"snapshots", snapshots},
              {"artifacts", artifacts},
              {"missing", missing},
              {"snapshotsNamedOtherwiseHere", renamed_away},
              {"bundledFiles", bundled_files},
              {"files", files}};
  if (!run_id.empty()) {
    out["run"] = run_id;
    out["manifest"] = manifest_path;
  }
  return out;
}

Result<PullSummary> Sharer::Pull(const registry::Reference& source,
                                 const std::filesystem::path& output) {
  PullSummary summary;
  ASSIGN_OR_RETURN(summary.pulled, client_->Pull(source));
  if (!output.empty()) {
    Status writable = CheckManifestHasFiles(source, summary.pulled);
    if (writable.ok()) {
      writable = CheckLayerFileNames(summary.pulled.layers);
    }
    if (writable.ok()) {
      writable = CheckOutputFolder(summary.pulled.layers, output);
    }
    if (!writable.ok()) {
      return Status::InvalidArgument("--output: " + writable.message() +
                                     "; nothing was registered or written");
    }
  }
  Result<Json> body = ParseJson(summary.pulled.body, source.ToString());
  Json annotations = Json::object();
  if (body.ok() && body->is_object()) {
    summary.artifact_type = body->value("artifactType", std::string());
    annotations = body->value("annotations", Json::object());
  }
  summary.kind = KindOf(summary.artifact_type);
  std::string origin = source.PinnedTo(summary.pulled.manifest);
  ASSIGN_OR_RETURN(summary.bundled_files, UnpackBundles(summary.pulled));

  // The run's manifest first: records are only registered for a valid run.
  Json run_manifest;
  std::string run_bytes;
  std::string run_id;
  if (summary.kind == "run") {
    const registry::PushLayer* manifest_layer = nullptr;
    for (const registry::PushLayer& layer : summary.pulled.layers) {
      if (layer.media_type != kManifestLayer) continue;
      if (manifest_layer != nullptr) {
        return Status::InvalidArgument(origin + ": more than one run "
                                       "manifest layer");
      }
      manifest_layer = &layer;
    }
    if (manifest_layer == nullptr) {
      return Status::InvalidArgument(origin + ": a run artifact without a "
                                     "manifest layer (" +
                                     std::string(kManifestLayer) + ")");
    }
    ASSIGN_OR_RETURN(std::string bytes,
                     ReadSmallLayer(*blobs_, *manifest_layer));
    ASSIGN_OR_RETURN(run_manifest,
                     ParseJsonWithUniqueKeys(bytes, "run manifest layer"));
    ASSIGN_OR_RETURN(run_id, RunIdOf(run_manifest, origin));
    run_bytes = std::move(bytes);
  }

  for (const registry::PushLayer& layer : summary.pulled.layers) {
    if (layer.media_type == kSnapshotRecordLayer) {
      ASSIGN_OR_RETURN(Json record,
                       ReadRecord(*blobs_, layer, "lockstep.snapshot"));
      RETURN_IF_ERROR(RegisterSnapshot(record, origin, &summary));
    } else if (layer.media_type == kArtifactRecordLayer) {
      ASSIGN_OR_RETURN(Json record,
                       ReadRecord(*blobs_, layer, "lockstep.artifact"));
      RETURN_IF_ERROR(RegisterArtifact(record, &summary));
    }
  }
  // After its snapshots, which its steps' lineage names.
  if (summary.kind == "run") {
    RETURN_IF_ERROR(
        RegisterRun(run_manifest, run_bytes, run_id, origin, &summary));
  }

  // Files, or any artifact not made by Lockstep: its layers are recorded
  // as what the pull brought, so gc keeps them like any pulled artifact.
  if (summary.run_id.empty() && summary.snapshots.empty() &&
      summary.artifacts.empty()) {
    RETURN_IF_ERROR(RegisterLayers(origin, annotations, &summary));
  }

  if (!output.empty()) {
    ASSIGN_OR_RETURN(std::vector<std::filesystem::path> written,
                     WriteLayerFiles(*blobs_, summary.pulled.layers, output));
    for (const std::filesystem::path& path : written) {
      summary.files.push_back(path.string());
    }
  }
  return summary;
}

Result<size_t> Sharer::UnpackBundles(const registry::PullResult& pulled) {
  // One writer for every bundle: its packs are as large as a snapshot's,
  // whatever size the pusher's bundles had.
  store::PackWriter packs(blobs_);
  size_t files = 0;
  for (const registry::PushLayer& layer : pulled.layers) {
    if (layer.media_type != kPackLayer) continue;
    ASSIGN_OR_RETURN(size_t unpacked,
                     UnpackBundle(blobs_, layer, bundle_sizes_, &packs));
    files += unpacked;
  }
  // Durable before any record that names the files is registered.
  RETURN_IF_ERROR(packs.Finish());
  return files;
}

Result<std::string> Sharer::RunIdOf(const Json& manifest,
                                    const std::string& origin) {
  if (!manifest.is_object() ||
      manifest.value("kind", Json()) != "lockstep.run" ||
      manifest.value("manifest_version", Json()) !=
          manifest::kManifestVersion) {
    return Status::InvalidArgument(origin + ": the manifest layer is not a "
                                   "version 1 lockstep.run manifest");
  }
  // As `manifest verify` checks it: a run without its steps list (found
  // by a tester) was registered, and then every gc refused the store.
  RETURN_IF_ERROR(manifest::CheckManifestShape(manifest).WithContext(
      origin + " manifest"));
  RETURN_IF_ERROR(manifest::VerifyManifestHash(manifest).WithContext(origin));
  RETURN_IF_ERROR(CheckPulledSteps(manifest["steps"], origin + " manifest"));
  ASSIGN_OR_RETURN(std::string run_id,
                   StringField(manifest, "run_id", origin + " manifest"));
  if (!IsValidRunId(run_id)) {
    return Status::InvalidArgument(origin + ": bad run id '" + run_id + "'");
  }
  return run_id;
}

Status Sharer::RegisterRun(const Json& manifest, const std::string& bytes,
                           const std::string& run_id,
                           const std::string& origin, PullSummary* summary) {
  std::string hash = manifest["manifest_hash"].get<std::string>();
  summary->run_id = run_id;
  std::filesystem::path path = manifest::ManifestPath(blobs_->root(), run_id);
  summary->manifest_path = path.string();

  // The same run may be pulled twice; another run under its id may not.
  Result<metadata::Run> known = metadata_->GetRun(run_id);
  if (known.ok() && known->manifest_hash != hash) {
    return Status::AlreadyExists(
        "run " + run_id + " is already recorded here with manifest hash " +
        known->manifest_hash + "; the pulled one has " + hash);
  }
  if (!known.ok() && !known.status().IsNotFound()) return known.status();
  Result<std::string> existing = ReadFile(path);
  if (existing.ok() && *existing != bytes) {
    Result<Json> parsed = ParseJsonWithUniqueKeys(*existing, path.string());
    if (!parsed.ok() || parsed->value("manifest_hash", "") != hash) {
      return Status::AlreadyExists(path.string() + " holds another manifest");
    }
  }
  if (!existing.ok()) RETURN_IF_ERROR(WriteFileAtomically(path, bytes));

  // Blobs the manifest needs that the artifact did not bring.
  for (const manifest::NeededBlob& need :
       manifest::ManifestNeeds(manifest, blobs_)) {
    if (!blobs_->Contains(need.digest)) {
      summary->missing.push_back(need.name + " (" + need.digest.ToString() +
                                 ")");
    }
  }
  if (known.ok()) {
    return Status::Ok();
  }

  ASSIGN_OR_RETURN(int64_t context,
                   metadata_->PutContext({.type = "run", .name = run_id}));
  metadata::Run run;
  run.run_id = run_id;
  run.context_id = context;
  run.pipeline = manifest.value("pipeline", Json::object())
                     .value("name", std::string());
  // The steps before the run: the run's row says its record is whole, so
  // a pull killed between the two records the steps again, once.
  ASSIGN_OR_RETURN(std::vector<metadata::Execution> recorded,
                   metadata_->ExecutionsInContext(context));
  if (recorded.empty()) {
    std::vector<int64_t> contexts = {context};
    if (!run.pipeline.empty()) {
      ASSIGN_OR_RETURN(int64_t pipeline,
                       metadata_->PutContext(
                           {.type = "pipeline", .name = run.pipeline}));
      contexts.push_back(pipeline);
    }
    RETURN_IF_ERROR(RecordPulledSteps(manifest, run_id, origin, contexts));
  }
  run.status = manifest.value("status", std::string("succeeded"));
  run.started_ms =
      ParseRfc3339(manifest.value("started", std::string())).value_or(0);
  run.finished_ms =
      ParseRfc3339(manifest.value("finished", std::string())).value_or(0);
  run.manifest_path = path.string();
  run.manifest_hash = hash;
  run.labels = {{"pulled_from", origin}};
  return metadata_->CreateRun(run);
}

namespace {

// The lineage state of a manifest step's "state".
metadata::ExecutionState PulledStepState(const std::string& state) {
  using metadata::ExecutionState;
  if (state == "ran") return ExecutionState::kComplete;
  if (state == "cached" || state == "reused") {
    return ExecutionState::kCached;
  }
  if (state == "failed") return ExecutionState::kFailed;
  if (state == "skipped") return ExecutionState::kSkipped;
  if (state == "cancelled") return ExecutionState::kCancelled;
  return ExecutionState::kNew;
}

// The execution of a pulled step, without its artifacts. It has no cache
// key (the key is kept among its properties): the cache trusts only
// what this store ran, and a registry can hand over any manifest whose
// hash matches its own bytes, so a pulled key could name any output.
metadata::Execution PulledExecution(const Json& step,
                                    const std::string& run_id,
                                    const std::string& origin) {
  metadata::Execution execution;
  execution.type = step.value("component", std::string());
  execution.name = step.value("name", std::string());
  execution.state = PulledStepState(step.value("state", std::string()));
  execution.properties = {{"run_id", run_id}, {"pulled_from", origin}};
  for (const char* field :
       {"cache_key", "invocation", "message", "produced_by_run"}) {
    if (step.contains(field)) {
      execution.properties[field] = step[field];
    }
  }
  return execution;
}

// The artifacts a pulled step wrote, as its manifest entry lists them.
std::vector<std::pair<std::string, metadata::Artifact>> PulledOutputs(
    const Json& step, const std::string& run_id, store::BlobStore* blobs) {
  std::vector<std::pair<std::string, metadata::Artifact>> outputs;
  std::string name = step.value("name", std::string());
  // Held here: a range-for over .items() of a temporary would dangle.
  const Json outputs_entry = step.value("outputs", Json::object());
  for (const auto& [port, output] : outputs_entry.items()) {
    if (!output.is_object() || !output.value("digest", Json()).is_string()) {
      continue;  // A step that failed wrote nothing.
    }
    metadata::Artifact artifact;
    artifact.type = output.value("type", std::string("Artifact"));
    artifact.digest = output["digest"].get<std::string>();
    artifact.uri = "lockstep://runs/" + run_id + "/" + name + "/" + port;
    Result<Digest> digest = Digest::Parse(artifact.digest);
    Result<uint64_t> size = digest.ok() ? blobs->SizeOf(*digest)
                                        : Result<uint64_t>(digest.status());
    if (size.ok()) artifact.properties["size"] = *size;
    if (output.value("folder", Json()) == true) {
      artifact.properties["format"] = "tar";
    }
    // Its values, as a run here records them: diff compares them (found
    // by a tester: a pulled run's metrics all read as changed).
    if (metadata::IsMetricsType(artifact.type) && size.ok()) {
      Result<std::string> bytes = blobs->ReadVerified(*digest);
      Json metrics = bytes.ok() ? metadata::ParseMetrics(*bytes) : Json();
      if (metrics.is_object()) artifact.properties["metrics"] = metrics;
    }
    outputs.push_back({port, artifact});
  }
  return outputs;
}

// A for_each step's collection (its lockstep/collect entry, NAME) reads
// its iterations' outputs, so it is recorded after them (NAME[0], ...),
// which a manifest lists after it; everything else in manifest order.
std::vector<const Json*> InLineageOrder(const Json& steps) {
  std::map<std::string, size_t> last_iteration;
  for (size_t i = 0; i < steps.size(); ++i) {
    std::string name = steps[i].value("name", "");
    size_t bracket = name.find('[');
    if (bracket != std::string::npos) {
      last_iteration[name.substr(0, bracket)] = i;
    }
  }
  std::vector<std::pair<double, const Json*>> keyed;
  for (size_t i = 0; i < steps.size(); ++i) {
    auto found = last_iteration.find(steps[i].value("name", ""));
    bool collects = steps[i].value("component", "") == "lockstep/collect";
    double key = collects && found != last_iteration.end()
                     ? found->second + 0.5
                     : static_cast<double>(i);
    keyed.push_back({key, &steps[i]});
  }
  std::stable_sort(keyed.begin(), keyed.end(),
                   [](const auto& a, const auto& b) {
                     return a.first < b.first;
                   });
  std::vector<const Json*> ordered;
  for (const auto& [key, step] : keyed) ordered.push_back(step);
  return ordered;
}

// A collection's inputs, as a run records them: output PORT of
// iteration NAME[I] as the port PORT[I].
void LinkCollectedIterations(
    const std::string& name,
    const std::vector<metadata::ExecutionRecord>& records,
    const std::map<std::string, size_t>& record_of,
    metadata::ExecutionRecord* record) {
  for (size_t i = 0;; ++i) {
    std::string index = "[" + std::to_string(i) + "]";
    auto iteration = record_of.find(name + index);
    if (iteration == record_of.end()) return;
    for (const auto& output : records[iteration->second].outputs) {
      record->batch_inputs.push_back(
          {output.first + index, iteration->second, output.first});
    }
  }
}

}  // namespace

Status Sharer::LinkPulledInputs(
    const Json& step, const std::vector<metadata::ExecutionRecord>& records,
    const std::map<std::string, size_t>& record_of,
    metadata::ExecutionRecord* record) {
  if (step.value("component", "") == "lockstep/collect") {
    LinkCollectedIterations(step.value("name", ""), records, record_of,
                            record);
  }
  const Json inputs = step.value("inputs", Json::object());
  for (const auto& [port, input] : inputs.items()) {
    if (!input.is_object()) continue;
    std::string from = input.value("from", std::string());
    size_t dot = from.rfind('.');
    auto producer = dot == std::string::npos
                        ? record_of.end()
                        : record_of.find(from.substr(0, dot));
    if (producer != record_of.end()) {
      std::string made = from.substr(dot + 1);
      for (const auto& output : records[producer->second].outputs) {
        if (output.first == made) {
          record->batch_inputs.push_back({port, producer->second, made});
        }
      }
      continue;
    }
    if (!input.value("digest", Json()).is_string()) continue;
    std::string digest = input["digest"].get<std::string>();
    ASSIGN_OR_RETURN(int64_t artifact, KnownInputArtifact(from, digest));
    if (artifact != 0) record->inputs.push_back({port, artifact});
  }
  return Status::Ok();
}

Result<int64_t> Sharer::KnownInputArtifact(const std::string& from,
                                           const std::string& digest) {
  // Only a dataset: linking to any output with the same bytes made an
  // unrelated step's output the pulled step's input (found by a tester).
  Result<data::SnapshotRef> named =
      from.starts_with("snapshot:")
          ? data::ParseSnapshotRef(from.substr(9))
          : Result<data::SnapshotRef>(data::SnapshotRef{});
  if (!named.ok()) return DatasetOf("", 0, digest);
  return DatasetOf(named->name, named->version, digest);
}

Result<int64_t> Sharer::DatasetOf(const std::string& name, int64_t version,
                                  const std::string& digest) {
  Result<metadata::Snapshot> snapshot =
      name.empty() ? Result<metadata::Snapshot>(Status::NotFound(""))
                   : metadata_->GetSnapshot(name, version);
  if (snapshot.ok()) {
    ASSIGN_OR_RETURN(metadata::Artifact artifact,
                     metadata_->GetArtifact(snapshot->artifact_id));
    if (artifact.digest == digest) return artifact.id;
  } else if (!snapshot.status().IsNotFound()) {
    return snapshot.status();
  }
  ASSIGN_OR_RETURN(std::vector<metadata::Artifact> same,
                   metadata_->FindArtifactsByDigest(digest));
  for (const metadata::Artifact& artifact : same) {
    if (artifact.type == "Dataset") return artifact.id;
  }
  return 0;
}

Status Sharer::LinkCachedOutputs(const Json& step, ProducedSteps* produced,
                                 metadata::ExecutionRecord* record) {
  std::string producer = step.value("produced_by_run", "");
  if (step.value("state", "") != "cached" || producer.empty()) {
    return Status::Ok();
  }
  // Each producing run's steps read once: a run of many cached steps
  // names the same one over and over.
  auto known = produced->find(producer);
  if (known == produced->end()) {
    std::vector<metadata::RunStep> made;
    Result<metadata::Run> run = metadata_->GetRun(producer);
    if (run.ok()) {
      ASSIGN_OR_RETURN(made, metadata::StepsOfRun(metadata_, *run));
    } else if (!run.status().IsNotFound()) {
      return run.status();
    }
    known = produced->emplace(producer, std::move(made)).first;
  }
  for (const metadata::RunStep& original : known->second) {
    if (original.execution.name != record->execution.name) continue;
    for (auto& [port, artifact] : record->outputs) {
      for (const metadata::StepArtifact& output : original.outputs) {
        if (output.port == port &&
            output.artifact.digest == artifact.digest) {
          artifact = output.artifact;  // Linked by its id, not made anew.
        }
      }
    }
  }
  return Status::Ok();
}

Status Sharer::RecordPulledSteps(const Json& manifest,
                                 const std::string& run_id,
                                 const std::string& origin,
                                 const std::vector<int64_t>& contexts) {
  const Json& steps = manifest["steps"];  // A list: RunIdOf checked it.
  std::vector<metadata::ExecutionRecord> records;
  std::map<std::string, size_t> record_of;  // Step name -> its record.
  ProducedSteps produced;
  for (const Json* entry : InLineageOrder(steps)) {
    const Json& step = *entry;
    metadata::ExecutionRecord record;
    record.execution = PulledExecution(step, run_id, origin);
    record.context_ids = contexts;
    record.outputs = PulledOutputs(step, run_id, blobs_);
    RETURN_IF_ERROR(LinkCachedOutputs(step, &produced, &record));
    RETURN_IF_ERROR(LinkPulledInputs(step, records, record_of, &record));
    record_of[record.execution.name] = records.size();
    records.push_back(std::move(record));
  }
  if (records.empty()) return Status::Ok();
  return metadata_->RecordExecutions(&records);
}

Status Sharer::RegisterSnapshot(const Json& record, const std::string& origin,
                                PullSummary* summary) {
  std::string what = origin + " snapshot record";
  ASSIGN_OR_RETURN(std::string name, StringField(record, "name", what));
  auto version = record.find("version");
  if (version == record.end() || !version->is_number_integer() ||
      version->get<int64_t>() < 1) {
    return Status::InvalidArgument(what + ": field 'version' must be a "
                                   "positive integer");
  }
  // The record, not only the manifest's annotation, names what this
  // store then holds: `-rf/../..` would reach paths and command lines.
  if (!data::IsValidNewSnapshotName(name)) {
    return Status::InvalidArgument(what + ": '" + name +
                                   "' is not a valid snapshot name");
  }
  std::string label = name + "@" + std::to_string(version->get<int64_t>());
  RETURN_IF_ERROR(data::ParseSnapshotRef(label).status().WithContext(what));
  ASSIGN_OR_RETURN(std::string digest_text,
                   StringField(record, "digest", what));
  ASSIGN_OR_RETURN(Digest digest, Digest::Parse(digest_text));
  Json properties = record.value("properties", Json::object());
  if (!properties.is_object()) {
    return Status::InvalidArgument(what + ": 'properties' must be an object");
  }
  // Snapshots are Dataset artifacts, whatever the record says.
  if (record.value("type", Json("Dataset")) != "Dataset") {
    return Status::InvalidArgument(what + ": field 'type' must be "
                                   "\"Dataset\"");
  }

  // The bytes must have come along (a folder: its tree and every file).
  if (!blobs_->Contains(digest)) {
    return Status::DataLoss(label + ": its bytes " + digest_text +
                            " were not in the pulled artifact");
  }
  // The record's claims (size, rows, files) before anyone repeats them.
  RETURN_IF_ERROR(
      data::CheckSnapshotProperties(*blobs_, digest, properties, what));
  if (properties.value("kind", "") == "folder") {
    ASSIGN_OR_RETURN(std::vector<Digest> files,
                     manifest::TreeFileDigests(*blobs_, digest));
    // One batched pack lookup, then the store for the rest: a loose
    // lookup first cost a failed stat for each of 100,000 packed files.
    std::vector<bool> packed(files.size());
    for (const auto& [pack, members] : blobs_->packs().GroupByPack(files)) {
      for (size_t i : members) packed[i] = true;
    }
    for (size_t i = 0; i < files.size(); ++i) {
      const Digest& file = files[i];
      if (!packed[i] && !blobs_->Contains(file)) {
        return Status::DataLoss(label + ": file blob " + file.ToString() +
                                " was not in the pulled artifact");
      }
    }
  }

  // Versions are immutable: the same bytes again is fine, others are not.
  Result<metadata::Snapshot> known =
      metadata_->GetSnapshot(name, version->get<int64_t>());
  if (known.ok()) {
    ASSIGN_OR_RETURN(metadata::Artifact artifact,
                     metadata_->GetArtifact(known->artifact_id));
    if (artifact.digest == digest_text) {
      summary->snapshots.push_back(label);
      return Status::Ok();
    }
    // Versions count from 1 in every store, so two machines' docs@1 are
    // often two datasets. A pulled run reads its snapshots by digest: it
    // keeps its own, and this store's docs@1 stays as it is (found by a
    // tester: the pull failed after registering the run, every time).
    if (summary->kind != "run") {
      return Status::AlreadyExists(
          "snapshot " + label + " already exists here with digest " +
          artifact.digest + "; the pulled one has " + digest_text);
    }
    LogWarning("snapshot {} here is another dataset ({}); the pulled run's "
               "{} ({}) is kept by digest, without the name",
               label, artifact.digest, label, digest_text);
    summary->renamed_away.push_back(label);
    // Still a dataset in the lineage, for the run's steps to have read
    // (once: a second pull finds it).
    ASSIGN_OR_RETURN(int64_t kept,
                     DatasetOf(name, version->get<int64_t>(), digest_text));
    if (kept != 0) return Status::Ok();
    return RecordPulledDataset(label, record, digest_text, origin).status();
  }
  if (!known.status().IsNotFound()) return known.status();

  ASSIGN_OR_RETURN(int64_t dataset,
                   RecordPulledDataset(label, record, digest_text, origin));
  RETURN_IF_ERROR(
      metadata_->PutSnapshot({name, version->get<int64_t>(), dataset}));
  summary->snapshots.push_back(label);
  return Status::Ok();
}

Result<int64_t> Sharer::RecordPulledDataset(const std::string& label,
                                            const Json& record,
                                            const std::string& digest,
                                            const std::string& origin) {
  metadata::Artifact dataset;
  dataset.type = "Dataset";
  dataset.uri = record.value("uri", std::string());
  dataset.digest = digest;
  dataset.properties = record.value("properties", Json::object());
  metadata::ExecutionRecord pull;
  pull.execution.type = "lockstep/pull";
  pull.execution.name = label;
  pull.execution.state = metadata::ExecutionState::kComplete;
  pull.execution.properties = {{"origin", origin}};
  pull.outputs.emplace_back("dataset", dataset);
  RETURN_IF_ERROR(metadata_->RecordExecution(&pull).status());
  return pull.outputs[0].second.id;
}

Status Sharer::RegisterArtifact(const Json& record, PullSummary* summary) {
  std::string what = "artifact record";
  ASSIGN_OR_RETURN(std::string type, StringField(record, "type", what));
  ASSIGN_OR_RETURN(std::string digest_text,
                   StringField(record, "digest", what));
  ASSIGN_OR_RETURN(Digest digest, Digest::Parse(digest_text));
  if (!blobs_->Contains(digest)) {
    return Status::DataLoss("artifact " + digest_text +
                            " was not in the pulled artifact");
  }
  ASSIGN_OR_RETURN(std::vector<metadata::Artifact> known,
                   metadata_->FindArtifactsByDigest(digest_text));
  for (const metadata::Artifact& artifact : known) {
    if (artifact.type == type) {
      summary->artifacts.push_back(artifact.id);
      return Status::Ok();
    }
  }
  metadata::Artifact artifact;
  artifact.type = type;
  artifact.uri = record.value("uri", std::string());
  artifact.digest = digest_text;
  Json properties = record.value("properties", Json::object());
  Json custom = record.value("custom_properties", Json::object());
  artifact.properties = properties.is_object() ? properties : Json::object();
  artifact.custom_properties = custom.is_object() ? custom : Json::object();
  ASSIGN_OR_RETURN(std::vector<int64_t> ids,
                   RecordPulledArtifacts(digest_text, "artifact",
                                         {std::move(artifact)}));
  summary->artifacts.push_back(ids[0]);
  return Status::Ok();
}

Result<std::vector<int64_t>> Sharer::RecordPulledArtifacts(
    const std::string& name, const std::string& port,
    std::vector<metadata::Artifact> artifacts) {
  // Recorded as a pull's outputs: that makes them roots gc keeps.
  metadata::ExecutionRecord pull;
  pull.execution.type = manifest::kPulledArtifactExecution;
  pull.execution.name = name;
  pull.execution.state = metadata::ExecutionState::kComplete;
  for (metadata::Artifact& artifact : artifacts) {
    pull.outputs.emplace_back(port, std::move(artifact));
  }
  RETURN_IF_ERROR(metadata_->RecordExecution(&pull).status());
  std::vector<int64_t> ids;
  for (const auto& [unused, artifact] : pull.outputs) {
    ids.push_back(artifact.id);
  }
  return ids;
}

Status Sharer::RegisterLayers(const std::string& origin,
                              const Json& annotations,
                              PullSummary* summary) {
  // Each layer a File; an index (or a manifest without layers) itself,
  // which keeps what it references. A run's model pushed as an artifact
  // of its own is a Model here too, naming its run and output (it was a
  // plain File; found by a tester).
  bool model = summary->kind == "model";
  Json model_notes = Json::object();  // Its run and output, as pushed.
  if (model && annotations.is_object()) {
    for (const char* key : {"lockstep.run", "lockstep.output"}) {
      if (annotations.value(key, Json()).is_string()) {
        model_notes[key] = annotations[key];
      }
    }
  }
  std::vector<metadata::Artifact> brought;
  std::set<std::pair<Digest, std::string>> seen;
  for (const registry::PushLayer& layer : summary->pulled.layers) {
    std::string title = LayerFileName(layer);
    if (!seen.insert({layer.digest, title}).second) continue;
    metadata::Artifact artifact;
    artifact.type = model ? "Model" : kPulledFileType;
    artifact.digest = layer.digest.ToString();
    artifact.custom_properties = {{"mediaType", layer.media_type},
                                  {"title", title}};
    artifact.properties = model_notes;
    brought.push_back(std::move(artifact));
  }
  if (brought.empty()) {
    metadata::Artifact artifact;
    artifact.type = manifest::kPulledManifestType;
    artifact.digest = summary->pulled.manifest.ToString();
    artifact.custom_properties = {{"mediaType", summary->pulled.media_type}};
    brought.push_back(std::move(artifact));
  }

  // Pulled before from the same reference: recorded already.
  std::vector<int64_t> known;
  for (const metadata::Artifact& wanted : brought) {
    ASSIGN_OR_RETURN(std::vector<metadata::Artifact> same,
                     metadata_->FindArtifactsByDigest(wanted.digest));
    for (const metadata::Artifact& artifact : same) {
      if (artifact.type == wanted.type && artifact.uri == origin) {
        known.push_back(artifact.id);
        break;
      }
    }
  }
  if (known.size() == brought.size()) {
    summary->artifacts = known;
    return Status::Ok();
  }

  for (metadata::Artifact& artifact : brought) artifact.uri = origin;
  ASSIGN_OR_RETURN(summary->artifacts,
                   RecordPulledArtifacts(origin, "layer", std::move(brought)));
  return Status::Ok();
}

}  // namespace lockstep::share
