// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Content digests. Every blob, artifact, manifest and cache key in Lockstep
// is named by a SHA-256 digest written "sha256:<64 lowercase hex>", the
// form OCI uses. Hashing goes through OpenSSL's libcrypto, which uses the
// CPU's SHA extensions where present.

#ifndef LOCKSTEP_CORE_DIGEST_H_
#define LOCKSTEP_CORE_DIGEST_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "core/status.h"

struct evp_md_ctx_st;

namespace lockstep {

class Digest {
 public:
  static constexpr size_t kSize = 32;  // SHA-256's.
  using Raw = std::array<unsigned char, kSize>;

  Digest() = default;

  // Parses "sha256:<64 lowercase hex>". InvalidArgument otherwise.
  static Result<Digest> Parse(std::string_view text);

  // Wraps 64 lowercase hex characters. REQUIRES: `hex` is well formed.
  static Digest FromHex(std::string_view hex);

  // Wraps kSize bytes of a digest.
  static Digest FromRaw(const unsigned char* bytes);

  bool empty() const { return !set_; }
  // The 64 lowercase hex characters; "" for an empty digest.
  std::string hex() const;
  const Raw& raw() const { return raw_; }

  // "sha256:<hex>", or "" for an empty digest.
  std::string ToString() const;

  // "sha256:<first 12 hex>", for human output only.
  std::string Short() const;

  // An empty digest sorts first; others in the order of their hex.
  friend bool operator==(const Digest&, const Digest&) = default;
  friend auto operator<=>(const Digest&, const Digest&) = default;

 private:
  // Held as bytes, not hex: a folder snapshot keeps one per file, and a
  // string each cost an allocation to make, copy and free.
  bool set_ = false;
  Raw raw_{};
};

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(const void* data, size_t size);
  void Update(std::string_view bytes) { Update(bytes.data(), bytes.size()); }

  // Takes `other`'s state, as if this hasher had been given the same
  // bytes: a copy made before a stretch of a stream lets the stream be
  // taken back to that point.
  void CopyFrom(const Sha256& other);

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
    // The bytes of a digest are already uniformly spread.
    size_t h;
    std::memcpy(&h, d.raw().data(), sizeof(h));
    return d.empty() ? 0 : h;
  }
};

#endif  // LOCKSTEP_CORE_DIGEST_H_
