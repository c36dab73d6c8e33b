// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Sharing runs, snapshots and artifacts through any OCI registry: each
// becomes an OCI artifact whose layers are everything needed to use it
// elsewhere (a run: its manifest and every blob the manifest needs to
// reproduce; a snapshot: its record and bytes), and a pull re-registers
// it in the local lineage store, so `lockstep reproduce RUN` works
// offline afterwards. The layout is docs/formats/oci-artifacts.md.

#ifndef LOCKSTEP_SHARE_SHARE_H_
#define LOCKSTEP_SHARE_SHARE_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "metadata/metadata_store.h"
#include "metadata/run_view.h"
#include "registry/client.h"
#include "share/bundle.h"
#include "store/blob_store.h"

namespace lockstep::share {

using Json = nlohmann::json;

// Manifest artifactTypes.
inline constexpr std::string_view kRunArtifact =
    "application/vnd.lockstep.run.v1+json";
inline constexpr std::string_view kModelArtifact =
    "application/vnd.lockstep.model.v1";
inline constexpr std::string_view kSnapshotArtifact =
    "application/vnd.lockstep.snapshot.v1";
inline constexpr std::string_view kArtifactArtifact =
    "application/vnd.lockstep.artifact.v1";

// Layer media types.
inline constexpr std::string_view kManifestLayer =
    "application/vnd.lockstep.manifest.v1+json";
inline constexpr std::string_view kSnapshotRecordLayer =
    "application/vnd.lockstep.snapshot.v1+json";
inline constexpr std::string_view kArtifactRecordLayer =
    "application/vnd.lockstep.artifact.v1+json";
inline constexpr std::string_view kTreeLayer =
    "application/vnd.lockstep.tree.v1";
inline constexpr std::string_view kBlobLayer = "application/octet-stream";

// The lineage type of a pulled layer that no Lockstep record describes.
inline constexpr char kPulledFileType[] = "File";

// What one push sent.
struct PushSummary {
  std::string kind;  // run, snapshot or artifact
  std::string reference;  // REGISTRY/REPO:TAG as pushed
  Digest manifest;
  size_t layers = 0;
  size_t uploaded = 0;
  size_t skipped = 0;
  size_t mounted = 0;
  // For a run: its Model outputs, each pushed as an artifact of its own
  // (the run artifact is a referrer of the first).
  std::vector<PushSummary> models;

  Json ToJson() const;
};

// What one pull brought and registered.
struct PullSummary {
  registry::PullResult pulled;
  std::string artifact_type;
  std::string kind;  // run, snapshot, artifact or other
  std::string run_id;                  // a run
  std::string manifest_path;           // a run
  std::vector<std::string> snapshots;  // NAME@V registered (or present)
  std::vector<int64_t> artifacts;      // artifact ids registered
  std::vector<std::string> missing;    // needed blobs the pull lacked
  // A run's NAME@V that names another dataset here: the run keeps its
  // own by digest, and the local name is left alone.
  std::vector<std::string> renamed_away;
  size_t bundled_files = 0;  // files unpacked from bundles, verified
  std::vector<std::string> files;  // written under the output folder

  Json ToJson() const;
};

class Sharer {
 public:
  // All three must outlive the Sharer; `blobs` is the store's blob store
  // (its root is the store folder).
  Sharer(store::BlobStore* blobs, metadata::MetadataStore* metadata,
         registry::Client* client)
      : blobs_(blobs), metadata_(metadata), client_(client) {}

  // Try a cross-repository mount from this repository first.
  void set_mount_from(std::string repository) {
    mount_from_ = std::move(repository);
  }

  // How large the bundles of small folder files are (share/bundle.h).
  void set_bundle_sizes(const BundleSizes& sizes) { bundle_sizes_ = sizes; }

  // Pushes a recorded run: its manifest and every blob it needs, plus its
  // Model outputs as artifacts of their own (tagged TAG-model, TAG-model-2,
  // ...) with the run attached as their referrer. NotFound for an unknown
  // run or a needed blob missing from the store.
  Result<PushSummary> PushRun(const std::string& run_id,
                              const registry::Reference& target);

  // Pushes a snapshot (`NAME@V` or `NAME`, the latest): its record and its
  // bytes (a folder: its tree and every file).
  Result<PushSummary> PushSnapshot(const std::string& ref,
                                   const registry::Reference& target);

  // Pushes a lineage-store artifact: its record and its blob.
  Result<PushSummary> PushArtifact(int64_t artifact_id,
                                   const registry::Reference& target);

  // Pulls `source` (verifying every digest) and re-registers what it is:
  // a run gets its manifest written under <store>/runs/RUN/ (hash
  // checked) and a row in the runs table; snapshot records become Dataset
  // artifacts and snapshot rows; artifact records become artifacts.
  // AlreadyExists when the local store has the same run or NAME@V with
  // other content. With an `output` folder, every layer is also written
  // there as a file (share/layer_files.h); names that clash are refused
  // before anything is registered.
  Result<PullSummary> Pull(const registry::Reference& source,
                           const std::filesystem::path& output = {});

