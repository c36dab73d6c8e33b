// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "share/bundle.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <optional>

#include "core/files.h"
#include "data/file_store.h"

namespace lockstep::share {

namespace {

constexpr std::string_view kTitle = "org.opencontainers.image.title";

// What a file adds to its bundle: its bytes and its index entry.
uint64_t Weight(const SizedBlob& blob) {
  return blob.size + store::kPackEntryBytes;
}

// Whether a bundle ends after `blob`: with probability Weight / target,
// decided by the digest's last 32 bits, which are uniform and independent
// of its position in digest order.
bool CutsAfter(const SizedBlob& blob, uint64_t target_bytes) {
  uint64_t low = std::stoull(blob.digest.hex().substr(56), nullptr, 16);
  // low < 2^32 * weight / target, without overflow for any target.
  return static_cast<long double>(low) * target_bytes <
         static_cast<long double>(Weight(blob)) * 4294967296.0L;
}

// Reads the files to bundle, each verified: a packed one from its pack
// through one open file per pack (opening the same pack for each of
// 100,000 files, and first looking for a loose copy, took most of a
// push's time), any other through the store.
class FileReader {
 public:
  explicit FileReader(const store::BlobStore* blobs) : blobs_(blobs) {}
  ~FileReader() {
    for (const auto& [path, fd] : fds_) ::close(fd);
  }
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;

