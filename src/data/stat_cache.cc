// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "data/stat_cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "core/clock.h"
#include "core/files.h"

namespace lockstep::data {

namespace {

// File layout: the magic, then per entry: u32 path length, the path, then
// device, inode, size, mtime_ns, ctime_ns, hashed_at_ns as u64 in host
// byte order (the cache never leaves the machine), then 32 digest bytes.
// Save writes entries sorted by path bytes; Load accepts any order.
constexpr std::string_view kMagic = "lockstep-stat-cache-v1\n";
constexpr size_t kFixedSize = 6 * 8 + 32;

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

}  // namespace

StatKey StatKeyOf(const struct stat& info) {
  StatKey key;
  key.device = static_cast<uint64_t>(info.st_dev);
  key.inode = static_cast<uint64_t>(info.st_ino);
  key.size = static_cast<uint64_t>(info.st_size);
  key.mtime_ns = UnixNanosOf(info.st_mtim);
  key.ctime_ns = UnixNanosOf(info.st_ctim);
  return key;
}

namespace {

// The whole file, mapped: the cache of a 100,000-file folder is 12 MB,
// read on every snapshot, and mapping its cached pages costs a third of
// copying them into fresh memory. The file is only ever replaced by a
// rename (Save), never rewritten in place, so the mapped inode keeps
// its bytes. Empty when unreadable.
std::pair<std::shared_ptr<const char[]>, size_t> ReadWhole(
    const fs::path& file) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  struct stat info;
  if (::fstat(fd, &info) != 0 || info.st_size <= 0) {
    ::close(fd);
    return {};
  }
  size_t size = static_cast<size_t>(info.st_size);
  void* mapped = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE,
                        fd, 0);
  ::close(fd);
  if (mapped == MAP_FAILED) return {};
  std::shared_ptr<const char[]> bytes(
      static_cast<const char*>(mapped),
      [size](const char* p) { ::munmap(const_cast<char*>(p), size); });
  return {std::move(bytes), size};
}

}  // namespace

StatCache StatCache::Load(const fs::path& file) {
  StatCache cache;
  cache.file_ = file;
  auto [buffer, size] = ReadWhole(file);
  std::string_view data(buffer.get(), size);
  if (!data.starts_with(kMagic)) {
    return cache;
  }
  cache.bytes_ = std::move(buffer);
  size_t at = kMagic.size();
  bool sorted = true;
  while (data.size() - at >= 4) {
    uint32_t length = ReadRaw<uint32_t>(data.data() + at);
    if (data.size() - at - 4 < length + kFixedSize) {
      break;  // A damaged tail: keep what parsed.
    }
    Loaded entry{data.substr(at + 4, length),
                 data.data() + at + 4 + length};
    if (!cache.loaded_.empty() && !(cache.loaded_.back().path < entry.path)) {
      sorted = false;
    }
    cache.loaded_.push_back(entry);
    at += 4 + length + kFixedSize;
  }
  if (!sorted) {
    // Written unsorted, or with a path twice: the last one wins, as it
    // did when entries were read one after another into a map.
    std::stable_sort(cache.loaded_.begin(), cache.loaded_.end(),
                     [](const Loaded& a, const Loaded& b) {
                       return a.path < b.path;
                     });
    std::vector<Loaded> distinct;
    distinct.reserve(cache.loaded_.size());
    for (const Loaded& entry : cache.loaded_) {
      if (!distinct.empty() && distinct.back().path == entry.path) {
        distinct.back() = entry;
      } else {
        distinct.push_back(entry);
      }
    }
    cache.loaded_ = std::move(distinct);
  }
  return cache;
}

const StatCache::Loaded* StatCache::FindLoaded(std::string_view path) const {
  auto found = std::lower_bound(
      loaded_.begin(), loaded_.end(), path,
      [](const Loaded& entry, std::string_view p) { return entry.path < p; });
  if (found == loaded_.end() || found->path != path) return nullptr;
  return &*found;
}

