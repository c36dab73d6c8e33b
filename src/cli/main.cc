// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// `lockstep`: parses the command line with CLI11 and runs the one handler
// that parsing selected.

#include <cstdlib>
#include <exception>
#include <iostream>

#include "cli/cli.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/subprocess.h"
#include "metadata/metadata_store.h"

namespace lockstep::cli {
namespace {

int Main(int argc, char** argv) {
  CLI::App app{"Lockstep: reproducible machine-learning pipelines"};
  app.require_subcommand(1);
  // Global flags may come after the subcommand: `lockstep runs list --json`.
  app.fallthrough();
  app.set_version_flag("--version", "lockstep 0.1.0");

  GlobalOptions globals;
  app.add_option("--store", globals.store,
                 "Store folder (default: .lockstep found upward, or "
                 "$LOCKSTEP_STORE)");
  app.add_option("--metadata", globals.metadata,
                 "Metadata database URL: sqlite path or postgresql://... "
                 "(default: $LOCKSTEP_METADATA, else the store's SQLite)")
      ->check(CLI::Validator(metadata::MetadataUrlProblem, "URL"));
  app.add_flag("--json", globals.json, "Print one JSON document on stdout");
  app.add_flag("--quiet,-q", globals.quiet, "No progress and no notices");
  app.add_flag("--verbose,-v", globals.verbose, "Debug logging");

  Action action;
  CommandContext context{&globals, &action};
  AddRunCommands(app, context);
  AddReproduceCommands(app, context);
  AddManifestCommands(app, context);
  AddMlCommands(app, context);
  AddValidateDataCommand(app, context);
  AddEnvCommands(app, context);
  AddKeygenCommands(app, context);
  AddLockCommands(app, context);
  AddRunsCommands(app, context);
  AddStoreCommands(app, context);
  AddLineageCommands(app, context);
  AddDiffCommands(app, context);
  AddRegistryCommands(app, context);
  AddDataCommands(app, context);
  AddImageCommands(app, context);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // CLI11 checks required arguments before leftovers, so `run --bogus`
    // would say "pipeline is required"; the unknown flag is the news.
    if (error.get_exit_code() == 0) {
      app.exit(error);  // --help or --version: print it, succeed.
      return kExitOk;
    }
    std::vector<std::string> extras = app.remaining(true);
    std::string message = extras.empty()
                              ? std::string(error.what())
                              : CLI::ExtrasError(extras).what();
    // One line, as every other error (docs/exit-codes.md).
    std::fprintf(stderr,
                 "lockstep: error: %s (see lockstep --help, or lockstep "
                 "COMMAND --help)\n",
                 message.c_str());
    return kExitUsage;
  }

  if (globals.verbose) {
    SetLogLevel(LogLevel::kDebug);
  } else if (globals.quiet) {
    SetLogLevel(LogLevel::kWarning);
  }
  SetProgressQuiet(globals.quiet);
  if (!action) {
    return kExitUsage;
  }
  return action();
}

// An exception that escaped every handler is a Lockstep bug; it gets the
// one-line error and the internal-error code (docs/exit-codes.md) rather
// than std::terminate's abort and core dump.
int MainOrInternalError(int argc, char** argv) {
  try {
    return Main(argc, argv);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "lockstep: error: internal: %s\n", error.what());
  } catch (...) {
    std::fprintf(stderr, "lockstep: error: internal: unknown exception\n");
  }
  return kExitError;
}

}  // namespace
}  // namespace lockstep::cli

int main(int argc, char** argv) {
  return lockstep::cli::MainOrInternalError(argc, argv);
}
