// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// libFuzzer target for the registry's parsers of HTTP request values,
// reached without sockets: the Authorization header (Basic), bearer tokens
// (with the signature forged by the fuzzer, so the claims parser behind
// the HMAC check is reached too), the /token scope parameter, a blob
// GET's Range and an upload chunk's Content-Range.

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "registry/auth.h"
#include "registry/byte_range.h"

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
      "", "fuzz");
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
  // A partial answer lies within the blob, whatever the header says.
  for (uint64_t blob_size : {uint64_t{0}, uint64_t{1}, uint64_t{16}}) {
    RangeDecision range = DecideRange(text, blob_size);
    if (range.kind == RangeDecision::Kind::kPartial &&
        (range.span.first > range.span.last ||
         range.span.last >= blob_size)) {
      __builtin_trap();
    }
    (void)ContentRangeValue(range, blob_size);
  }
  std::optional<ByteSpan> chunk = ParseChunkRange(text);
  if (chunk && chunk->first > chunk->last) __builtin_trap();
  return 0;
}