bool StatCache::HoldsAnyUnder(std::string_view prefix) const {
  auto found = std::lower_bound(
      loaded_.begin(), loaded_.end(), prefix,
      [](const Loaded& entry, std::string_view p) { return entry.path < p; });
  if (found != loaded_.end() && found->path.starts_with(prefix)) return true;
  if (!added_sorted_) {
    return std::any_of(added_.begin(), added_.end(), [&](const Added& a) {
      return PathOf(a).starts_with(prefix);
    });
  }
  auto added = std::lower_bound(
      added_.begin(), added_.end(), prefix,
      [this](const Added& a, std::string_view p) { return PathOf(a) < p; });
  return added != added_.end() && PathOf(*added).starts_with(prefix);
}

const StatCache::Added* StatCache::FindAdded(std::string_view path) const {
  if (!added_sorted_) {
    // Rare (Puts out of path order): the last Put of the path wins.
    for (auto it = added_.rbegin(); it != added_.rend(); ++it) {
      if (PathOf(*it) == path) return &*it;
    }
    return nullptr;
  }
  auto found = std::lower_bound(
      added_.begin(), added_.end(), path,
      [this](const Added& a, std::string_view p) { return PathOf(a) < p; });
  if (found == added_.end() || PathOf(*found) != path) return nullptr;
  return &*found;
}

std::vector<const StatCache::Added*> StatCache::DistinctAdded() const {
  std::vector<const Added*> sorted;
  sorted.reserve(added_.size());
  for (const Added& added : added_) sorted.push_back(&added);
  if (added_sorted_) return sorted;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [this](const Added* a, const Added* b) {
                     return PathOf(*a) < PathOf(*b);
                   });
  std::vector<const Added*> distinct;
  distinct.reserve(sorted.size());
  for (const Added* added : sorted) {
    if (!distinct.empty() && PathOf(*distinct.back()) == PathOf(*added)) {
      distinct.back() = added;  // Put later.
    } else {
      distinct.push_back(added);
    }
  }
  return distinct;
}

StatCache::Entry StatCache::Decode(const char* fields) {
  Entry entry;
  entry.key.device = ReadRaw<uint64_t>(fields);
  entry.key.inode = ReadRaw<uint64_t>(fields + 8);
  entry.key.size = ReadRaw<uint64_t>(fields + 16);
  entry.key.mtime_ns = ReadRaw<int64_t>(fields + 24);
  entry.key.ctime_ns = ReadRaw<int64_t>(fields + 32);
  entry.hashed_at_ns = ReadRaw<int64_t>(fields + 40);
  std::memcpy(entry.raw_digest, fields + 48, 32);
  return entry;
}

const StatCache::Loaded* StatCache::FindLoadedFrom(std::string_view path,
                                                   size_t* cursor) const {
  // Gallop from the cursor: the next path is usually the next entry.
  size_t low = std::min(*cursor, loaded_.size());
  size_t step = 1;
  while (low + step <= loaded_.size() && loaded_[low + step - 1].path < path) {
    low += step;
    step *= 2;
  }
  size_t high = std::min(low + step, loaded_.size());
  auto found = std::lower_bound(
      loaded_.begin() + static_cast<std::ptrdiff_t>(low),
      loaded_.begin() + static_cast<std::ptrdiff_t>(high), path,
      [](const Loaded& entry, std::string_view p) { return entry.path < p; });
  *cursor = static_cast<size_t>(found - loaded_.begin());
  if (found == loaded_.end() || found->path != path) return nullptr;
  return &*found;
}

std::optional<Digest> StatCache::Check(const Entry& entry,
                                       const StatKey& key) const {
  if (!(entry.key == key)) return std::nullopt;
  // Racy: modified so shortly before hashing that a later rewrite could
  // carry the same timestamps.
  int64_t changed = std::max(key.mtime_ns, key.ctime_ns);
  if (entry.hashed_at_ns - changed < kRacyWindowNs) {
    return std::nullopt;
  }
  return Digest::FromRaw(
      reinterpret_cast<const unsigned char*>(entry.raw_digest));
}

