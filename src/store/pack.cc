// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "store/pack.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "core/clock.h"
#include "core/files.h"
#include "core/log.h"
#include "store/blob_store.h"

namespace lockstep::store {

namespace {

// Bytes gathered before one write(2) of the pack file.
constexpr size_t kWriteBytes = 4u << 20;
// What O_DIRECT buffers, offsets and sizes must be multiples of.
constexpr size_t kDirectAlignment = 4096;
// A scan of the packs folder less than this long after the folder last
// changed may have missed a pack renamed in within the same clock tick.
constexpr int64_t kRacyScanNanos = 100'000'000;

void PutU64(std::string* out, uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

uint64_t GetU64(const char* in) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) {
    value = (value << 8) | static_cast<unsigned char>(in[i]);
  }
  return value;
}

bool ByDigest(const PackEntry& a, const PackEntry& b) {
  return std::memcmp(a.digest.data(), b.digest.data(), 32) < 0;
}

// A digest's first eight bytes as a number that orders as memcmp does.
uint64_t LeadingWord(const RawDigest& digest) {
  uint64_t word;
  std::memcpy(&word, digest.data(), sizeof word);
  if constexpr (std::endian::native == std::endian::little) {
    word = __builtin_bswap64(word);
  }
  return word;
}

// The order of a stable sort by digest (a repeat after its first copy),
// for an unstable sort that needs no buffer and mostly compares numbers:
// a pack of 100,000 small files is sorted on the way to its fsync.
bool ByDigestThenOffset(const PackEntry& a, const PackEntry& b) {
  uint64_t left = LeadingWord(a.digest);
  uint64_t right = LeadingWord(b.digest);
  if (left != right) return left < right;
  int order = std::memcmp(a.digest.data(), b.digest.data(), 32);
  return order != 0 ? order < 0 : a.offset < b.offset;
}

Status Malformed(const fs::path& path, const std::string& what) {
  return Status::DataLoss("pack " + path.string() + " is corrupt: " + what);
}

// Reads exactly `size` bytes at `offset`.
Status ReadAt(int fd, char* out, uint64_t size, uint64_t offset,
              const fs::path& path) {
  while (size > 0) {
    ssize_t n = ::pread(fd, out, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(path, errno);
    if (n == 0) return Malformed(path, "shorter than its footer says");
    out += n;
    size -= static_cast<uint64_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

// Decodes and checks the entries of an index whose data region ends at
// `data_end`.
Result<std::vector<PackEntry>> DecodeEntries(std::string_view index,
                                             uint64_t data_end,
                                             const fs::path& path) {
  std::vector<PackEntry> entries(index.size() / kPackEntryBytes);
  for (size_t i = 0; i < entries.size(); ++i) {
    const char* at = index.data() + i * kPackEntryBytes;
    PackEntry& entry = entries[i];
    std::memcpy(entry.digest.data(), at, 32);
    entry.offset = GetU64(at + 32);
    entry.length = GetU64(at + 40);
    if (entry.offset > data_end || entry.length > data_end - entry.offset) {
      return Malformed(path, "entry " + std::to_string(i) +
                                 " lies outside the data");
    }
    if (i > 0 && !ByDigest(entries[i - 1], entry)) {
      return Malformed(path, "index not sorted by digest");
    }
  }
  return entries;
}

}  // namespace

RawDigest ToRaw(const Digest& digest) { return digest.raw(); }

Digest FromRaw(const RawDigest& raw) { return Digest::FromRaw(raw.data()); }

Result<PackIndex> ReadPackIndex(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(path, errno);
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat info;
  if (::fstat(fd, &info) != 0) return ErrnoStatus(path, errno);
  uint64_t size = static_cast<uint64_t>(info.st_size);
  if (size < kPackFooterBytes) return Malformed(path, "too short");

  // The footer: magic, where the index starts, how many entries, and
  // the SHA-256 of the index bytes.
  char footer[kPackFooterBytes];
  RETURN_IF_ERROR(ReadAt(fd, footer, sizeof footer, size - sizeof footer,
                         path));
  if (std::string_view(footer, kPackMagic.size()) != kPackMagic) {
    return Malformed(path, "no pack footer");
  }
  uint64_t index_at = GetU64(footer + 16);
  uint64_t count = GetU64(footer + 24);
  uint64_t index_end = size - kPackFooterBytes;
  if (index_at > index_end ||
      count != (index_end - index_at) / kPackEntryBytes ||
      (index_end - index_at) % kPackEntryBytes != 0) {
    return Malformed(path, "footer sizes do not add up");
  }

  std::string index(index_end - index_at, '\0');
  RETURN_IF_ERROR(ReadAt(fd, index.data(), index.size(), index_at, path));
  RawDigest recorded;
  std::memcpy(recorded.data(), footer + 32, 32);
  Digest name = Sha256Of(index);
  if (name != FromRaw(recorded) || path.stem().string() != name.hex()) {
    return Malformed(path, "its index does not hash to its name");
  }
  ASSIGN_OR_RETURN(std::vector<PackEntry> entries,
                   DecodeEntries(index, index_at, path));
  return PackIndex{path, name, size, std::move(entries)};
}

void PackWriter::FreeDeleter::operator()(char* p) const { std::free(p); }

PackWriter::PackWriter(BlobStore* blobs, uint64_t target_bytes)
    : blobs_(blobs), target_bytes_(target_bytes) {}

PackWriter::~PackWriter() { Drop(); }

void PackWriter::Drop() {
  (void)WaitForWrite();
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(temp_.c_str());
  }
  fd_ = -1;
  fill_ = 0;
  entries_.clear();
  size_ = 0;
}

// The pack is written with O_DIRECT where the file system takes it: from
// our blocks straight to the disk, without copying 64 MiB into the page
// cache (perf showed that copy as the largest single cost of packing) or
// waiting behind other writers' dirty pages at the fsync. A direct write
// waits for the disk, so it runs on a second thread while the caller
// reads and hashes the next files into the other block.
Status PackWriter::Open() {
  std::error_code error;
  fs::create_directories(blobs_->TempDirectory(), error);
  temp_ = UniqueTempPath(blobs_->TempDirectory(), "pack-");
  int flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC;
  fd_ = ::open(temp_.c_str(), flags | O_DIRECT, 0444);
  direct_ = fd_ >= 0;
  if (fd_ < 0 && errno == EINVAL) fd_ = ::open(temp_.c_str(), flags, 0444);
  if (fd_ < 0) return ErrnoStatus(temp_, errno);
  for (auto& block : blocks_) {
    if (block) continue;
    void* memory = std::aligned_alloc(kDirectAlignment, kWriteBytes);
    if (memory == nullptr) return Status::Internal("out of memory");
    block.reset(static_cast<char*>(memory));
  }
  return Status::Ok();
}

Status PackWriter::Add(const Digest& digest, std::string_view bytes) {
  if (fd_ >= 0 && size_ > 0 && size_ + bytes.size() > target_bytes_) {
    RETURN_IF_ERROR(Seal());
  }
  if (fd_ < 0) RETURN_IF_ERROR(Open());
  entries_.push_back({ToRaw(digest), size_, bytes.size()});
  return Append(bytes);
}

Status PackWriter::Append(std::string_view bytes) {
  while (!bytes.empty()) {
    size_t take = std::min(kWriteBytes - fill_, bytes.size());
    std::memcpy(blocks_[current_].get() + fill_, bytes.data(), take);
    fill_ += take;
    size_ += take;
    bytes.remove_prefix(take);
    if (fill_ == kWriteBytes) RETURN_IF_ERROR(StartWrite());
  }
  return Status::Ok();
}

// Hands the full current block to a writing thread (after the previous
// write is done) and switches to the other block.
Status PackWriter::StartWrite() {
  RETURN_IF_ERROR(WaitForWrite());
  const char* data = blocks_[current_].get();
  size_t size = fill_;
  uint64_t offset = size_ - fill_;
  in_flight_ = std::async(std::launch::async, [this, data, size, offset] {
    return WriteAt(data, size, offset);
  });
  current_ ^= 1;
  fill_ = 0;
  return Status::Ok();
}

Status PackWriter::WaitForWrite() {
  return in_flight_.valid() ? in_flight_.get() : Status::Ok();
}

// Writes `size` bytes at `offset`. A size that is not whole aligned
// blocks (the pack's tail), or a refused direct write, switches the file
// to buffered writes. Never runs beside another WriteAt of this writer.
Status PackWriter::WriteAt(const char* data, size_t size, uint64_t offset) {
  if (direct_ && size % kDirectAlignment != 0) {
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) & ~O_DIRECT);
    direct_ = false;
  }
  while (size > 0) {
    ssize_t n = ::pwrite(fd_, data, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EINVAL && direct_) {
      ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) & ~O_DIRECT);
      direct_ = false;
      continue;
    }
    if (n < 0) return ErrnoStatus(temp_, errno);
    data += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

