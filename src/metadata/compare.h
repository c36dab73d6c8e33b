// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Comparing two versions of one output, shared by `lockstep reproduce`,
// `lockstep run --check-determinism` and `lockstep diff`: digests under a
// reproduce policy (exact, tolerance, ignore), the numbers that moved in
// Metrics documents (old, new, delta), and the files that differ inside
// folder outputs (reproducible tar blobs, store/tar.h).

#ifndef LOCKSTEP_METADATA_COMPARE_H_
#define LOCKSTEP_METADATA_COMPARE_H_

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/digest.h"
#include "core/status.h"
#include "store/blob_store.h"

namespace lockstep::metadata {

using Json = nlohmann::json;

// True for the artifact types whose bytes are a JSON metrics document.
bool IsMetricsType(std::string_view type);

// A Metrics document, or a discarded Json when the text is not one. As
// Python's json.dumps writes them (and MLflow logs them), the bare tokens
// NaN, Infinity and -Infinity are read, as the strings "NaN", "Infinity"
// and "-Infinity": JSON has no such numbers, and one NaN must not make
// every other metric of the file unreadable. They compare by equality.
Json ParseMetrics(std::string_view text);

// True for the strings ParseMetrics reads NaN, Infinity and -Infinity as.
bool IsNonFiniteMetric(const Json& value);

// The leaves that differ between two Metrics documents, as
// [{key, old, new, delta}] with dotted keys under `prefix`; `delta`
// (new - old) only when both sides are numbers.
Json CompareMetrics(const Json& before, const Json& after,
                    const std::string& prefix = "");

// Whether every change is numeric and |delta| <= tolerance.
bool WithinTolerance(const Json& changes, double tolerance);

// "auc: 0.91 -> 0.93 (delta 0.02)", one metric change for people.
std::string FormatMetricChange(const Json& change);

// How the files inside two folder outputs differ.
struct FolderChanges {
  std::vector<std::string> changed;  // In both, with other content.
  std::vector<std::string> added;    // Only in the new folder.
  std::vector<std::string> removed;  // Only in the old folder.

  bool empty() const;
  // The first differing path in sorted order ("" when none).
  std::string FirstPath() const;
  Json ToJson() const;  // {"changed": [...], "added": [...], "removed": []}
};

// Lists both tar blobs and compares their entries path by path.
Result<FolderChanges> CompareFolders(const store::BlobStore& blobs,
                                     const Digest& before,
                                     const Digest& after);

// What a recorded output declares about itself.
struct RecordedOutput {
  std::string type;              // Artifact type (Metrics, Dataset, ...).
  std::string policy = "exact";  // exact | tolerance | ignore
  double tolerance = 0;
  std::string digest;            // The recorded digest text.
  bool folder = false;           // Stored as a reproducible tar.
};

// One output compared: verdict, and what moved inside it.
struct OutputComparison {
  std::string name;
  std::string policy;  // The policy that applied.
  std::string expected;
  std::string actual;
  bool identical = false;
  bool accepted = false;   // identical, or within the output's policy
  Json metric_changes;     // For Metrics: [{key, old, new, delta}]
  Json folder_changes;     // For folders: FolderChanges::ToJson()
  std::string first_file;  // For folders: the first differing path
  std::string note;        // Why a closer comparison was not possible

  Json ToJson() const;
};

// Compares the recorded output with the `actual` digest. Metrics and
// folders are opened from `blobs` to say what moved; when a side is not
// readable, only the digests are compared.
OutputComparison CompareOutput(const std::string& name,
                               const RecordedOutput& recorded,
                               const Digest& actual,
                               const store::BlobStore& blobs);

}  // namespace lockstep::metadata

#endif  // LOCKSTEP_METADATA_COMPARE_H_
