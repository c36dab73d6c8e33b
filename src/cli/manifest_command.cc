// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// `lockstep manifest verify|sign`: the auditor's commands. verify exits 0
// when the hash (and, with --key, the signature) checks out, 1 when the
// manifest was tampered with or signed by another key, 2 when the file or
// its signature is missing, 3 when it is not a manifest at all.

#include <iostream>

#include "cli/cli.h"
#include "manifest/verify.h"

namespace lockstep::cli {

namespace {

struct ManifestFlags {
  std::string manifest;
  std::string key;
};

int VerifyManifest(const GlobalOptions& globals, const ManifestFlags& flags) {
  Result<manifest::VerifyOutcome> outcome =
      manifest::VerifyManifestFile(flags.manifest, flags.key);
  if (!outcome.ok()) {
    return ReportError(outcome.status());
  }
  if (globals.json) {
    PrintJson(outcome->ToJson());
  } else if (outcome->ok()) {
    std::cout << flags.manifest << ": manifest hash OK ("
              << outcome->pins.value("manifest_hash", "") << ")\n";
    if (outcome->signature_present) {
      std::cout << "signature: "
                << (flags.key.empty() ? "present, not checked (pass --key)"
                                      : "valid")
                << ", key " << outcome->signed_by << "\n";
    } else {
      std::cout << "signature: none\n";
    }
    std::cout << manifest::FormatPinnedSummary(outcome->pins);
  }
  if (!outcome->hash.ok()) {
    ReportError(outcome->hash);
    return kExitFailed;
  }
  if (!outcome->signature.ok()) {
    ReportError(outcome->signature);
    return outcome->signature.IsNotFound() ? kExitNotFound : kExitFailed;
  }
  return kExitOk;
}

int SignManifest(const GlobalOptions& globals, const ManifestFlags& flags) {
  Result<std::filesystem::path> signature =
      manifest::SignManifestFile(flags.manifest, flags.key);
  if (!signature.ok()) {
    return ReportError(signature.status());
  }
  if (globals.json) {
    PrintJson({{"manifest", flags.manifest},
               {"signature", signature->string()}});
  } else {
    std::cout << "signed " << flags.manifest << ": " << signature->string()
              << std::endl;
  }
  return kExitOk;
}

}  // namespace

void AddManifestCommands(CLI::App& app, CommandContext context) {
  CLI::App* group =
      app.add_subcommand("manifest", "Verify or sign a run manifest");
  group->require_subcommand(1);

  auto verify_flags = std::make_shared<ManifestFlags>();
  CLI::App* verify = group->add_subcommand(
      "verify", "Check a manifest's hash and signature; list what it pins");
  verify->add_option("manifest", verify_flags->manifest, "Manifest file")
      ->required();
  verify->add_option("--key", verify_flags->key,
                     "Public key (PEM) the signature must verify with");
  verify->callback([context, verify_flags] {
    *context.action = [context, verify_flags] {
      return VerifyManifest(*context.globals, *verify_flags);
    };
  });

  auto sign_flags = std::make_shared<ManifestFlags>();
  CLI::App* sign = group->add_subcommand(
      "sign", "Write a detached Ed25519 signature next to a manifest");
  sign->add_option("manifest", sign_flags->manifest, "Manifest file")
      ->required();
  sign->add_option("--key", sign_flags->key, "Private key (PEM)")
      ->required();
  sign->callback([context, sign_flags] {
    *context.action = [context, sign_flags] {
      return SignManifest(*context.globals, *sign_flags);
    };
  });
}

}  // namespace lockstep::cli