Status PackWriter::Seal() {
  // The index: entries sorted by digest, each digest once (a repeat's
  // bytes stay in the data region, unnamed).
  std::sort(entries_.begin(), entries_.end(), ByDigestThenOffset);
  entries_.erase(std::unique(entries_.begin(), entries_.end(),
                             [](const PackEntry& a, const PackEntry& b) {
                               return a.digest == b.digest;
                             }),
                 entries_.end());
  std::string index;
  index.reserve(entries_.size() * kPackEntryBytes);
  for (const PackEntry& entry : entries_) {
    index.append(reinterpret_cast<const char*>(entry.digest.data()), 32);
    PutU64(&index, entry.offset);
    PutU64(&index, entry.length);
  }
  Digest name = Sha256Of(index);
  std::string footer(kPackMagic);
  PutU64(&footer, size_);
  PutU64(&footer, entries_.size());
  RawDigest raw = ToRaw(name);
  footer.append(reinterpret_cast<const char*>(raw.data()), raw.size());
  RETURN_IF_ERROR(Append(index));
  RETURN_IF_ERROR(Append(footer));

  // Durable first, then visible in one rename, then the rename durable.
  RETURN_IF_ERROR(WaitForWrite());
  RETURN_IF_ERROR(WriteAt(blocks_[current_].get(), fill_, size_ - fill_));
  fill_ = 0;
  if (::fsync(fd_) != 0) return ErrnoStatus(temp_, errno);
  fs::path folder = blobs_->PacksDirectory();
  std::error_code error;
  fs::create_directories(folder, error);
  fs::path destination = folder / (name.hex() + ".pack");
  if (::rename(temp_.c_str(), destination.c_str()) != 0) {
    return ErrnoStatus(destination, errno);
  }
  ::close(fd_);
  fd_ = -1;
  RETURN_IF_ERROR(FsyncDirectory(folder));
  blobs_->packs().Add({destination, name, size_, std::move(entries_)});
  published_.push_back(name);
  Drop();
  return Status::Ok();
}

