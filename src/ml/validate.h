// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// The data-validation component: checks a dataset's integrity against an
// expected digest and row count before a pipeline trains on it, as the
// classic Vertex AI recipe does. Invalid data is a verdict, not an error:
// the pipeline's `if:` decides what to do with it.

#ifndef LOCKSTEP_ML_VALIDATE_H_
#define LOCKSTEP_ML_VALIDATE_H_

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace lockstep::ml {

struct ValidationResult {
  bool valid = false;
  std::string digest;  // "sha256:..." of the file's bytes.
  int64_t rows = 0;    // CSV records, header excluded.
  std::vector<std::string> problems;

  nlohmann::json ToJson() const;
};

// Hashes and counts the CSV at `path` and compares with what is expected.
// An unset expectation is not checked. NotFound when the file is missing;
// a malformed CSV is a problem in the result, not an error.
Result<ValidationResult> ValidateDataset(
    const std::filesystem::path& path,
    const std::optional<std::string>& expected_digest,
    const std::optional<int64_t>& expected_rows);

}  // namespace lockstep::ml

#endif  // LOCKSTEP_ML_VALIDATE_H_
