// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// libFuzzer target for the registry's parsers of HTTP request values,
// reached without sockets: the Authorization header (Basic), bearer tokens
// (with the signature forged by the fuzzer, so the claims parser behind
// the HMAC check is reached too), and the /token scope parameter.

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "registry/auth.h"

namespace {

constexpr char kKey[] = "fuzz-signing-key";

std::string Hex(const unsigned char* bytes, size_t size) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < size; ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 15];
  }
  return out;
}

// A token whose signature holds for `payload` under kKey.
std::string SignedToken(const std::string& payload) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), kKey, sizeof(kKey) - 1,
       reinterpret_cast<const unsigned char*>(payload.data()), payload.size(),
       mac, &length);
  return Hex(reinterpret_cast<const unsigned char*>(payload.data()),
             payload.size()) +
         "." + Hex(mac, length);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lockstep::registry;
  std::string text(reinterpret_cast<const char*>(data), size);

  // One user with a cost-4 bcrypt hash, so that a header naming her
  // reaches crypt_r without slowing the fuzzer down much.
  static const Authenticator auth = *Authenticator::FromText(
      "alice:$2y$04$abcdefghijklmnopqrstuuVQNbmUtnEd6x5tBvFomR3YpD3Ksu1yC\n",
      "fuzz", "", "fuzz");
  (void)auth.CheckBasic(text);
  (void)auth.CheckBasic("Basic " + text);

  static const TokenIssuer issuer{std::string(kKey)};
  (void)issuer.Verify(text, 0);
  (void)issuer.Verify(SignedToken(text), 0);

  std::vector<std::string> scopes = {text};
  for (const TokenGrant& grant : ParseScopes(scopes)) {
    // A grant names at most what the scope text held.
    if (grant.repository.size() >= text.size()) __builtin_trap();
  }
  return 0;
}