Status PackWriter::Finish() {
  if (fd_ < 0 || entries_.empty()) {
    Drop();
    return Status::Ok();
  }
  return Seal();
}

std::optional<PackedBlob> PackSet::Find(const Digest& digest,
                                        PackRefresh refresh) {
  std::vector<PackedBlob> all = FindAll(digest, refresh);
  if (all.empty()) return std::nullopt;
  return all.front();
}

std::vector<PackedBlob> PackSet::FindAll(const Digest& digest,
                                         PackRefresh refresh) {
  RawDigest raw = ToRaw(digest);
  auto lookup = [&]() {
    std::vector<PackedBlob> hits;
    auto it = std::lower_bound(
        slots_.begin(), slots_.end(), raw,
        [](const Slot& slot, const RawDigest& key) {
          return std::memcmp(slot.digest.data(), key.data(), 32) < 0;
        });
    for (; it != slots_.end() && it->digest == raw; ++it) {
      hits.push_back({packs_[it->pack], it->offset, it->length});
    }
    return hits;
  };
  {
    std::shared_lock shared(mutex_);
    if (scanned_) {
      std::vector<PackedBlob> hits = lookup();
      if (!hits.empty() || refresh == PackRefresh::kNo) return hits;
    }
  }
  std::lock_guard lock(mutex_);
  if (!scanned_) Scan();
  std::vector<PackedBlob> hits = lookup();
  if (hits.empty() && refresh == PackRefresh::kIfChanged &&
      ChangedSinceScan()) {
    Scan();
    hits = lookup();
  }
  return hits;
}

