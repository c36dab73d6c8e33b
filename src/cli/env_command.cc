// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// `lockstep env capture`: prints what Lockstep records about this machine
// in every manifest (docs/environment.md).

#include <iostream>
#include <memory>
#include <string>

#include "cli/cli.h"
#include "env/capture.h"

namespace lockstep::cli {

void AddEnvCommands(CLI::App& app, CommandContext context) {
  CLI::App* env = app.add_subcommand("env", "Inspect the environment");
  env->require_subcommand(1);

  auto python = std::make_shared<std::string>();
  CLI::App* capture = env->add_subcommand(
      "capture", "Print the environment a run here would record");
  capture->add_option("--python", *python,
                      "Also list the packages of this Python interpreter");
  capture->callback([python, context] {
    *context.action = [python, globals = context.globals] {
      env::CaptureOptions options;
      options.python = *python;
      auto captured = env::CaptureEnvironment(options);
      if (!captured.ok()) return ReportError(captured.status());
      if (globals->json) {
        PrintJson(*captured);
      } else {
        std::cout << env::FormatEnvironmentSummary(*captured);
      }
      return static_cast<int>(kExitOk);
    };
  });
}

}  // namespace lockstep::cli
