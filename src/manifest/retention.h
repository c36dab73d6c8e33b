// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Retention roots from the lineage store: every blob a recorded run needs
// to be reproduced (its pipeline file, code files and patch, input and
// output digests, data snapshots with, for a folder, its tree and every
// file), the stdout and stderr of every step it recorded, and every live
// snapshot's bytes. Garbage collection and cleanup
// never remove these, and say which run or snapshot keeps each one.
// ManifestNeeds is also the list `lockstep push RUN` sends.

#ifndef LOCKSTEP_MANIFEST_RETENTION_H_
#define LOCKSTEP_MANIFEST_RETENTION_H_

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "metadata/metadata_store.h"
#include "registry/retention.h"
#include "store/blob_store.h"

namespace lockstep::manifest {

using Json = nlohmann::json;

// One blob a run's manifest needs to reproduce, and what it is to the run.
struct NeededBlob {
  Digest digest;
  // pipeline, patch, snapshot, snapshot-file, code, input or output.
  std::string role;
  // A readable name: "pipeline.yaml", "train/model", "code/train.py",
  // "data/iris@1", "data/docs@2/a/b.txt".
  std::string name;
  std::string type;    // An output's artifact type ("Model"), else empty.
  std::string reason;  // "run R needs it (step train, output model)".
};

// The digests a manifest needs, each once (the first use names it), in
// the order pipeline, patch, snapshots, then steps in run order. With
// `blobs`, a folder snapshot's tree is read from it to add every file of
// the folder (role snapshot-file); a tree that cannot be read adds none.
std::vector<NeededBlob> ManifestNeeds(const Json& manifest,
                                      const store::BlobStore* blobs = nullptr);

// ManifestNeeds as retention roots, each with "run RUN needs it (WHAT)".
std::vector<registry::KeptBlob> ManifestRoots(
    const Json& manifest, const store::BlobStore* blobs = nullptr);

// The file digests of the folder tree stored under `tree`, or an error
// when the blob is missing, corrupt or not a tree.
Result<std::vector<Digest>> TreeFileDigests(const store::BlobStore& blobs,
                                            const Digest& tree);

// The execution `pull` records for an artifact pulled on its own (not
// in a run or a snapshot): its outputs are retention roots while live.
inline constexpr char kPulledArtifactExecution[] = "lockstep/pull-artifact";
// The type of such an output that is a whole OCI manifest or index: gc
// keeps what it references (child manifests, configs, layers) too.
inline constexpr char kPulledManifestType[] = "OciManifest";

class LineageRetentionRoots : public registry::RetentionRoots {
 public:
  // `metadata` (and `blobs`, when given) must outlive this object. With
  // `blobs`, the files of folder snapshots are roots too.
  explicit LineageRetentionRoots(metadata::MetadataStore* metadata,
                                 const store::BlobStore* blobs = nullptr)
      : metadata_(metadata), blobs_(blobs) {}

  // Snapshots (by Dataset artifact id) to leave out as if already removed:
  // what a dry run of snapshot expiry would remove.
  void ExcludeSnapshots(std::set<int64_t> artifact_ids) {
    excluded_ = std::move(artifact_ids);
  }

  // Reads every run's manifest and every live snapshot. A run whose
  // manifest cannot be read is an error (DataLoss): collecting garbage
  // without knowing what that run needs could delete it. Snapshots marked
  // removed (expired) are not roots. Every <store>/runs/*/manifest.json
  // the lineage store does not list with a manifest is read as a root
  // too.
  Result<std::vector<registry::KeptBlob>> Roots() override;

 private:
  Status AddManifestsOnDisk(const std::set<std::string>& recorded,
                            std::vector<registry::KeptBlob>* roots) const;
  // The stdout and stderr blobs the executions of `runs` name.
  Status AddStepLogs(const std::vector<metadata::Run>& runs,
                     std::vector<registry::KeptBlob>* roots) const;
  // The outputs of lockstep/pull-artifact executions that still live.
  Status AddPulledArtifacts(std::vector<registry::KeptBlob>* roots) const;

  metadata::MetadataStore* metadata_;
  const store::BlobStore* blobs_;
  std::set<int64_t> excluded_;
};

}  // namespace lockstep::manifest

#endif  // LOCKSTEP_MANIFEST_RETENTION_H_
