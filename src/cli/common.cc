// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include <cstdio>
#include <iostream>

#include "cli/cli.h"
#include "core/log.h"
#include "core/subprocess.h"

namespace lockstep::cli {

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return kExitOk;
    case StatusCode::kNotFound:
      return kExitNotFound;
    case StatusCode::kInvalidArgument:
    case StatusCode::kAlreadyExists:
      return kExitInvalid;
    case StatusCode::kDataLoss:
      return kExitDataLoss;
    case StatusCode::kFailedPrecondition:
      return kExitPrecondition;
    case StatusCode::kAborted:
    case StatusCode::kInternal:
    case StatusCode::kUnavailable:
      return kExitError;
  }
  return kExitError;
}

int ReportError(const Status& status) {
  if (!CancellationStatus().ok()) return kExitInterrupted;
  LogError("{}", status.message());
  return ExitCodeFor(status);
}

int RunInterruptible(std::string_view interrupted, const Action& action) {
  InstallCancellationHandlers(SafePoints::kStop);
  int code = action();
  if (code == kExitInterrupted) LogError("{}", interrupted);
  return code;
}

Result<store::StoreLocation> OpenStore(const GlobalOptions& globals,
                                       store::CreateIfMissing create) {
  ASSIGN_OR_RETURN(store::StoreLocation location,
                   store::LocateStore(globals.store, create));
  if (location.created && !globals.quiet) {
    LogInfo("created a new store at {}", location.root.string());
  }
  return location;
}

void PrintJson(const nlohmann::json& value) {
  // Output for people and tools, never hashed: a byte that is not UTF-8
  // (a file name echoed in an error) is shown as U+FFFD rather than
  // aborting the command. Recorded text is refused where it enters.
  std::cout << value.dump(2, ' ', false,
                          nlohmann::json::error_handler_t::replace)
            << std::endl;
}

}  // namespace lockstep::cli