std::vector<std::pair<fs::path, std::vector<size_t>>> PackSet::GroupByPack(
    const std::vector<Digest>& digests) {
  std::lock_guard lock(mutex_);
  if (!scanned_) Scan();
  std::vector<std::vector<size_t>> members(packs_.size());
  for (size_t i = 0; i < digests.size(); ++i) {
    RawDigest raw = ToRaw(digests[i]);
    auto it = std::lower_bound(
        slots_.begin(), slots_.end(), raw,
        [](const Slot& slot, const RawDigest& key) {
          return std::memcmp(slot.digest.data(), key.data(), 32) < 0;
        });
    if (it != slots_.end() && it->digest == raw) {
      members[it->pack].push_back(i);
    }
  }
  std::vector<std::pair<fs::path, std::vector<size_t>>> groups;
  for (size_t pack = 0; pack < members.size(); ++pack) {
    if (!members[pack].empty()) {
      groups.emplace_back(packs_[pack], std::move(members[pack]));
    }
  }
  return groups;
}

bool PackSet::ChangedSinceScan() const {
  struct stat info;
  int64_t mtime = ::stat(folder_.c_str(), &info) == 0
                      ? UnixNanosOf(info.st_mtim)
                      : -1;
  // A scan that began right after the folder changed may have missed a
  // rename in the same tick of the file system's clock: it is redone.
  return mtime != folder_mtime_ns_ ||
         (mtime >= 0 && scanned_at_ns_ - mtime < kRacyScanNanos);
}

void PackSet::Scan() {
  scanned_ = true;
  scanned_at_ns_ = NowUnixNanos();
  struct stat info;
  folder_mtime_ns_ = ::stat(folder_.c_str(), &info) == 0
                         ? UnixNanosOf(info.st_mtim)
                         : -1;
  std::error_code error;
  fs::directory_iterator it(folder_, error);
  for (; !error && it != fs::directory_iterator(); it.increment(error)) {
    std::string name = it->path().filename().string();
    if (!name.ends_with(".pack") || !known_.insert(name).second) continue;
    Result<PackIndex> index = ReadPackIndex(it->path());
    if (!index.ok()) {
      // Its blobs read as missing; `verify` names the files affected.
      LogWarning("{}", index.status().message());
      continue;
    }
    Insert(*index);
  }
}

void PackSet::Insert(const PackIndex& index) {
  uint32_t pack = static_cast<uint32_t>(packs_.size());
  packs_.push_back(index.path);
  size_t before = slots_.size();
  slots_.reserve(before + index.entries.size());
  for (const PackEntry& entry : index.entries) {
    slots_.push_back({entry.digest, pack, entry.offset, entry.length});
  }

  // An index is sorted by digest on disk (ReadPackIndex checks it), so
  // one linear merge keeps the table sorted: a full sort of 100,000
  // slots cost more than the rest of an unchanged re-snapshot.
  auto by_digest = [](const Slot& a, const Slot& b) {
    return std::memcmp(a.digest.data(), b.digest.data(), 32) < 0;
  };
  if (!std::is_sorted(slots_.begin() + before, slots_.end(), by_digest)) {
    std::sort(slots_.begin() + before, slots_.end(), by_digest);
  }
  std::inplace_merge(slots_.begin(), slots_.begin() + before, slots_.end(),
                     by_digest);
}

