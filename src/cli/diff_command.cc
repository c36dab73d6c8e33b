// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// `lockstep diff RUN_A RUN_B`: two runs side by side, differences marked.
// Exits 0 when they match and 1 when something differs.

#include <iostream>

#include "cli/cli.h"
#include "cli/metadata_access.h"
#include "metadata/run_diff.h"

namespace lockstep::cli {

namespace {

int Diff(const GlobalOptions& globals, const std::string& a,
         const std::string& b) {
  auto store = OpenMetadata(globals, {.reader = true});
  if (!store.ok()) {
    return ReportError(store.status());
  }
  auto diff = metadata::DiffRuns(store->get(), a, b);
  if (!diff.ok()) {
    return ReportError(diff.status());
  }
  if (globals.json) {
    PrintJson(metadata::RunDiffToJson(*diff));
  } else {
    std::cout << metadata::RunDiffToText(*diff);
  }
  return diff->identical ? kExitOk : kExitFailed;
}

}  // namespace

void AddDiffCommands(CLI::App& app, CommandContext context) {
  auto runs = std::make_shared<std::pair<std::string, std::string>>();
  CLI::App* diff = app.add_subcommand(
      "diff", "Compare two runs: params, inputs, steps, outputs, metrics");
  diff->add_option("RUN_A", runs->first, "First run")->required();
  diff->add_option("RUN_B", runs->second, "Second run")->required();
  diff->callback([context, runs] {
    *context.action = [globals = context.globals, runs] {
      return Diff(*globals, runs->first, runs->second);
    };
  });
}

}  // namespace lockstep::cli
