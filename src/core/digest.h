// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Content digests. Every blob, artifact, manifest and cache key in Lockstep
// is named by a SHA-256 digest written "sha256:<64 lowercase hex>", the
// form OCI uses. Hashing goes through OpenSSL's libcrypto, which uses the
// CPU's SHA extensions where present.

#ifndef LOCKSTEP_CORE_DIGEST_H_
#define LOCKSTEP_CORE_DIGEST_H_

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "core/status.h"

struct evp_md_ctx_st;

namespace lockstep {

class Digest {
 public:
  Digest() = default;

  // Parses "sha256:<64 lowercase hex>". InvalidArgument otherwise.
  static Result<Digest> Parse(std::string_view text);

  // Wraps 64 lowercase hex characters. REQUIRES: `hex` is well formed.
  static Digest FromHex(std::string_view hex);

  bool empty() const { return hex_.empty(); }
  const std::string& hex() const { return hex_; }

  // "sha256:<hex>", or "" for an empty digest.
  std::string ToString() const;

  // "sha256:<first 12 hex>", for human output only.
  std::string Short() const;

  friend bool operator==(const Digest&, const Digest&) = default;
  friend auto operator<=>(const Digest&, const Digest&) = default;

 private:
  std::string hex_;
};

// Incremental SHA-256. Not thread-safe; one hasher per stream.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(const void* data, size_t size);
  void Update(std::string_view bytes) { Update(bytes.data(), bytes.size()); }

  // Returns the digest of everything passed to Update. The hasher must not
  // be used afterwards.
  Digest Finish();

 private:
  evp_md_ctx_st* context_;
};

// Returns the digest of `bytes`.
Digest Sha256Of(std::string_view bytes);

// Streams the file at `path` through SHA-256 in large reads. `on_chunk`,
// when set, sees every chunk after it is hashed (used to count CSV records
// or copy bytes in the same pass). NotFound or Unavailable on I/O errors.
using ChunkVisitor = std::function<Status(std::string_view chunk)>;
Result<Digest> Sha256OfFile(const std::filesystem::path& path,
                            const ChunkVisitor& on_chunk = nullptr,
                            uint64_t* size = nullptr);

// The read size used for streamed hashing.
inline constexpr size_t kHashChunkSize = 1 << 20;

}  // namespace lockstep

template <>
struct std::hash<lockstep::Digest> {
  size_t operator()(const lockstep::Digest& d) const {
    return std::hash<std::string>()(d.hex());
  }
};

#endif  // LOCKSTEP_CORE_DIGEST_H_