std::optional<Digest> StatCache::Lookup(std::string_view path,
                                        const StatKey& key) const {
  if (const Added* added = FindAdded(path)) return Check(added->entry, key);
  const Loaded* loaded = FindLoaded(path);
  if (loaded == nullptr) return std::nullopt;
  return Check(Decode(loaded->fields), key);
}

std::optional<Digest> StatCache::Lookup(std::string_view path,
                                        const StatKey& key,
                                        size_t* cursor) const {
  if (!added_.empty()) return Lookup(path, key);
  const Loaded* loaded = FindLoadedFrom(path, cursor);
  if (loaded == nullptr) return std::nullopt;
  return Check(Decode(loaded->fields), key);
}

void StatCache::Put(std::string_view path, const StatKey& key,
                    int64_t hashed_at_ns, const Digest& digest) {
  Entry entry;
  entry.key = key;
  entry.hashed_at_ns = hashed_at_ns;
  std::memcpy(entry.raw_digest, digest.raw().data(), Digest::kSize);
  auto same = [&entry](const Entry& old) {
    return old.key == entry.key && old.hashed_at_ns == entry.hashed_at_ns &&
           std::memcmp(old.raw_digest, entry.raw_digest, 32) == 0;
  };
  // An unchanged entry leaves the cache clean. Out of path order, an
  // earlier Put is not searched for: the entry is added again.
  bool in_order = added_.empty() || PathOf(added_.back()) < path;
  if (added_sorted_) {
    const Added* added = in_order ? nullptr : FindAdded(path);
    if (added != nullptr) {
      if (same(added->entry)) return;
    } else if (const Loaded* loaded = FindLoaded(path)) {
      if (same(Decode(loaded->fields))) return;
    }
  }

  if (!in_order) added_sorted_ = false;
  added_.push_back({added_paths_.size(), path.size(), entry});
  added_paths_ += path;
  dirty_ = true;
}

size_t StatCache::size() const {
  size_t count = loaded_.size();
  for (const Added* added : DistinctAdded()) {
    if (FindLoaded(PathOf(*added)) == nullptr) ++count;
  }
  return count;
}

Status StatCache::Save() {
  if (!dirty_ || file_.empty()) {
    return Status::Ok();
  }
  std::string out(kMagic);
  out.reserve(out.size() + (loaded_.size() + added_.size()) *
                               (kFixedSize + 80));
  auto append = [&out](std::string_view path, const Entry& entry) {
    AppendRaw<uint32_t>(&out, static_cast<uint32_t>(path.size()));
    out += path;
    AppendRaw(&out, entry.key.device);
    AppendRaw(&out, entry.key.inode);
    AppendRaw(&out, entry.key.size);
    AppendRaw(&out, entry.key.mtime_ns);
    AppendRaw(&out, entry.key.ctime_ns);
    AppendRaw(&out, entry.hashed_at_ns);
    out.append(entry.raw_digest, 32);
  };
  // Both lists are sorted: merge them, an added entry replacing a loaded
  // one with the same path.
  std::vector<const Added*> distinct = DistinctAdded();
  auto loaded = loaded_.begin();
  auto added = distinct.begin();
  while (loaded != loaded_.end() || added != distinct.end()) {
    bool take_added = loaded == loaded_.end() ||
                      (added != distinct.end() &&
                       PathOf(**added) <= loaded->path);
    if (take_added) {
      std::string_view path = PathOf(**added);
      if (loaded != loaded_.end() && loaded->path == path) ++loaded;
      append(path, (*added)->entry);
      ++added;
    } else {
      out.append(loaded->path.data() - 4, 4 + loaded->path.size() +
                                              kFixedSize);
      ++loaded;
    }
  }
  RETURN_IF_ERROR(WriteFileAtomically(file_, out));
  dirty_ = false;
  return Status::Ok();
}

}  // namespace lockstep::data
