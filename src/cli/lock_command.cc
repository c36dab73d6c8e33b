// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// `lockstep lock verify`: checks a hash-pinned requirements lock against
// an installed site-packages folder and/or a folder of wheels and sdists.
// Exit 0 when everything verified, 1 on drift, 3 on a malformed lockfile.

#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/cli.h"
#include "core/count_text.h"
#include "core/log.h"
#include "env/lockfile.h"

namespace lockstep::cli {
namespace {

struct LockVerifyFlags {
  std::string lockfile;
  std::string site_packages;
  std::string files;
  bool allow_unhashable = false;
};

void PrintVerification(const env::LockVerification& check) {
  std::cout << fmt::format("{} {}: {}, {} checked\n", check.target_kind,
                           check.target,
                           CountText(check.packages_checked, "package"),
                           CountText(check.files_checked, "file"));
  for (const env::LockFinding& finding : check.findings) {
    std::cout << fmt::format("  {}: {}\n", finding.kind, finding.message);
  }
  for (const env::UnverifiedPackage& package : check.unverified) {
    std::cout << fmt::format("  unverified: {} (line {}): {}\n",
                             package.package, package.line, package.reason);
  }
}

// Logs each "file:line: reason" of a parse failure on its own line.
int ReportParseError(const Status& status, bool json) {
  std::vector<std::string> errors;
  std::string_view rest = status.message();
  while (!rest.empty()) {
    size_t end = rest.find('\n');
    errors.emplace_back(rest.substr(0, end));
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  for (const std::string& error : errors) LogError("{}", error);
  if (json) PrintJson({{"ok", false}, {"errors", errors}});
  return ExitCodeFor(status);
}

int RunLockVerify(const LockVerifyFlags& flags, const GlobalOptions& globals) {
  env::LockfileOptions options;
  options.allow_unhashable = flags.allow_unhashable;
  auto lock = env::LoadLockfile(flags.lockfile, options);
  if (!lock.ok()) {
    if (lock.status().IsInvalidArgument()) {
      return ReportParseError(lock.status(), globals.json);
    }
    return ReportError(lock.status());
  }

  std::vector<env::LockVerification> checks;
  if (!flags.site_packages.empty()) {
    auto check = env::VerifyInstalled(*lock, flags.site_packages);
    if (!check.ok()) return ReportError(check.status());
    checks.push_back(std::move(*check));
  }
  if (!flags.files.empty()) {
    auto check = env::VerifyArtifacts(*lock, flags.files);
    if (!check.ok()) return ReportError(check.status());
    checks.push_back(std::move(*check));
  }

  bool ok = true;
  nlohmann::json results = nlohmann::json::array();
  for (const env::LockVerification& check : checks) {
    ok = ok && check.ok();
    results.push_back(check.ToJson());
  }
  if (globals.json) {
    PrintJson({{"ok", ok},
               {"lockfile", lock->source},
               {"lockfile_digest", lock->digest.ToString()},
               {"packages", lock->packages.size()},
               {"checks", results}});
  } else {
    std::cout << fmt::format("{}: {} pinned packages, {}\n", lock->source,
                             lock->packages.size(), lock->digest.ToString());
    for (const env::LockVerification& check : checks) PrintVerification(check);
    if (checks.empty()) {
      std::cout << "format ok (give --site-packages or --files to check "
                   "an environment)\n";
    } else if (!globals.quiet) {
      std::cout << (ok ? "verified\n" : "drift found\n");
    }
  }
  return ok ? kExitOk : kExitFailed;
}

}  // namespace

void AddLockCommands(CLI::App& app, CommandContext context) {
  CLI::App* lock = app.add_subcommand("lock", "Check pinned Python locks");
  lock->require_subcommand(1);

  auto flags = std::make_shared<LockVerifyFlags>();
  CLI::App* verify = lock->add_subcommand(
      "verify", "Verify a hash-pinned requirements lock (pip-compile "
                "--generate-hashes) against installed packages or artifacts");
  verify->add_option("lockfile", flags->lockfile, "requirements.lock")
      ->required();
  verify->add_option("--site-packages", flags->site_packages,
                     "Installed environment to compare (dist-info METADATA "
                     "and RECORD)");
  verify->add_option("--files", flags->files,
                     "Folder of wheels and sdists to hash");
  verify->add_flag("--allow-unhashable", flags->allow_unhashable,
                   "Accept editable and VCS lines, reported unverified");
  verify->callback([flags, context] {
    *context.action = [flags, globals = context.globals] {
      return RunLockVerify(*flags, *globals);
    };
  });
}

}  // namespace lockstep::cli
