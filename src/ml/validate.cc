// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "ml/validate.h"

#include "core/digest.h"
#include "data/csv.h"

namespace lockstep::ml {

nlohmann::json ValidationResult::ToJson() const {
  return {{"valid", valid}, {"digest", digest}, {"rows", rows},
          {"problems", problems}};
}

Result<ValidationResult> ValidateDataset(
    const std::filesystem::path& path,
    const std::optional<std::string>& expected_digest,
    const std::optional<int64_t>& expected_rows) {
  data::CsvRecordCounter counter;
  ASSIGN_OR_RETURN(Digest digest,
                   Sha256OfFile(path, [&](std::string_view chunk) {
                     counter.Feed(chunk);
                     return Status::Ok();
                   }));
  Status parsed = counter.Finish();

  ValidationResult result;
  result.digest = digest.ToString();
  result.rows = static_cast<int64_t>(counter.records());
  if (!parsed.ok()) {
    result.problems.push_back("not a well-formed CSV: " + parsed.message());
  }
  if (expected_digest && *expected_digest != result.digest) {
    result.problems.push_back("digest is " + result.digest + ", expected " +
                              *expected_digest);
  }
  if (expected_rows && *expected_rows != result.rows) {
    result.problems.push_back("row count is " + std::to_string(result.rows) +
                              ", expected " + std::to_string(*expected_rows));
  }
  result.valid = result.problems.empty();
  return result;
}

}  // namespace lockstep::ml