  Result<std::string> Read(const Digest& digest,
                           const std::optional<store::PackedBlob>& packed) {
    if (!packed) return blobs_->ReadVerified(digest);
    ASSIGN_OR_RETURN(int fd, Open(packed->pack));
    std::string bytes(packed->length, '\0');
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::pread(fd, bytes.data() + done, bytes.size() - done,
                          static_cast<off_t>(packed->offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoStatus(packed->pack, errno);
      if (n == 0) break;
      done += static_cast<size_t>(n);
    }
    if (done == bytes.size() && Sha256Of(bytes) == digest) return bytes;
    // Another copy (loose, or a repacked one) may still verify.
    Result<std::string> other = blobs_->ReadVerified(digest);
    if (other.ok()) return other;
    return Status::DataLoss("blob " + digest.ToString() + " (in pack " +
                            packed->pack.filename().string() +
                            ") is corrupt");
  }

 private:
  Result<int> Open(const fs::path& pack) {
    auto found = fds_.find(pack);
    if (found != fds_.end()) return found->second;
    int fd = ::open(pack.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus(pack, errno);
    fds_.emplace(pack, fd);
    return fd;
  }

  const store::BlobStore* blobs_;
  std::map<fs::path, int> fds_;
};

// The bundle of `members` (positions in `files`), stored as a loose blob.
Result<Digest> WriteBundle(store::BlobStore* blobs, FileReader* reader,
                           const std::vector<SizedBlob>& files,
                           const std::vector<std::optional<store::PackedBlob>>&
                               where,
                           const std::vector<size_t>& members) {
  std::vector<std::string> bytes;
  bytes.reserve(members.size());
  for (size_t i : members) {
    ASSIGN_OR_RETURN(std::string read, reader->Read(files[i].digest,
                                                    where[i]));
    bytes.push_back(std::move(read));
  }
  std::vector<std::pair<Digest, std::string_view>> packed;
  packed.reserve(members.size());
  for (size_t k = 0; k < members.size(); ++k) {
    packed.emplace_back(files[members[k]].digest, bytes[k]);
  }
  return blobs->PutBytes(store::EncodePack(packed));
}

// A folder file's size and, when packed, where: packs first, since
// small files mostly are, and a loose lookup costs a failed stat each.
Result<SizedBlob> SizeOfFile(const store::BlobStore& blobs,
                             const Digest& digest,
                             std::optional<store::PackedBlob>* packed) {
  *packed = blobs.packs().Find(digest, store::PackRefresh::kIfChanged);
  if (*packed) return SizedBlob{digest, (*packed)->length};
  ASSIGN_OR_RETURN(uint64_t size, blobs.SizeOf(digest));
  return SizedBlob{digest, size};
}

}  // namespace

std::string AnnotationOf(const registry::PushLayer& layer,
                         const std::string& key) {
  if (!layer.annotations.is_object()) return "";
  auto found = layer.annotations.find(key);
  return found != layer.annotations.end() && found->is_string()
             ? found->get<std::string>()
             : "";
}

std::vector<std::vector<size_t>> SplitIntoBundles(
    const std::vector<SizedBlob>& blobs, const BundleSizes& sizes) {
  std::vector<std::vector<size_t>> bundles;
  std::vector<size_t> current;
  uint64_t weight = 0;
  for (size_t i = 0; i < blobs.size(); ++i) {
    if (!current.empty() && weight + Weight(blobs[i]) > sizes.max_bytes) {
      bundles.push_back(std::move(current));
      current.clear();
      weight = 0;
    }
    current.push_back(i);
    weight += Weight(blobs[i]);
    if (CutsAfter(blobs[i], sizes.target_bytes)) {
      bundles.push_back(std::move(current));
      current.clear();
      weight = 0;
    }
  }
  if (!current.empty()) bundles.push_back(std::move(current));
  return bundles;
}

Status BundleSmallFiles(store::BlobStore* blobs, const std::string& prefix,
                        const BundleSizes& sizes,
                        std::vector<registry::PushLayer>* layers) {
  std::vector<registry::PushLayer> kept;
  // Small files and where each is, in digest order.
  std::vector<std::pair<SizedBlob, std::optional<store::PackedBlob>>> found;
  size_t insert_at = 0;
  for (registry::PushLayer& layer : *layers) {
    std::optional<store::PackedBlob> packed;
    Result<SizedBlob> file =
        AnnotationOf(layer, "lockstep.role") == kFileRole
            ? SizeOfFile(*blobs, layer.digest, &packed)
            : Result<SizedBlob>(Status::NotFound("not a file"));
    if (!file.ok() || file->size > data::kPackedFileLimit) {
      kept.push_back(std::move(layer));  // A missing file is named later.
      continue;
    }
    if (found.empty()) insert_at = kept.size();
    found.emplace_back(*file, std::move(packed));
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return a.first.digest.hex() < b.first.digest.hex();
  });
  std::vector<SizedBlob> small;
  std::vector<std::optional<store::PackedBlob>> where;
  for (auto& [file, packed] : found) {
    small.push_back(file);
    where.push_back(std::move(packed));
  }
  FileReader reader(blobs);
  std::vector<registry::PushLayer> bundles;
  for (const std::vector<size_t>& members : SplitIntoBundles(small, sizes)) {
    ASSIGN_OR_RETURN(Digest digest,
                     WriteBundle(blobs, &reader, small, where, members));
    registry::PushLayer layer;
    layer.digest = digest;
    layer.media_type = std::string(kPackLayer);
    layer.annotations = {
        {std::string(kTitle),
         prefix + "files-" + std::to_string(bundles.size() + 1) + ".pack"},
        {"lockstep.role", std::string(kBundleRole)},
        {"lockstep.files", std::to_string(members.size())}};
    bundles.push_back(std::move(layer));
  }
  kept.insert(kept.begin() + static_cast<std::ptrdiff_t>(insert_at),
              bundles.begin(), bundles.end());
  *layers = std::move(kept);
  return Status::Ok();
}

Result<size_t> UnpackBundle(store::BlobStore* blobs,
                            const registry::PushLayer& layer,
                            const BundleSizes& sizes,
                            store::PackWriter* packs) {
  std::string what = "bundle " + layer.digest.ToString() + " (" +
                     AnnotationOf(layer, std::string(kTitle)) + ")";
  ASSIGN_OR_RETURN(uint64_t size, blobs->SizeOf(layer.digest));
  if (size > sizes.max_bytes + store::kPackFooterBytes) {
    return Status::InvalidArgument(what + " is " + std::to_string(size) +
                                   " bytes; at most " +
                                   std::to_string(sizes.max_bytes) +
                                   " expected");
  }
  ASSIGN_OR_RETURN(std::string bytes, blobs->ReadVerified(layer.digest));
  ASSIGN_OR_RETURN(std::vector<store::PackEntry> entries,
                   store::DecodePack(bytes, what));
  // Every file first, so a bad bundle stores none of its files.
  for (const store::PackEntry& entry : entries) {
    std::string_view file(bytes.data() + entry.offset, entry.length);
    Digest actual = Sha256Of(file);
    if (actual != store::FromRaw(entry.digest)) {
      return Status::DataLoss(what + " is corrupt: its file " +
                              store::FromRaw(entry.digest).ToString() +
                              " hashes to " + actual.ToString());
    }
  }
  for (const store::PackEntry& entry : entries) {
    Digest digest = store::FromRaw(entry.digest);
    // Packs first: a loose lookup costs a failed stat per packed file.
    if (blobs->packs().Find(digest, store::PackRefresh::kNo) ||
        blobs->Contains(digest, store::PackRefresh::kNo)) {
      continue;
    }
    std::string_view file(bytes.data() + entry.offset, entry.length);
    if (entry.length <= data::kPackedFileLimit) {
      RETURN_IF_ERROR(packs->Add(digest, file));
    } else {
      RETURN_IF_ERROR(blobs->PutBytes(file).status());
    }
  }
  return entries.size();
}

}  // namespace lockstep::share
