// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// The command-line shell. Each command group lives in its own file and
// registers its subcommands with CLI11 through an Add*Commands function.
// A handler is thin: it parses flags, calls library code, prints the
// result (text, or one JSON object with --json), and returns an exit code.
// Exit codes are documented in docs/exit-codes.md.

#ifndef LOCKSTEP_CLI_CLI_H_
#define LOCKSTEP_CLI_CLI_H_

#include <functional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/status.h"
#include "store/location.h"

namespace lockstep::cli {

// Exit codes shared by every command (docs/exit-codes.md).
enum ExitCode : int {
  kExitOk = 0,
  kExitFailed = 1,        // Ran, and the answer is "no": a run failed,
                          // outputs diverged, verification found drift.
  kExitNotFound = 2,      // Something named does not exist.
  kExitInvalid = 3,       // Malformed input: file, reference, manifest.
  kExitDataLoss = 4,      // Stored bytes no longer match their digest.
  kExitPrecondition = 5,  // The store or machine is not in a usable state.
  kExitError = 6,         // I/O, network or internal error.
  kExitUsage = 64,        // Bad flags (from CLI11).
  kExitInterrupted = 130,
};

// Flags every command accepts.
struct GlobalOptions {
  std::string store;     // --store DIR
  std::string metadata;  // --metadata URL (sqlite or postgresql)
  bool json = false;     // --json: one JSON document on stdout
  bool quiet = false;    // --quiet: no progress, no notices
  bool verbose = false;  // --verbose: debug logging
};

// The handler chosen by parsing; main runs it after CLI11 returns.
using Action = std::function<int()>;

struct CommandContext {
  GlobalOptions* globals;
  Action* action;
};

// Prints "lockstep: error: <message>" and returns the exit code for it.
// Inside RunInterruptible, once a signal asked the command to stop, it
// prints nothing and returns kExitInterrupted: the error is then most
// likely the stop itself, and RunInterruptible says so in one line.
int ReportError(const Status& status);

// Runs `action`, a command made only of library work (data snapshot,
// push, gc, ...), with the SIGINT, SIGTERM and SIGHUP handlers installed
// and library code stopping at its safe points (core/subprocess.h).
// When a signal stopped it, prints "lockstep: error: <interrupted>" and
// returns kExitInterrupted; a command that finished before its next
// safe point reports its result as usual.
int RunInterruptible(std::string_view interrupted, const Action& action);

// Maps a status code to the shared exit code.
int ExitCodeFor(const Status& status);

// Finds or creates the store, printing the one-line notice on creation.
Result<store::StoreLocation> OpenStore(const GlobalOptions& globals,
                                       store::CreateIfMissing create);

// Prints `value` as indented JSON on stdout.
void PrintJson(const nlohmann::json& value);

// Registration functions, one per command group (src/cli/*_command.cc).
void AddRunCommands(CLI::App& app, CommandContext context);
void AddReproduceCommands(CLI::App& app, CommandContext context);
void AddManifestCommands(CLI::App& app, CommandContext context);
void AddMlCommands(CLI::App& app, CommandContext context);
// Adds `ml validate`; call after AddMlCommands.
void AddValidateDataCommand(CLI::App& app, CommandContext context);
void AddEnvCommands(CLI::App& app, CommandContext context);
void AddKeygenCommands(CLI::App& app, CommandContext context);
void AddLockCommands(CLI::App& app, CommandContext context);
void AddRunsCommands(CLI::App& app, CommandContext context);
void AddStoreCommands(CLI::App& app, CommandContext context);
void AddLineageCommands(CLI::App& app, CommandContext context);
void AddDiffCommands(CLI::App& app, CommandContext context);
void AddRegistryCommands(CLI::App& app, CommandContext context);
void AddDataCommands(CLI::App& app, CommandContext context);
void AddImageCommands(CLI::App& app, CommandContext context);

}  // namespace lockstep::cli

#endif  // LOCKSTEP_CLI_CLI_H_
