// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Retention roots from the lineage store: every blob a recorded run needs
// to be reproduced (its pipeline file, code files and patch, input and
// output digests, data snapshots) and every snapshot's bytes. Garbage
// collection and cleanup never remove these, and say which run or
// snapshot keeps each one.

#ifndef LOCKSTEP_MANIFEST_RETENTION_H_
#define LOCKSTEP_MANIFEST_RETENTION_H_

#include <vector>

#include <nlohmann/json.hpp>

#include "metadata/metadata_store.h"
#include "registry/retention.h"

namespace lockstep::manifest {

using Json = nlohmann::json;

class LineageRetentionRoots : public registry::RetentionRoots {
 public:
  // `metadata` must outlive this object.
  explicit LineageRetentionRoots(metadata::MetadataStore* metadata)
      : metadata_(metadata) {}

  // Reads every run's manifest and every snapshot. A run whose manifest
  // cannot be read is an error (DataLoss): collecting garbage without
  // knowing what that run needs could delete it.
  Result<std::vector<registry::KeptBlob>> Roots() override;

 private:
  metadata::MetadataStore* metadata_;
};

// The digests a manifest needs, each with "run RUN needs it (WHAT)".
std::vector<registry::KeptBlob> ManifestRoots(const Json& manifest);

}  // namespace lockstep::manifest

#endif  // LOCKSTEP_MANIFEST_RETENTION_H_