void PackSet::Add(const PackIndex& index) {
  std::lock_guard lock(mutex_);
  if (!known_.insert(index.path.filename().string()).second) return;
  Insert(index);
}

void PackSet::Forget(const fs::path& pack) {
  std::lock_guard lock(mutex_);
  for (uint32_t i = 0; i < packs_.size(); ++i) {
    if (packs_[i] != pack) continue;
    std::erase_if(slots_, [i](const Slot& slot) { return slot.pack == i; });
  }
}

Result<std::vector<PackIndex>> PackSet::ReadAll(
    std::vector<std::string>* problems) const {
  std::vector<PackIndex> packs;
  std::error_code error;
  fs::directory_iterator it(folder_, error);
  if (error == std::errc::no_such_file_or_directory) return packs;
  for (; !error && it != fs::directory_iterator(); it.increment(error)) {
    if (it->path().extension() != ".pack") continue;
    Result<PackIndex> index = ReadPackIndex(it->path());
    if (index.ok()) {
      packs.push_back(std::move(*index));
    } else if (!index.status().IsNotFound() && problems != nullptr) {
      problems->push_back(index.status().message());
    }
  }
  if (error) return ErrnoStatus(folder_, error.value());
  std::sort(packs.begin(), packs.end(),
            [](const PackIndex& a, const PackIndex& b) {
              return a.path < b.path;
            });
  return packs;
}

}  // namespace lockstep::store

namespace lockstep::store {

std::string EncodePack(
    const std::vector<std::pair<Digest, std::string_view>>& blobs) {
  std::string pack;
  std::vector<PackEntry> entries;
  for (const auto& [digest, bytes] : blobs) {
    entries.push_back({ToRaw(digest), pack.size(), bytes.size()});
    pack.append(bytes);
  }
  // The same index and footer as PackWriter::Seal (pack_test checks that
  // both give the same bytes).
  std::stable_sort(entries.begin(), entries.end(), ByDigest);
  entries.erase(std::unique(entries.begin(), entries.end(),
                            [](const PackEntry& a, const PackEntry& b) {
                              return a.digest == b.digest;
                            }),
                entries.end());
  uint64_t data_end = pack.size();
  std::string index;
  for (const PackEntry& entry : entries) {
    index.append(reinterpret_cast<const char*>(entry.digest.data()), 32);
    PutU64(&index, entry.offset);
    PutU64(&index, entry.length);
  }
  RawDigest name = ToRaw(Sha256Of(index));
  pack.append(index);
  pack.append(kPackMagic);
  PutU64(&pack, data_end);
  PutU64(&pack, entries.size());
  pack.append(reinterpret_cast<const char*>(name.data()), name.size());
  return pack;
}

Result<std::vector<PackEntry>> DecodePack(std::string_view bytes,
                                          const std::string& what) {
  fs::path path(what);
  if (bytes.size() < kPackFooterBytes) return Malformed(path, "too short");
  std::string_view footer = bytes.substr(bytes.size() - kPackFooterBytes);
  if (footer.substr(0, kPackMagic.size()) != kPackMagic) {
    return Malformed(path, "no pack footer");
  }
  uint64_t index_at = GetU64(footer.data() + 16);
  uint64_t count = GetU64(footer.data() + 24);
  uint64_t index_end = bytes.size() - kPackFooterBytes;
  if (index_at > index_end ||
      (index_end - index_at) % kPackEntryBytes != 0 ||
      count != (index_end - index_at) / kPackEntryBytes) {
    return Malformed(path, "footer sizes do not add up");
  }
  std::string_view index = bytes.substr(index_at, index_end - index_at);
  RawDigest recorded;
  std::memcpy(recorded.data(), footer.data() + 32, 32);
  if (Sha256Of(index) != FromRaw(recorded)) {
    return Malformed(path, "its index does not hash to its footer");
  }
  return DecodeEntries(index, index_at, path);
}

}  // namespace lockstep::store
