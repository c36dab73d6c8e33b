// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "core/digest.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace lockstep {

namespace {

constexpr std::string_view kPrefix = "sha256:";

bool IsLowerHex(std::string_view text) {
  for (char c : text) {
    bool digit = c >= '0' && c <= '9';
    bool letter = c >= 'a' && c <= 'f';
    if (!digit && !letter) {
      return false;
    }
  }
  return true;
}

std::string ToHex(const unsigned char* bytes, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex(size * 2, '0');
  for (size_t i = 0; i < size; ++i) {
    hex[2 * i] = kDigits[bytes[i] >> 4];
    hex[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
  return hex;
}

// OpenSSL 3 looks a digest up in its provider registry (under a lock) on
// every EVP_DigestInit_ex given EVP_sha256(); fetching it once makes a
// hasher cheap to create, which matters when hashing many small files on
// all cores. Kept for the life of the process.
const EVP_MD* Sha256Method() {
  static EVP_MD* method = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return method != nullptr ? method : EVP_sha256();
}

}  // namespace

Result<Digest> Digest::Parse(std::string_view text) {
  if (!text.starts_with(kPrefix)) {
    return Status::InvalidArgument("digest '" + std::string(text) +
                                   "' does not start with sha256:");
  }
  std::string_view hex = text.substr(kPrefix.size());
  if (hex.size() != 64 || !IsLowerHex(hex)) {
    return Status::InvalidArgument("digest '" + std::string(text) +
                                   "' is not 64 lowercase hex characters");
  }
  return FromHex(hex);
}

Digest Digest::FromHex(std::string_view hex) {
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  Digest digest;
  digest.set_ = true;
  for (size_t i = 0; i < kSize && 2 * i + 1 < hex.size(); ++i) {
    digest.raw_[i] = static_cast<unsigned char>(nibble(hex[2 * i]) << 4 |
                                                nibble(hex[2 * i + 1]));
  }
  return digest;
}

Digest Digest::FromRaw(const unsigned char* bytes) {
  Digest digest;
  digest.set_ = true;
  std::memcpy(digest.raw_.data(), bytes, kSize);
  return digest;
}

std::string Digest::hex() const {
  return set_ ? ToHex(raw_.data(), raw_.size()) : std::string();
}

std::string Digest::ToString() const {
  if (!set_) {
    return "";
  }
  return std::string(kPrefix) + hex();
}

std::string Digest::Short() const {
  return std::string(kPrefix) + hex().substr(0, 12);
}

Sha256::Sha256() : context_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(context_, Sha256Method(), nullptr);
}

Sha256::~Sha256() { EVP_MD_CTX_free(context_); }

void Sha256::Update(const void* data, size_t size) {
  EVP_DigestUpdate(context_, data, size);
}

void Sha256::CopyFrom(const Sha256& other) {
  EVP_MD_CTX_copy_ex(context_, other.context_);
}

Digest Sha256::Finish() {
  unsigned char bytes[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_DigestFinal_ex(context_, bytes, &size);
  return Digest::FromRaw(bytes);
}

Digest Sha256Of(std::string_view bytes) {
  Sha256 hasher;
  hasher.Update(bytes);
  return hasher.Finish();
}

Result<Digest> Sha256OfFile(const std::filesystem::path& path,
                            const ChunkVisitor& on_chunk, uint64_t* size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int error = errno;
    std::string message = path.string() + ": " + std::strerror(error);
    return error == ENOENT ? Status::NotFound(message)
                           : Status::Unavailable(message);
  }
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);

  // One buffer per thread, not one allocation per file; a visitor might
  // hash another file from inside its callback, so it gets its own.
  thread_local std::unique_ptr<char[]> shared_buffer;
  std::unique_ptr<char[]> own_buffer;
  char* buffer = nullptr;
  if (on_chunk) {
    own_buffer = std::make_unique<char[]>(kHashChunkSize);
    buffer = own_buffer.get();
  } else {
    if (!shared_buffer) {
      shared_buffer = std::make_unique<char[]>(kHashChunkSize);
    }
    buffer = shared_buffer.get();
  }
  Sha256 hasher;
  uint64_t total = 0;
  while (true) {
    ssize_t n = ::read(fd, buffer, kHashChunkSize);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      std::string message = path.string() + ": " + std::strerror(errno);
      ::close(fd);
      return Status::Unavailable(message);
    }
    if (n == 0) {
      break;
    }
    std::string_view chunk(buffer, static_cast<size_t>(n));
    hasher.Update(chunk);
    total += static_cast<uint64_t>(n);
    if (on_chunk) {
      Status status = on_chunk(chunk);
      if (!status.ok()) {
        ::close(fd);
        return status;
      }
    }
  }
  ::close(fd);

  if (size != nullptr) {
    *size = total;
  }
  return hasher.Finish();
}

}  // namespace lockstep
