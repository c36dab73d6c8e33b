// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "manifest/verify.h"

#include "core/canonical_json.h"
#include "core/files.h"
#include "env/signing.h"
#include "manifest/manifest.h"

namespace lockstep::manifest {

namespace {

Json OutputDigests(const Json& manifest) {
  Json outputs = Json::object();
  if (!manifest.contains("steps") || !manifest["steps"].is_array()) {
    return outputs;
  }
  for (const Json& step : manifest["steps"]) {
    if (!step.contains("outputs") || !step["outputs"].is_object()) {
      continue;
    }
    for (const auto& [name, output] : step["outputs"].items()) {
      outputs[step.value("name", "?") + "." + name] =
          output.value("digest", Json());
    }
  }
  return outputs;
}

Json ParamValues(const Json& manifest) {
  Json params = Json::object();
  if (!manifest.contains("params") || !manifest["params"].is_object()) {
    return params;
  }
  for (const auto& [name, typed] : manifest["params"].items()) {
    params[name] = typed.is_object() ? typed.value("value", Json()) : typed;
  }
  return params;
}

}  // namespace

Json VerifyOutcome::ToJson() const {
  Json result = {{"valid", ok()},
                 {"hash_ok", hash.ok()},
                 {"signed", signature_present},
                 {"signature_ok", signature_present && signature.ok()},
                 {"pins", pins}};
  if (!hash.ok()) {
    result["hash_error"] = hash.message();
  }
  if (!signature.ok()) {
    result["signature_error"] = signature.message();
  }
  if (!signed_by.empty()) {
    result["signed_by"] = signed_by;
  }
  return result;
}

Json PinnedSummary(const Json& manifest) {
  const Json& environment = manifest.value("environment", Json::object());
  return Json{
      {"run_id", manifest.value("run_id", "")},
      {"status", manifest.value("status", "")},
      {"pipeline", manifest.value("pipeline", Json())},
      {"code", manifest.value("code", Json())},
      {"data", manifest.value("data", Json::array())},
      {"params", ParamValues(manifest)},
      {"seeds", manifest.value("seeds", Json::object())},
      {"environment",
       {{"toolchain", environment.value("toolchain", Json())},
        {"libraries", environment.value("libraries", Json())}}},
      {"sandbox", manifest.value("sandbox", "")},
      {"outputs", OutputDigests(manifest)},
      {"manifest_hash", manifest.value("manifest_hash", "")}};
}

std::string FormatPinnedSummary(const Json& pins) {
  std::string text = "run " + pins.value("run_id", "") + " of pipeline " +
                     pins["pipeline"].value("name", "") + " (" +
                     pins.value("status", "") + ")\n";
  text += "  pipeline file: " + pins["pipeline"].value("spec_digest", "") +
          "\n";
  const Json& code = pins["code"];
  if (code.is_object() && code.value("in_git_work_tree", false)) {
    text += "  code: commit " + code.value("commit", "") +
            (code.value("branch", "").empty()
                 ? ""
                 : " (" + code.value("branch", "") + ")") +
            (code.value("dirty", false)
                 ? ", dirty: patch " + code.value("patch_digest", "")
                 : ", clean") +
            "\n";
  } else {
    text += "  code: not from a git work tree\n";
  }
  for (const Json& data : pins["data"]) {
    text += "  data: " + data.value("name", "") + "@" +
            std::to_string(data.value("version", 0)) + " " +
            data.value("digest", "") +
            (data["rows"].is_number()
                 ? ", " + std::to_string(data["rows"].get<int64_t>()) +
                       " rows"
                 : "") +
            "\n";
  }
  text += "  params: " + pins["params"].dump() + "\n";
  text += "  seeds: " + pins["seeds"].dump() + "\n";
  text += "  environment: " + pins["environment"]["toolchain"].dump() +
          "\n  libraries: " + pins["environment"]["libraries"].dump() + "\n";
  text += "  sandbox: " + pins.value("sandbox", "") + "\n";
  for (const auto& [name, digest] : pins["outputs"].items()) {
    text += "  output " + name + ": " +
            (digest.is_string() ? digest.get<std::string>() : "(none)") +
            "\n";
  }
  return text;
}

Result<VerifyOutcome> VerifyManifestFile(
    const std::filesystem::path& path,
    const std::filesystem::path& public_key_path) {
  // ReadDocument's errors name the path already (found by a tester:
  // "/nonexistent: /nonexistent: No such file or directory").
  ASSIGN_OR_RETURN(std::string bytes, ReadDocument(path));
  ASSIGN_OR_RETURN(Json manifest, ParseJsonWithUniqueKeys(bytes,
                                                          path.string()));
  VerifyOutcome outcome;
  // A manifest no reader would accept is not verified by its hash alone
  // (found by a tester: manifest_version 99 passed).
  outcome.hash = CheckManifestShape(manifest);
  if (outcome.hash.ok()) outcome.hash = VerifyManifestHash(manifest);
  outcome.hash = outcome.hash.WithContext(path.string());
  outcome.pins = PinnedSummary(manifest);

  std::filesystem::path signature_path = env::SignaturePathFor(path);
  std::error_code error;
  outcome.signature_present = std::filesystem::exists(signature_path, error);
  if (!outcome.signature_present) {
    if (!public_key_path.empty()) {
      outcome.signature = Status::NotFound(
          "no signature at " + signature_path.string() +
          " (sign with `lockstep manifest sign`)");
    }
    return outcome;
  }
  Result<env::Signature> signature = env::ReadSignatureFile(signature_path);
  if (!signature.ok()) {
    outcome.signature = signature.status();
    return outcome;
  }
  outcome.signed_by = signature->public_key_sha256;
  if (public_key_path.empty()) {
    outcome.signature = Status::Ok();  // Present, but no key to check with.
    return outcome;
  }
  Result<std::string> public_pem = ReadFile(public_key_path);
  if (!public_pem.ok()) {
    outcome.signature = public_pem.status();
    return outcome;
  }
  outcome.signature = env::Verify(bytes, *signature, *public_pem);
  if (outcome.signature.IsInvalidArgument()) {
    // A --key that is no Ed25519 public key is malformed input (exit 3),
    // not an answer about the manifest (exit 1).
    return Status::InvalidArgument(public_key_path.string() + ": " +
                                   outcome.signature.message());
  }
  return outcome;
}

Result<std::filesystem::path> SignManifestFile(
    const std::filesystem::path& path,
    const std::filesystem::path& private_key_path) {
  ASSIGN_OR_RETURN(std::string bytes, ReadDocument(path));
  ASSIGN_OR_RETURN(Json manifest,
                   ParseJsonWithUniqueKeys(bytes, path.string()));
  RETURN_IF_ERROR(VerifyManifestHash(manifest).WithContext(path.string()));
  ASSIGN_OR_RETURN(std::string private_pem, ReadFile(private_key_path));
  ASSIGN_OR_RETURN(env::Signature signature, env::Sign(bytes, private_pem));
  std::filesystem::path signature_path = env::SignaturePathFor(path);
  RETURN_IF_ERROR(env::WriteSignatureFile(signature_path, signature));
  return signature_path;
}

}  // namespace lockstep::manifest
