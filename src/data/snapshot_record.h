// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// A snapshot's record as it travels between stores: `lockstep push` sends
// its properties (kind, size, row count, columns, ...) beside its bytes,
// and `lockstep pull` registers them. A record is only a claim about the
// bytes: a pull checks it against them before any other command (`data
// show`, a run's manifest) repeats it.

#ifndef LOCKSTEP_DATA_SNAPSHOT_RECORD_H_
#define LOCKSTEP_DATA_SNAPSHOT_RECORD_H_

#include <string>

#include <nlohmann/json.hpp>

#include "core/digest.h"
#include "core/status.h"
#include "store/blob_store.h"

namespace lockstep::data {

// Checks `properties` (a snapshot artifact's, see PropertiesOf) against
// the snapshot's bytes `digest`, which must be in `blobs` (for a folder:
// its tree, whose files are not read). Each field must have the type the
// store writes, and size, row_count and file_count must be what the
// bytes hold. InvalidArgument "`what`: properties.FIELD: ..." otherwise.
Status CheckSnapshotProperties(const store::BlobStore& blobs,
                               const Digest& digest,
                               const nlohmann::json& properties,
                               const std::string& what);

}  // namespace lockstep::data

#endif  // LOCKSTEP_DATA_SNAPSHOT_RECORD_H_
