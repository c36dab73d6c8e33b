// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// `lockstep keygen`: creates an Ed25519 key pair for signing manifests,
// PREFIX.key (PKCS#8, mode 0600) and PREFIX.pub, never overwriting.

#include <iostream>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "cli/cli.h"
#include "env/signing.h"

namespace lockstep::cli {
namespace {

int RunKeygen(const std::string& prefix, const GlobalOptions& globals) {
  auto keys = env::GenerateKeyPair();
  if (!keys.ok()) return ReportError(keys.status());
  Status written = env::WriteKeyPair(*keys, prefix);
  if (!written.ok()) return ReportError(written);
  auto fingerprint = env::PublicKeyFingerprint(keys->public_pem);
  if (!fingerprint.ok()) return ReportError(fingerprint.status());

  if (globals.json) {
    PrintJson({{"private_key", prefix + ".key"},
               {"public_key", prefix + ".pub"},
               {"public_key_sha256", *fingerprint}});
  } else {
    std::cout << fmt::format(
        "wrote {0}.key (private: keep it secret) and {0}.pub\n"
        "public key {1}\n",
        prefix, *fingerprint);
  }
  return kExitOk;
}

}  // namespace

void AddKeygenCommands(CLI::App& app, CommandContext context) {
  auto prefix = std::make_shared<std::string>("lockstep-signing");
  CLI::App* keygen = app.add_subcommand(
      "keygen", "Create an Ed25519 key pair for `lockstep manifest sign`");
  keygen->add_option("--output,-o", *prefix,
                     "Writes PREFIX.key and PREFIX.pub")
      ->capture_default_str();
  keygen->callback([prefix, context] {
    *context.action = [prefix, globals = context.globals] {
      return RunKeygen(*prefix, *globals);
    };
  });
}

}  // namespace lockstep::cli
