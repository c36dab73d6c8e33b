// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Ed25519 signatures for manifests, through OpenSSL 3's EVP interface.
// Keys are PEM files: PKCS#8 for the private key (mode 0600) and SPKI for
// the public key. A signature is a detached JSON file next to what it
// signs:
//   {"algorithm":"ed25519","public_key_sha256":"sha256:<hex>",
//    "signature":"<base64>"}
// where public_key_sha256 is the sha256 of the public key's DER (SPKI)
// bytes, so a verifier holding another key can say the key differs.

#ifndef LOCKSTEP_ENV_SIGNING_H_
#define LOCKSTEP_ENV_SIGNING_H_

#include <filesystem>
#include <string>
#include <string_view>

#include "core/canonical_json.h"
#include "core/status.h"

namespace lockstep::env {

struct KeyPair {
  std::string private_pem;  // PKCS#8 "BEGIN PRIVATE KEY"
  std::string public_pem;   // SPKI "BEGIN PUBLIC KEY"
};

// A fresh Ed25519 key pair.
Result<KeyPair> GenerateKeyPair();

// Writes `prefix`.key (mode 0600) and `prefix`.pub. AlreadyExists, writing
// nothing, when either file exists; each file appears whole or not at all.
Status WriteKeyPair(const KeyPair& keys, const std::string& prefix);

// "sha256:<hex>" of the DER public key inside a public or private PEM.
// InvalidArgument when the PEM is not an Ed25519 key.
Result<std::string> PublicKeyFingerprint(std::string_view pem);

struct Signature {
  std::string algorithm = "ed25519";
  std::string public_key_sha256;  // "sha256:<hex>"
  std::string signature;          // 64 raw bytes

  // The detached-signature JSON shown above.
  Json ToJson() const;
  // Parses that JSON; InvalidArgument naming the field that is wrong.
  static Result<Signature> FromJson(const Json& json);
};

// Signs `bytes` with the private key in `private_pem`.
Result<Signature> Sign(std::string_view bytes, std::string_view private_pem);

// Checks `signature` over `bytes` against the public key in `public_pem`.
// OK when valid; FailedPrecondition when the signature was made by another
// key (both fingerprints named); DataLoss when the key matches but the
// bytes or signature were altered.
Status Verify(std::string_view bytes, const Signature& signature,
              std::string_view public_pem);

// Where the detached signature of `signed_file` lives: "<file>.sig".
std::filesystem::path SignaturePathFor(const std::filesystem::path& file);

// Writes the signature JSON (canonical form, newline-terminated)
// atomically.
Status WriteSignatureFile(const std::filesystem::path& path,
                          const Signature& signature);

// Reads and parses a signature file; NotFound when absent,
// InvalidArgument naming the file when malformed.
Result<Signature> ReadSignatureFile(const std::filesystem::path& path);

}  // namespace lockstep::env

#endif  // LOCKSTEP_ENV_SIGNING_H_