  // The run id of a run manifest pulled from `origin`, once its kind,
  // version, top-level shape (manifest::CheckManifestShape), hash, id
  // and steps (their names, states, ports and digests, as recording them
  // in the lineage needs) are checked: InvalidArgument naming the field.
  static Result<std::string> RunIdOf(const Json& manifest,
                                     const std::string& origin);

 private:
  Result<registry::PushResult> Send(const registry::Reference& target,
                                    registry::PushRequest request);
  // The snapshot a run's manifest `data` entry names, as this store
  // holds it: NAME@V when it has the entry's digest here, else an
  // unnamed Dataset with that digest under the run's NAME@V; nullopt
  // when this store has neither.
  Result<std::optional<metadata::Snapshot>> SnapshotOfRun(const Json& data);
  // The snapshot's record as a layer titled `title`.
  Result<registry::PushLayer> SnapshotRecordLayer(const std::string& title,
                                                  const metadata::Snapshot&);
  // Stores the files of every bundle layer (share/bundle.h) into packs,
  // verified; returns how many there were.
  Result<size_t> UnpackBundles(const registry::PullResult& pulled);
  // Registers pulled run `run_id`, its manifest checked by RunIdOf.
  Status RegisterRun(const Json& manifest, const std::string& bytes,
                     const std::string& run_id, const std::string& origin,
                     PullSummary* summary);
  // Records the steps of pulled run `run_id` (its manifest's "steps")
  // as executions in `contexts`, with the artifacts they read and wrote.
  Status RecordPulledSteps(const Json& manifest, const std::string& run_id,
                           const std::string& origin,
                           const std::vector<int64_t>& contexts);
  // A pulled step that was a cache hit (state "cached") wrote the
  // artifacts of the run that produced them (its "produced_by_run"):
  // when that run is recorded here too, `record`'s outputs become them.
  // `produced` keeps each producing run's steps once read.
  using ProducedSteps =
      std::map<std::string, std::vector<metadata::RunStep>>;
  Status LinkCachedOutputs(const Json& step, ProducedSteps* produced,
                           metadata::ExecutionRecord* record);
  // Links `record`, the pulled manifest step `step`, to what it read: an
  // output of an earlier step of the run (`records`, by name in
  // `record_of`) or, for any other input, KnownInputArtifact.
  Status LinkPulledInputs(
      const Json& step,
      const std::vector<metadata::ExecutionRecord>& records,
      const std::map<std::string, size_t>& record_of,
      metadata::ExecutionRecord* record);
  // The artifact of this store a pulled step's input `from` with
  // `digest` is: DatasetOf the snapshot it names (`snapshot:NAME@V`), or
  // of none.
  Result<int64_t> KnownInputArtifact(const std::string& from,
                                     const std::string& digest);
  // The dataset of bytes `digest` that a run names NAME@V, as this store
  // holds it: the snapshot NAME@V when it has those bytes here, else any
  // Dataset with them (a pull keeps one unnamed where NAME@V is another
  // dataset); 0 when there is none. An empty `name` names no snapshot.
  Result<int64_t> DatasetOf(const std::string& name, int64_t version,
                            const std::string& digest);
  Status RegisterSnapshot(const Json& record, const std::string& origin,
                          PullSummary* summary);
  // Records the dataset of a pulled snapshot record (`label`, NAME@V, of
  // bytes `digest`) as the output of a lockstep/pull execution from
  // `origin`; its artifact id.
  Result<int64_t> RecordPulledDataset(const std::string& label,
                                      const Json& record,
                                      const std::string& digest,
                                      const std::string& origin);
  Status RegisterArtifact(const Json& record, PullSummary* summary);
  // Records each layer of an artifact that carries no Lockstep record
  // (files, another tool's artifact) as a pulled artifact.
  // `annotations` are the pulled manifest's (a model's: its run and
  // output).
  Status RegisterLayers(const std::string& origin, const Json& annotations,
                        PullSummary* summary);
  // Records `artifacts` as the outputs (on `port`) of one
  // lockstep/pull-artifact execution named `name`, which makes them
  // retention roots; returns their ids, in order.
  Result<std::vector<int64_t>> RecordPulledArtifacts(
      const std::string& name, const std::string& port,
      std::vector<metadata::Artifact> artifacts);

  store::BlobStore* blobs_;
  metadata::MetadataStore* metadata_;
  registry::Client* client_;
  std::string mount_from_;
  BundleSizes bundle_sizes_;
};

// True when `run_id` is safe as one path component and as a command-line
// argument: letters, digits, '.', '_', '-', starting with a letter or
// digit.
bool IsValidRunId(std::string_view run_id);

}  // namespace lockstep::share

#endif  // LOCKSTEP_SHARE_SHARE_H_
