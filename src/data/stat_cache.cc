// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "data/stat_cache.h"

#include <algorithm>
#include <cstring>
#include <ctime>

#include "core/files.h"

namespace lockstep::data {

namespace {

// File layout: the magic, then per entry: u32 path length, the path, then
// device, inode, size, mtime_ns, ctime_ns, hashed_at_ns as u64 in host
// byte order (the cache never leaves the machine), then 32 digest bytes.
constexpr std::string_view kMagic = "lockstep-stat-cache-v1\n";
constexpr size_t kFixedSize = 6 * 8 + 32;

int64_t Nanos(const struct timespec& time) {
  return static_cast<int64_t>(time.tv_sec) * 1'000'000'000 + time.tv_nsec;
}

template <typename T>
void AppendRaw(std::string* out, T value) {
  out->append(reinterpret_cast<const char*>(&value), sizeof(value));
}

template <typename T>
T ReadRaw(const char* at) {
  T value;
  std::memcpy(&value, at, sizeof(value));
  return value;
}

std::string HexToRaw(const std::string& hex) {
  std::string raw(32, '\0');
  for (size_t i = 0; i < 32; ++i) {
    auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
    raw[i] =
        static_cast<char>(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
  }
  return raw;
}

Digest RawToDigest(const std::string& raw) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : raw) {
    hex.push_back(kDigits[c >> 4]);
    hex.push_back(kDigits[c & 0xf]);
  }
  return Digest::FromHex(hex);
}

}  // namespace

StatKey StatKeyOf(const struct stat& info) {
  StatKey key;
  key.device = static_cast<uint64_t>(info.st_dev);
  key.inode = static_cast<uint64_t>(info.st_ino);
  key.size = static_cast<uint64_t>(info.st_size);
  key.mtime_ns = Nanos(info.st_mtim);
  key.ctime_ns = Nanos(info.st_ctim);
  return key;
}

int64_t NowUnixNanos() {
  struct timespec now;
  ::clock_gettime(CLOCK_REALTIME, &now);
  return Nanos(now);
}

StatCache StatCache::Load(const fs::path& file) {
  StatCache cache;
  cache.file_ = file;
  Result<std::string> bytes = ReadFile(file);
  if (!bytes.ok() || !bytes->starts_with(kMagic)) {
    return cache;
  }
  const std::string& data = *bytes;
  size_t at = kMagic.size();
  while (data.size() - at >= 4) {
    uint32_t length = ReadRaw<uint32_t>(data.data() + at);
    if (data.size() - at - 4 < length + kFixedSize) {
      break;  // A damaged tail: keep what parsed.
    }
    std::string path = data.substr(at + 4, length);
    const char* fixed = data.data() + at + 4 + length;
    Entry entry;
    entry.key.device = ReadRaw<uint64_t>(fixed);
    entry.key.inode = ReadRaw<uint64_t>(fixed + 8);
    entry.key.size = ReadRaw<uint64_t>(fixed + 16);
    entry.key.mtime_ns = ReadRaw<int64_t>(fixed + 24);
    entry.key.ctime_ns = ReadRaw<int64_t>(fixed + 32);
    entry.hashed_at_ns = ReadRaw<int64_t>(fixed + 40);
    entry.raw_digest.assign(fixed + 48, 32);
    cache.entries_[std::move(path)] = std::move(entry);
    at += 4 + length + kFixedSize;
  }
  return cache;
}

std::optional<Digest> StatCache::Lookup(const std::string& path,
                                        const StatKey& key) const {
  auto found = entries_.find(path);
  if (found == entries_.end() || !(found->second.key == key)) {
    return std::nullopt;
  }
  // Racy: modified so shortly before hashing that a later rewrite could
  // carry the same timestamps.
  int64_t changed = std::max(key.mtime_ns, key.ctime_ns);
  if (found->second.hashed_at_ns - changed < kRacyWindowNs) {
    return std::nullopt;
  }
  return RawToDigest(found->second.raw_digest);
}

void StatCache::Put(const std::string& path, const StatKey& key,
                    int64_t hashed_at_ns, const Digest& digest) {
  Entry& entry = entries_[path];
  std::string raw = HexToRaw(digest.hex());
  if (entry.key == key && entry.raw_digest == raw &&
      entry.hashed_at_ns == hashed_at_ns) {
    return;
  }
  entry.key = key;
  entry.hashed_at_ns = hashed_at_ns;
  entry.raw_digest = std::move(raw);
  dirty_ = true;
}

Status StatCache::Save() {
  if (!dirty_ || file_.empty()) {
    return Status::Ok();
  }
  std::string out(kMagic);
  out.reserve(out.size() + entries_.size() * (kFixedSize + 80));
  for (const auto& [path, entry] : entries_) {
    AppendRaw<uint32_t>(&out, static_cast<uint32_t>(path.size()));
    out += path;
    AppendRaw(&out, entry.key.device);
    AppendRaw(&out, entry.key.inode);
    AppendRaw(&out, entry.key.size);
    AppendRaw(&out, entry.key.mtime_ns);
    AppendRaw(&out, entry.key.ctime_ns);
    AppendRaw(&out, entry.hashed_at_ns);
    out += entry.raw_digest;
  }
  RETURN_IF_ERROR(WriteFileAtomically(file_, out));
  dirty_ = false;
  return Status::Ok();
}

}  // namespace lockstep::data
