// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// `lockstep ml validate`: the data-validation component. Writes "true" or
// "false" to --valid (for an `if:` downstream) and a JSON report.

#include <iostream>

#include "cli/cli.h"
#include "core/digest.h"
#include "core/files.h"
#include "ml/validate.h"

namespace lockstep::cli {

namespace {

struct ValidateFlags {
  std::string data;
  std::string expected_digest;
  int64_t expected_rows = -1;
  std::string valid_path;
  std::string report_path;
};

int ValidateData(const GlobalOptions& globals, const ValidateFlags& flags) {
  std::optional<std::string> digest;
  if (!flags.expected_digest.empty()) {
    if (!Digest::Parse(flags.expected_digest).ok()) {
      return ReportError(Status::InvalidArgument(
          "--expected-digest: '" + flags.expected_digest +
          "' is not a digest (sha256: and 64 hex digits)"));
    }
    digest = flags.expected_digest;
  }
  std::optional<int64_t> rows;
  if (flags.expected_rows >= 0) {
    rows = flags.expected_rows;
  }
  Result<ml::ValidationResult> result =
      ml::ValidateDataset(flags.data, digest, rows);
  if (!result.ok()) {
    return ReportError(result.status());
  }
  Status written = WriteFileAtomically(flags.valid_path,
                                       result->valid ? "true\n" : "false\n");
  if (written.ok() && !flags.report_path.empty()) {
    written = WriteFileAtomically(flags.report_path,
                                  result->ToJson().dump(2) + "\n");
  }
  if (!written.ok()) {
    return ReportError(written);
  }
  if (globals.json) {
    PrintJson(result->ToJson());
  } else {
    std::cout << flags.data << ": " << (result->valid ? "valid" : "INVALID")
              << " (" << result->rows << " rows, " << result->digest << ")\n";
    for (const std::string& problem : result->problems) {
      std::cout << "  " << problem << "\n";
    }
  }
  return kExitOk;
}

}  // namespace

void AddValidateDataCommand(CLI::App& app, CommandContext context) {
  CLI::App* ml = app.get_subcommand("ml");
  auto flags = std::make_shared<ValidateFlags>();
  CLI::App* command = ml->add_subcommand(
      "validate", "Check a CSV's digest and row count (data-validate)");
  command->add_option("--data", flags->data, "CSV to check")->required();
  command->add_option("--expected-digest", flags->expected_digest,
                      "sha256:... the bytes must hash to");
  command->add_option("--expected-rows", flags->expected_rows,
                      "Number of records the CSV must hold");
  command->add_option("--valid", flags->valid_path,
                      "File to write true or false to")
      ->required();
  command->add_option("--report", flags->report_path,
                      "File to write the JSON report to");
  command->callback([context, flags] {
    *context.action = [context, flags] {
      return ValidateData(*context.globals, *flags);
    };
  });
}

}  // namespace lockstep::cli
