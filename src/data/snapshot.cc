// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "data/snapshot.h"

#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <future>
#include <mutex>
#include <thread>

#include "core/ascii.h"
#include "core/clock.h"
#include "core/files.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/utf8.h"
#include "data/csv.h"
#include "data/file_store.h"
#include "data/parallel.h"
#include "data/stat_cache.h"
#include "data/table_source.h"
#include "data/vouched_trees.h"
#include "store/sweep_lock.h"

namespace lockstep::data {

namespace {

constexpr std::string_view kDatasetType = "Dataset";
constexpr std::string_view kSourceType = "Artifact";
constexpr std::string_view kExecutionType = "lockstep/data-snapshot";
constexpr std::string_view kStatCacheFile = "stat-cache-v1";
constexpr std::string_view kVouchedTreesFile = "vouched-trees-v1";
// What one folder's list may have read on the core that walked it (see
// SnapshotFolder): bounds by which one core can finish after the other.
constexpr size_t kFilesReadWhileWalking = 4096;
constexpr uint64_t kLargestReadWhileWalking = 64 << 10;
constexpr uint64_t kBytesReadWhileWalking = 8 << 20;

// What a reference may name: letters, digits, . _ - and /, not starting
// with '.' or '/'. Lenient so that snapshots made before the stricter
// IsValidNewSnapshotName stay reachable.
bool IsValidName(std::string_view name) {
  if (name.empty() || name.size() > 200) return false;
  for (char c : name) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' ||
              c == '_' || c == '-' || c == '/';
    if (!ok) return false;
  }
  return name.front() != '.' && name.front() != '/';
}

bool IsCsvPath(const fs::path& path) {
  return AsciiLowercase(path.extension().string()) == ".csv";
}

std::string DefaultCreator() {
  if (const char* user = std::getenv("USER"); user && *user) return user;
  if (struct passwd* account = ::getpwuid(::geteuid())) {
    return account->pw_name;
  }
  return std::to_string(::geteuid());
}

Json LabelsToJson(const std::map<std::string, std::string>& labels) {
  Json out = Json::object();
  for (const auto& [key, value] : labels) out[key] = value;
  return out;
}

Json PropertiesOf(const SnapshotInfo& info) {
  Json properties = {
      {"kind", SourceKindName(info.kind)},
      {"size", info.size},
      {"row_count", info.row_count ? Json(*info.row_count) : Json(nullptr)},
      {"columns", info.columns},
      {"column_types", info.column_types},
      {"source", info.source},
      {"creator", info.creator},
      {"created_ms", info.created_ms},
      {"expires_ms", info.expires_ms},
      {"labels", LabelsToJson(info.labels)},
      {"description", info.description},
  };
  if (info.kind == SourceKind::kFolder) {
    properties["file_count"] = info.file_count;
    properties["tree"] = info.digest;
  }
  return properties;
}

SnapshotInfo InfoFromArtifact(const metadata::Snapshot& snapshot,
                              const metadata::Artifact& artifact) {
  SnapshotInfo info;
  info.name = snapshot.name;
  info.version = snapshot.version;
  info.artifact_id = artifact.id;
  info.digest = artifact.digest;
  info.state = artifact.state;
  info.removal_reason = artifact.removal_reason;
  const Json& p = artifact.properties;
  std::string kind = p.value("kind", "file");
  info.kind = kind == "folder" ? SourceKind::kFolder
              : kind == "table" ? SourceKind::kTable
                                : SourceKind::kFile;
  info.size = p.value("size", uint64_t{0});
  if (p.contains("row_count") && p["row_count"].is_number()) {
    info.row_count = p["row_count"].get<uint64_t>();
  }
  info.columns = p.value("columns", std::vector<std::string>{});
  info.column_types = p.value("column_types", std::vector<std::string>{});
  info.file_count = p.value("file_count", uint64_t{0});
  info.source = p.value("source", artifact.uri);
  info.creator = p.value("creator", "");
  info.created_ms = p.value("created_ms", artifact.create_time_ms);
  info.expires_ms = p.value("expires_ms", int64_t{0});
  info.labels =
      p.value("labels", std::map<std::string, std::string>{});
  info.description = p.value("description", "");
  return info;
}

// " (in pack P)" for a packed blob, so a corrupt pack can be found.
std::string PackNote(const store::BlobStore& blobs, const Digest& digest) {
  Result<store::BlobStore::Location> where = blobs.Locate(digest);
  if (!where.ok() || !where->packed) return "";
  return " (in pack " + where->file.filename().string() + ")";
}

Status SnapshotNotFound(const SnapshotRef& ref) {
  return Status::NotFound(
      "no snapshot " + ref.name +
      (ref.version > 0 ? "@" + std::to_string(ref.version) : ""));
}

}  // namespace

std::string_view SourceKindName(SourceKind kind) {
  switch (kind) {
    case SourceKind::kFile:
      return "file";
    case SourceKind::kFolder:
      return "folder";
    case SourceKind::kTable:
      return "table";
  }
  return "file";
}

bool SnapshotInfo::Expired(int64_t now_ms) const {
  return expires_ms != 0 && now_ms >= expires_ms;
}

Json SnapshotInfo::ToJson(int64_t now_ms) const {
  Json out = PropertiesOf(*this);
  out["name"] = name;
  out["version"] = version;
  out["ref"] = Ref();
  out["artifact_id"] = artifact_id;
  out["digest"] = digest;
  out["created"] = FormatRfc3339(created_ms);
  out["expires"] = expires_ms == 0 ? Json(nullptr)
                                   : Json(FormatRfc3339(expires_ms));
  out["expired"] = Expired(now_ms);
  out["state"] = state;
  out["removed"] = Removed();
  if (Removed()) out["removal_reason"] = removal_reason;
  return out;
}

Json SnapshotDiff::ChangesJson() const {
  Json list = Json::array();
  for (const std::string& path : changed) {
    list.push_back({{"path", JsonPath(path)}, {"what", changes.at(path)}});
  }
  return list;
}

Json SnapshotDiff::ToJson(int64_t now_ms) const {
  auto paths = [](const std::vector<std::string>& raw) {
    Json list = Json::array();
    for (const std::string& path : raw) list.push_back(JsonPath(path));
    return list;
  };
  return {{"from", from.ToJson(now_ms)}, {"to", to.ToJson(now_ms)},
          {"same_content", same_content}, {"added", paths(added)},
          {"removed", paths(removed)}, {"changed", paths(changed)},
          {"changes", ChangesJson()}, {"notes", notes}};
}

// At most 17 digits: far from int64's end, so "one past the latest"
// can never overflow.
constexpr int64_t kMaxSnapshotVersion = 99'999'999'999'999'999;

// A new snapshot's name (docs/data.md): components joined by single '/',
// each non-empty, of letters, digits, . _ -, and not starting with '.'
// or '-'. A name becomes part of registry references and of paths, where
// `..`, `a//b` and `a/` would climb out, alias another name, or be
// refused, and of command lines, where `-rf` would read as a flag.
bool IsValidNewSnapshotName(std::string_view name) {
  if (!IsValidName(name)) return false;
  size_t start = 0;
  while (true) {
    size_t slash = name.find('/', start);
    std::string_view part = name.substr(start, slash - start);
    if (part.empty() || part.front() == '.' || part.front() == '-') {
      return false;
    }
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

std::string InvalidSnapshotNameMessage(std::string_view name) {
  return "'" + std::string(name) + "' is not a valid snapshot name: parts "
         "of letters, digits, . _ - joined by single '/', none empty or "
         "starting with '.' or '-'";
}

Result<int64_t> ParseSnapshotVersion(std::string_view text) {
  bool digits = !text.empty() && text.size() < 18 &&
                std::all_of(text.begin(), text.end(), ::isdigit);
  if (!digits || std::stoll(std::string(text)) < 1) {
    return Status::InvalidArgument(
        "the version must be a positive integer of at most 17 digits, "
        "not '" + std::string(text) + "'");
  }
  return std::stoll(std::string(text));
}

Result<SnapshotRef> ParseSnapshotRef(std::string_view text) {
  SnapshotRef ref;
  size_t at = text.rfind('@');
  ref.name = std::string(text.substr(0, at));
  // "@latest" as a pipeline's inputs spell it (version 0: the latest);
  // data commands refused it (a tester's finding).
  if (at != std::string_view::npos && text.substr(at + 1) != "latest") {
    Result<int64_t> version = ParseSnapshotVersion(text.substr(at + 1));
    if (!version.ok()) {
      return Status::InvalidArgument("'" + std::string(text) +
                                     "': the version after @ must be a "
                                     "positive integer");
    }
    ref.version = *version;
  }
  if (!IsValidName(ref.name)) {
    return Status::InvalidArgument(
        "'" + std::string(text) +
        "' is not NAME[@VERSION] (names use letters, digits, . _ - /)");
  }
  return ref;
}

DataSnapshots::DataSnapshots(store::BlobStore* blobs,
                             metadata::MetadataStore* metadata,
                             fs::path cache_dir)
    : blobs_(blobs), metadata_(metadata), cache_dir_(std::move(cache_dir)) {}

namespace {

// What a snapshot records is UTF-8 JSON; the content itself is hashed as
// bytes and may hold anything.
Status CheckRequestUtf8(const SnapshotRequest& request) {
  RETURN_IF_ERROR(RequireUtf8("the snapshot path", request.source));
  RETURN_IF_ERROR(RequireUtf8("--description", request.description));
  RETURN_IF_ERROR(RequireUtf8("the creator", request.creator));
  for (const auto& [key, value] : request.labels) {
    RETURN_IF_ERROR(RequireUtf8("--label " + EscapeBytes(key), key + value));
  }
  return Status::Ok();
}

}  // namespace

Result<SnapshotInfo> DataSnapshots::Create(const SnapshotRequest& request) {
  if (!IsValidNewSnapshotName(request.name)) {
    return Status::InvalidArgument(InvalidSnapshotNameMessage(request.name) +
                                   " (like iris or team/iris-2.1)");
  }
  if (request.version < 0) {
    return Status::InvalidArgument("--version must be a positive integer");
  }
  RETURN_IF_ERROR(CheckRequestUtf8(request));
  if (request.version == 0) {
    Result<metadata::Snapshot> latest = metadata_->LatestSnapshot(request.name);
    if (latest.ok() && latest->version >= kMaxSnapshotVersion) {
      return Status::InvalidArgument(
          request.name + "@" + std::to_string(latest->version) +
          " is the last version a reference can name; snapshot under "
          "another name");
    }
  }
  // Refuse a taken version before doing any work.
  if (request.version > 0 &&
      metadata_->GetSnapshot(request.name, request.version).ok()) {
    return Status::AlreadyExists("snapshot " + request.name + "@" +
                                 std::to_string(request.version) +
                                 " already exists; versions are immutable");
  }

  // Held until the record names the blobs this snapshot reuses, so a
  // concurrent gc cannot sweep them in between (store/sweep_lock.h).
  ASSIGN_OR_RETURN(store::SweepLock sweep_lock,
                   store::SweepLock::Acquire(blobs_->root(),
                                             store::SweepLock::Mode::kShared));
  Result<SnapshotInfo> info = Status::Internal("unset");
  if (IsTableUrl(request.source)) {
    // A relative SQLite path is recorded absolute, as a file's is.
    info = SnapshotTable(AnchorSqliteUrl(request.source, ""));
  } else {
    struct stat status;
    fs::path path = request.source;
    // A link names what it points to, as `data snapshot LINK/` always did.
    if (::stat(path.c_str(), &status) != 0) {
      int error = errno;
      std::string reason = request.source + ": " + std::strerror(error);
      return error == ENOENT ? Status::NotFound(reason)
                             : Status::InvalidArgument(reason);
    }
    if (S_ISDIR(status.st_mode)) {
      info = SnapshotFolder(path, sweep_lock.stamp());
    } else if (S_ISREG(status.st_mode)) {
      // Files are read refusing links (O_NOFOLLOW): read the target.
      std::error_code error;
      fs::path target = fs::canonical(path, error);
      info = SnapshotFile(error ? path : target);
    } else {
      return Status::InvalidArgument(request.source +
                                     ": not a file, folder or table URL");
    }
  }
  RETURN_IF_ERROR(info.status());
  for (const std::string& column : info->columns) {
    RETURN_IF_ERROR(
        RequireUtf8(request.source + ":1: CSV column name", column));
  }
  if (request.reuse_unchanged && request.version == 0) {
    Result<SnapshotInfo> latest = Get({request.name, 0});
    if (latest.ok() && !latest->Removed() && latest->kind == info->kind &&
        latest->digest == info->digest) {
      return latest;
    }
  }
  RETURN_IF_ERROR(Record(request, &info.value()));
  return info;
}

Result<SnapshotInfo> DataSnapshots::SnapshotFile(const fs::path& path) {
  SnapshotInfo info;
  info.kind = SourceKind::kFile;
  info.source = fs::absolute(path).lexically_normal().string();

  std::optional<CsvRecordCounter> counter;
  ChunkVisitor count = nullptr;
  if (IsCsvPath(path)) {
    counter.emplace();
    count = [&counter](std::string_view chunk) {
      counter->Feed(chunk);
      return Status::Ok();
    };
  }
  std::error_code error;
  Progress progress("snapshot " + path.filename().string(),
                    fs::file_size(path, error), "bytes");
  ASSIGN_OR_RETURN(StoredFile stored,
                   StoreLargeFile(blobs_, path, count, &progress));
  progress.Finish();
  info.digest = stored.digest.ToString();
  info.size = stored.size;
  if (counter) {
    // The bytes are pinned as they are; a CSV that breaks RFC 4180 is
    // still snapshotted, but its row count may not be what the user
    // thinks, so say so.
    Status well_formed = counter->Finish();
    if (!well_formed.ok()) {
      LogWarning("{}: {}; snapshotted as it is, with {} rows counted",
                 path.string(), well_formed.message(), counter->records());
    }
    info.row_count = counter->records();
    info.columns = counter->columns();
    // Types from the first records, read back from the stored blob.
    ASSIGN_OR_RETURN(std::string sample,
                     blobs_->ReadPrefix(stored.digest, kTypeSampleBytes));
    info.column_types = InferColumnTypes(
        sample, sample.size() < stored.size, info.columns.size());
  }
  return info;
}

Result<SnapshotInfo> DataSnapshots::SnapshotFolder(const fs::path& path,
                                                   const std::string& stamp) {
  SnapshotInfo info;
  info.kind = SourceKind::kFolder;
  fs::path root = fs::absolute(path).lexically_normal();
  if (root.has_filename() == false) root = root.parent_path();
  info.source = root.string();
  // Snapshotting a folder that holds the store must not read the store.
  std::vector<std::string> skip;
  fs::path store = fs::weakly_canonical(blobs_->root());
  fs::path inside = store.lexically_relative(fs::weakly_canonical(root));
  if (!inside.empty() && *inside.begin() != "..") skip.push_back(inside);
  StatCache cache = StatCache::Load(cache_dir_ / kStatCacheFile);
  std::string prefix = root.string();
  if (prefix.back() != '/') prefix += '/';
  // A folder the cache knows nothing of is read whole: its files' lstat
  // fields are taken once each is open (fstat, no path lookup).
  WalkStat walk_stat = cache.HoldsAnyUnder(prefix) ? WalkStat::kAll
                                                   : WalkStat::kNotFiles;
  SmallFileBatch batch(blobs_);
  batch.OpenRelativeTo(root);
  // The total is known once the walk ends; until then the count alone.
  Progress progress("snapshot " + root.filename().string(), 0, "files");

  // Reads one file into the store, filling in what the walk left out.
  // A file over `defer_above` bytes is only opened for its fields and
  // left for the pass below, which spreads files over the cores.
  auto read_file = [&](WalkedEntry& item, uint64_t defer_above) -> Status {
    std::string file = prefix + item.entry.path;
    item.hashed_at = NowUnixNanos();
    if (item.unstatted) {
      struct stat opened;
      ASSIGN_OR_RETURN(std::optional<StoredFile> small,
                       batch.AddUnstatted(file, &opened, defer_above));
      item.unstatted = false;
      item.key = StatKeyOf(opened);
      item.entry.executable = (opened.st_mode & S_IXUSR) != 0;
      item.entry.size = static_cast<uint64_t>(opened.st_size);
      if (small) {
        item.entry.digest = small->digest;
        progress.Advance(1);
        return Status::Ok();
      }
    }
    if (item.entry.size > defer_above) return Status::Ok();
    Result<StoredFile> stored =
        item.entry.size <= kSmallFileLimit
            ? batch.Add(file, item.entry.size)
            : batch.AddLarge(file);
    RETURN_IF_ERROR(stored.status());
    item.entry.digest = stored->digest;
    item.entry.size = stored->size;
    progress.Advance(1);
    return Status::Ok();
  };

  // Each list the walk makes is finished on the core that made it: files
  // the stat cache vouches for take its digest (the list is in path
  // order, and so are its lookups), and small files are read at once, so
  // reading overlaps the walk. What could keep one core busy while the
  // other idles (a flat folder's long list, big files, more than a few
  // MiB from one list) waits for the pass below instead.
  WalkedPartVisitor finish_part = [&](std::vector<WalkedEntry>* part) {
    std::string absolute = prefix;
    size_t cursor = 0;
    for (WalkedEntry& item : *part) {
      if (item.entry.type != EntryType::kFile || item.unstatted) continue;
      absolute.resize(prefix.size());
      absolute += item.entry.path;
      if (auto digest = cache.Lookup(absolute, item.key, &cursor)) {
        item.entry.digest = *digest;
        progress.Advance(1);
      }
    }
    if (part->size() > kFilesReadWhileWalking) return Status::Ok();
    uint64_t budget = kBytesReadWhileWalking;
    for (WalkedEntry& item : *part) {
      if (item.entry.type != EntryType::kFile) continue;
      if (!item.entry.digest.empty()) continue;
      if (budget < kLargestReadWhileWalking) break;
      RETURN_IF_ERROR(read_file(item, kLargestReadWhileWalking));
      if (!item.entry.digest.empty()) budget -= item.entry.size;
    }
    return Status::Ok();
  };
  ASSIGN_OR_RETURN(WalkedParts parts,
                   WalkFolderParts(root, skip, walk_stat, finish_part));
  std::vector<WalkedEntry*> walked;  // In path order.
  size_t count = 0;
  for (const std::vector<WalkedEntry>& part : parts) count += part.size();
  walked.reserve(count);
  for (std::vector<WalkedEntry>& part : parts) {
    for (WalkedEntry& item : part) walked.push_back(&item);
  }

  std::vector<size_t> files;    // Indexes into `walked`.
  std::vector<size_t> unknown;  // The files still to read.
  for (size_t i = 0; i < walked.size(); ++i) {
    if (walked[i]->entry.type != EntryType::kFile) continue;
    files.push_back(i);
    if (walked[i]->entry.digest.empty()) unknown.push_back(i);
  }

  // The rest on all cores.
  progress.SetTotal(files.size());
  RETURN_IF_ERROR(ParallelFor(unknown.size(), [&](size_t k) {
    return read_file(*walked[unknown[k]], UINT64_MAX);
  }));
  progress.Finish();
  bool read_any = std::any_of(files.begin(), files.end(), [&](size_t i) {
    return walked[i]->hashed_at != 0;
  });

  // The stat cache is updated and saved (a 12 MB file for 100,000 files)
  // on a second thread while the blobs are published and the tree is
  // built and stored; all only read `walked`. A digest it records whose
  // blob does not become durable (a crash, a failed publish) costs
  // nothing: a snapshot that takes it from the cache refreshes every
  // reused blob and stores a missing one again from the folder, and a
  // tree is vouched for only once all of its blobs were stored. The
  // future's destructor waits for it on every return below.
  std::future<void> cache_saved = std::async(std::launch::async, [&] {
    std::string cached = prefix;
    for (size_t index : files) {
      const WalkedEntry& item = *walked[index];
      if (item.hashed_at == 0) continue;  // Unchanged, from the cache.
      cached.resize(prefix.size());
      cached += item.entry.path;
      cache.Put(cached, item.key, item.hashed_at, item.entry.digest);
    }
    Status saved = cache.Save();
    if (!saved.ok()) LogWarning("stat cache not saved: {}", saved.message());
  });

  // Each list's part of the tree is encoded on a core of its own.
  std::vector<std::string> encoded(parts.size());
  auto encode_tree = [&]() -> Result<Digest> {
    RETURN_IF_ERROR(ParallelFor(parts.size(), [&](size_t i) -> Status {
      encoded[i].clear();
      encoded[i].reserve(parts[i].size() * 80);
      for (const WalkedEntry& item : parts[i]) {
        AppendTreeEntry(&encoded[i], item.entry);
      }
      return Status::Ok();
    }));
    Sha256 hasher;
    hasher.Update(kTreeMagic);
    for (const std::string& part : encoded) hasher.Update(part);
    return hasher.Finish();
  };
  // New small blobs become durable and visible before any tree names
  // them. Meanwhile, when files were read (the tree is then most likely
  // new), the tree is encoded and written to a temp file and flushed: a
  // 6 MB tree for 100,000 files. Only the rename below waits for the
  // publish.
  std::unique_ptr<store::BlobWriter> tree_writer;
  auto fill_tree_writer = [&]() -> Status {
    ASSIGN_OR_RETURN(tree_writer, blobs_->NewWriter());
    RETURN_IF_ERROR(tree_writer->Append(kTreeMagic));
    for (const std::string& part : encoded) {
      RETURN_IF_ERROR(tree_writer->Append(part));
    }
    return tree_writer->Flush();
  };
  auto write_tree = [&]() -> Result<Digest> {
    ASSIGN_OR_RETURN(Digest encoded_digest, encode_tree());
    if (read_any) RETURN_IF_ERROR(fill_tree_writer());
    return encoded_digest;
  };
  std::future<Result<Digest>> tree_written =
      std::async(std::launch::async, write_tree);
  Status published = batch.Publish();
  Result<Digest> encoded_tree = tree_written.get();
  RETURN_IF_ERROR(published);
  ASSIGN_OR_RETURN(Digest digest, encoded_tree);

  uint64_t total = 0;
  for (size_t index : files) total += walked[index]->entry.size;

  // A tree recorded under the sweep lock's current stamp vouches for its
  // files (data/vouched_trees.h): refreshing it alone is enough.
  fs::path vouched = cache_dir_ / kVouchedTreesFile;
  if (IsVouched(vouched, digest, stamp) && blobs_->Refresh(digest)) {
    info.digest = digest.ToString();
    info.size = total;
    info.file_count = files.size();
    return info;
  }

  // Otherwise every blob this tree names that was not just stored is
  // refreshed: gc's grace then spares it, and the refresh proves it
  // present. One missing is stored again from the folder. Fresh blobs
  // are durable already (large ones fsynced one by one, small ones
  // published above), so the tree is written after all of its files.
  std::vector<size_t> reused;
  std::vector<Digest> reused_digests;
  for (size_t k = 0; k < files.size(); ++k) {
    if (walked[files[k]]->hashed_at != 0) continue;
    reused.push_back(files[k]);
    reused_digests.push_back(walked[files[k]]->entry.digest);
  }
  std::vector<size_t> gone = blobs_->Refresh(reused_digests);
  std::atomic<bool> corrected{false};
  RETURN_IF_ERROR(ParallelFor(gone.size(), [&](size_t k) -> Status {
    WalkedEntry& item = *walked[reused[gone[k]]];
    std::string file = prefix + item.entry.path;
    ASSIGN_OR_RETURN(StoredFile stored, batch.AddLarge(file));
    if (stored.digest == item.entry.digest) return Status::Ok();
    struct stat now;
    if (::lstat(file.c_str(), &now) != 0 || !(StatKeyOf(now) == item.key)) {
      return Status::Aborted(file + " changed while being snapshotted");
    }
    // Unchanged since the walk: the stat cache's digest was wrong (a
    // damaged cache file), and the bytes just read stand.
    item.entry.digest = stored.digest;
    corrected = true;
    return Status::Ok();
  }));
  if (corrected) {
    LogWarning("the stat cache held wrong digests for {}; they were read "
               "again", root.string());
    ASSIGN_OR_RETURN(digest, encode_tree());
    tree_writer.reset();  // It holds the old tree.
  }
  if (!blobs_->Refresh(digest)) {
    if (tree_writer == nullptr) RETURN_IF_ERROR(fill_tree_writer());
    RETURN_IF_ERROR(tree_writer->Commit(&digest).status());
  }
  // Every blob of the tree, and the tree, refreshed or written under the
  // lock that also fixed `stamp`: so later snapshots may trust it.
  Status recorded = RecordVouched(vouched, digest, stamp);
  if (!recorded.ok()) {
    LogWarning("vouched trees not saved: {}", recorded.message());
  }

  info.digest = digest.ToString();
  info.size = total;
  info.file_count = files.size();
  return info;
}

Result<SnapshotInfo> DataSnapshots::SnapshotTable(const std::string& url) {
  ASSIGN_OR_RETURN(TableSource source, ParseTableUrl(url));
  SnapshotInfo info;
  info.kind = SourceKind::kTable;
  info.source = source.display;

  ASSIGN_OR_RETURN(auto writer, blobs_->NewWriter());
  store::BlobWriter* raw = writer.get();
  ASSIGN_OR_RETURN(TableExport table,
                   ExportTable(source, [raw](std::string_view bytes) {
                     return raw->Append(bytes);
                   }));
  info.size = writer->size();
  ASSIGN_OR_RETURN(Digest digest, writer->Commit());
  info.digest = digest.ToString();
  info.row_count = table.rows;
  info.columns = table.columns;
  info.column_types = table.types;
  return info;
}

Status DataSnapshots::Record(const SnapshotRequest& request,
                             SnapshotInfo* info) {
  info->name = request.name;
  info->creator =
      request.creator.empty() ? DefaultCreator() : request.creator;
  info->created_ms = NowUnixMillis();
  info->expires_ms = request.expires_after_ms == 0
                         ? 0
                         : info->created_ms + request.expires_after_ms;
  info->labels = request.labels;
  info->description = request.description;
  info->state = "live";

  // The source, as an artifact of its own (reused when seen before).
  int64_t source_id = 0;
  ASSIGN_OR_RETURN(auto known, metadata_->FindArtifactsByDigest(info->digest));
  for (const metadata::Artifact& artifact : known) {
    if (artifact.type == kSourceType && artifact.uri == info->source) {
      source_id = artifact.id;
    }
  }
  if (source_id == 0) {
    metadata::Artifact source;
    source.type = kSourceType;
    source.uri = info->source;
    source.digest = info->digest;
    ASSIGN_OR_RETURN(source_id, metadata_->PutArtifact(source));
  }

  // The snapshot execution: source in, Dataset out.
  metadata::Artifact dataset;
  dataset.type = kDatasetType;
  dataset.uri = info->source;
  dataset.digest = info->digest;
  dataset.properties = PropertiesOf(*info);
  metadata::ExecutionRecord record;
  record.execution.type = kExecutionType;
  record.execution.name = request.name;
  record.execution.state = metadata::ExecutionState::kComplete;
  record.inputs.emplace_back("source", source_id);
  record.outputs.emplace_back("dataset", dataset);
  RETURN_IF_ERROR(metadata_->RecordExecution(&record).status());
  info->artifact_id = record.outputs[0].second.id;

  // The version: as asked, or one past the latest (retried on a race).
  for (int attempt = 0; attempt < 5; ++attempt) {
    int64_t version = request.version;
    if (version == 0) {
      Result<metadata::Snapshot> latest =
          metadata_->LatestSnapshot(request.name);
      version = latest.ok() ? latest->version + 1 : 1;
    }
    Status put = metadata_->PutSnapshot({request.name, version,
                                         info->artifact_id});
    if (put.ok()) {
      info->version = version;
      return Status::Ok();
    }
    if (put.code() != StatusCode::kAlreadyExists || request.version != 0) {
      return put;
    }
  }
  return Status::Aborted("could not pick a version for " + request.name);
}

Result<SnapshotInfo> DataSnapshots::Get(const SnapshotRef& ref) {
  Result<metadata::Snapshot> snapshot =
      ref.version == 0 ? metadata_->LatestSnapshot(ref.name)
                       : metadata_->GetSnapshot(ref.name, ref.version);
  if (snapshot.status().IsNotFound()) return SnapshotNotFound(ref);
  RETURN_IF_ERROR(snapshot.status());
  ASSIGN_OR_RETURN(metadata::Artifact artifact,
                   metadata_->GetArtifact(snapshot->artifact_id));
  return InfoFromArtifact(*snapshot, artifact);
}

Result<std::vector<SnapshotInfo>> DataSnapshots::List() {
  ASSIGN_OR_RETURN(auto snapshots, metadata_->ListSnapshots());
  std::vector<SnapshotInfo> out;
  for (const metadata::Snapshot& snapshot : snapshots) {
    ASSIGN_OR_RETURN(metadata::Artifact artifact,
                     metadata_->GetArtifact(snapshot.artifact_id));
    out.push_back(InfoFromArtifact(snapshot, artifact));
  }
  std::sort(out.begin(), out.end(),
            [](const SnapshotInfo& a, const SnapshotInfo& b) {
              return std::tie(a.name, a.version) < std::tie(b.name, b.version);
            });
  return out;
}

namespace {

// What CheckTreeFiles found, kept apart: a missing file is not a
// changed one.
struct TreeFileCheck {
  std::vector<std::string> changed;  // Corrupt, unreadable, wrong size.
  std::vector<std::string> missing;  // Not in the store.
  uint64_t checked = 0;              // Bytes read.

  std::vector<std::string> All() const {
    std::vector<std::string> all = missing;
    all.insert(all.end(), changed.begin(), changed.end());
    return all;
  }
};

// Hashes every file blob `files` names, on all cores, and names each one
// missing, corrupt or of the wrong size.
TreeFileCheck CheckTreeFiles(const store::BlobStore& blobs,
                             const std::vector<const TreeEntry*>& files,
                             const std::string& label) {
  std::vector<std::string> problems(files.size());
  std::vector<char> missing(files.size(), 0);
  std::atomic<uint64_t> read{0};
  Progress progress(label, files.size(), "files");
  Status status = ParallelFor(files.size(), [&](size_t k) -> Status {
    const TreeEntry& entry = *files[k];
    // Loose or packed: the store finds the bytes either way.
    uint64_t size = 0;
    Result<Digest> hashed = blobs.Stream(entry.digest, nullptr, &size);
    std::string where = "file '" + DisplayPath(entry.path) + "': ";
    if (!hashed.ok()) {
      missing[k] = hashed.status().IsNotFound();
      problems[k] = where + "blob " + entry.digest.ToString() +
                    (missing[k] ? " is missing" : " is unreadable");
    } else if (*hashed != entry.digest) {
      problems[k] = where + "blob " + entry.digest.ToString() +
                    PackNote(blobs, entry.digest) +
                    " is corrupt (hashes to " + hashed->ToString() + ")";
    } else if (size != entry.size) {
      problems[k] = where + "size " + std::to_string(size) +
                    ", recorded " + std::to_string(entry.size);
    }
    read += hashed.ok() ? size : 0;
    progress.Advance(1);
    return Status::Ok();
  });
  progress.Finish();
  TreeFileCheck check;
  if (!status.ok()) {
    check.changed.push_back(status.message());
    return check;
  }
  for (size_t k = 0; k < files.size(); ++k) {
    if (problems[k].empty()) continue;
    (missing[k] ? check.missing : check.changed)
        .push_back(std::move(problems[k]));
  }
  check.checked = read;
  return check;
}

std::vector<const TreeEntry*> FilesOf(const std::vector<TreeEntry>& tree) {
  std::vector<const TreeEntry*> files;
  for (const TreeEntry& entry : tree) {
    if (entry.type == EntryType::kFile) files.push_back(&entry);
  }
  return files;
}

}  // namespace

bool IsTreeBlob(const store::BlobStore& blobs, const Digest& digest) {
  Result<std::string> head = blobs.ReadPrefix(digest, kTreeMagic.size());
  return head.ok() && *head == kTreeMagic;
}

std::vector<std::string> CheckSnapshotContent(store::BlobStore* blobs,
                                              const Digest& digest,
                                              uint64_t recorded_size) {
  Result<uint64_t> size = blobs->SizeOf(digest);
  bool tree = IsTreeBlob(*blobs, digest) && size.ok() &&
              *size != recorded_size;
  if (!tree) {
    Status status = blobs->Verify(digest);
    if (status.ok()) return {};
    return {status.message()};
  }
  Result<std::string> bytes = blobs->ReadVerified(digest);
  if (!bytes.ok()) return {"tree: " + bytes.status().message()};
  Result<std::vector<TreeEntry>> entries = DecodeTree(*bytes);
  if (!entries.ok()) return {"tree: " + entries.status().message()};
  return CheckTreeFiles(*blobs, FilesOf(*entries), "check " +
                        digest.Short()).All();
}

Result<std::vector<TreeEntry>> DataSnapshots::ReadTree(
    const SnapshotInfo& info) {
  ASSIGN_OR_RETURN(Digest digest, Digest::Parse(info.digest));
  Result<std::string> tree = blobs_->ReadVerified(digest);
  if (!tree.ok()) {
    return tree.status().WithContext("tree of " + info.Ref());
  }
  return DecodeTree(*tree);
}

Result<VerifyReport> DataSnapshots::Verify(const SnapshotRef& ref) {
  VerifyReport report;
  ASSIGN_OR_RETURN(report.snapshot, Get(ref));
  const SnapshotInfo& info = report.snapshot;
  if (info.kind != SourceKind::kFolder) {
    // One blob: re-hash it, re-count its records when it is CSV. A file
    // or table snapshot is always a loose blob (StoreLargeFile and
    // BlobWriter publish loose files), read here with the pipelined
    // reader that keeps the CSV counter off the hashing thread.
    ASSIGN_OR_RETURN(Digest digest, Digest::Parse(info.digest));
    std::optional<CsvRecordCounter> counter;
    if (info.row_count) counter.emplace();
    Progress progress("verify " + info.Ref(), info.size, "bytes");
    Result<StoredFile> hashed = HashFile(
        blobs_->PathOf(digest), kHashChunkSize,
        counter ? ChunkVisitor([&counter](std::string_view chunk) {
          counter->Feed(chunk);
          return Status::Ok();
        })
                : ChunkVisitor(nullptr),
        &progress);
    progress.Finish();
    if (hashed.status().IsNotFound()) {
      report.missing.push_back("content blob " + info.digest +
                               " is missing from the store");
      return report;
    }
    RETURN_IF_ERROR(hashed.status());
    report.bytes_checked = hashed->size;
    if (hashed->digest != digest) {
      report.problems.push_back("digest: recorded " + info.digest +
                                ", stored bytes hash to " +
                                hashed->digest.ToString());
    }
    if (hashed->size != info.size) {
      report.problems.push_back("size: recorded " + std::to_string(info.size) +
                                ", stored " + std::to_string(hashed->size));
    }
    if (counter) {
      counter->Finish();
      if (counter->records() != *info.row_count) {
        report.problems.push_back(
            "row_count: recorded " + std::to_string(*info.row_count) +
            ", counted " + std::to_string(counter->records()));
      }
      if (counter->columns() != info.columns) {
        report.problems.push_back("columns differ from the record");
      }
    }
    return report;
  }

  // A folder: the tree, then every file blob on all cores.
  Result<std::vector<TreeEntry>> tree = ReadTree(info);
  if (!tree.ok()) {
    (tree.status().IsNotFound() ? report.missing : report.problems)
        .push_back(tree.status().message());
    return report;
  }
  std::vector<const TreeEntry*> files = FilesOf(*tree);
  uint64_t total = 0;
  for (const TreeEntry* entry : files) total += entry->size;
  TreeFileCheck check = CheckTreeFiles(*blobs_, files, "verify " + info.Ref());
  report.problems = std::move(check.changed);
  report.missing = std::move(check.missing);
  if (total != info.size) {
    report.problems.push_back("size: recorded " + std::to_string(info.size) +
                              ", the tree holds " + std::to_string(total));
  }
  if (files.size() != info.file_count) {
    report.problems.push_back(
        "file_count: recorded " + std::to_string(info.file_count) +
        ", the tree holds " + std::to_string(files.size()));
  }
  report.bytes_checked = check.checked;
  return report;
}

// Names the folder a folder export is built in, beside its destination.
constexpr std::string_view kExportPrefix = ".export-";

Status DataSnapshots::Export(const SnapshotRef& ref,
                             const fs::path& destination) {
  if (destination.empty()) {
    return Status::InvalidArgument("export: the destination is empty");
  }
  ASSIGN_OR_RETURN(SnapshotInfo info, Get(ref));
  struct stat existing;
  if (::lstat(destination.c_str(), &existing) == 0) {
    return Status::AlreadyExists(destination.string() +
                                 " already exists; export never overwrites");
  }
  if (info.kind != SourceKind::kFolder) {
    ASSIGN_OR_RETURN(Digest digest, Digest::Parse(info.digest));
    return blobs_->CopyOut(digest, destination);
  }

  // Build the whole folder beside the destination, then rename it in.
  ASSIGN_OR_RETURN(std::vector<TreeEntry> tree, ReadTree(info));
  fs::path parent = fs::absolute(destination).parent_path();
  // An export killed mid-way left its staging folder (found by a tester:
  // 235 MB after 7 kills); the lock tells it from one still in use.
  RemoveAbandonedTempDirectories(parent, kExportPrefix);
  ASSIGN_OR_RETURN(LockedTempDirectory staging,
                   LockedTempDirectory::Create(parent, kExportPrefix));
  const fs::path& temp = staging.path();
  Status status = Status::Ok();
  for (const TreeEntry& entry : tree) {
    fs::path target = temp / entry.path;
    if (entry.type == EntryType::kDirectory) {
      if (::mkdir(target.c_str(), 0755) != 0) {
        status = ErrnoStatus(target, errno);
      }
    } else if (entry.type == EntryType::kSymlink) {
      if (::symlink(entry.target.c_str(), target.c_str()) != 0) {
        status = ErrnoStatus(target, errno);
      }
    } else {
      status = blobs_->CopyOut(entry.digest, target);
      if (status.ok()) ::chmod(target.c_str(), entry.executable ? 0755 : 0644);
      if (!status.ok()) status = status.WithContext(DisplayPath(entry.path));
    }
    if (!status.ok()) break;
  }
  if (status.ok() && ::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD,
                                 destination.c_str(), RENAME_NOREPLACE)) {
    status = ErrnoStatus(destination, errno);
  }
  if (!status.ok()) RemoveAllQuietly(temp);
  return status;
}

namespace {

// What differs between two entries at the same path, for `data diff`.
std::vector<std::string> EntryChanges(const TreeEntry& x,
                                      const TreeEntry& y) {
  std::vector<std::string> what;
  auto yes_no = [](bool b) { return std::string(b ? "true" : "false"); };
  auto type_name = [](EntryType type) {
    switch (type) {
      case EntryType::kDirectory: return std::string("folder");
      case EntryType::kSymlink: return std::string("link");
      default: return std::string("file");
    }
  };
  if (x.type != y.type) {
    what.push_back("type " + type_name(x.type) + " -> " + type_name(y.type));
  }
  if (x.executable != y.executable) {
    what.push_back("executable " + yes_no(x.executable) + " -> " +
                   yes_no(y.executable));
  }
  // A folder or a link has no content of its own (its size reads 0 and
  // its digest is empty), so once the type changed, the type says it all.
  bool same_type = x.type == y.type;
  if (same_type && x.size != y.size) {
    what.push_back("size " + std::to_string(x.size) + " -> " +
                   std::to_string(y.size));
  }
  if (same_type && x.digest != y.digest) {
    what.push_back("content " + x.digest.ToString() + " -> " +
                   y.digest.ToString());
  }
  if (x.target != y.target) {
    // Targets are bytes; shown escaped, as paths are.
    what.push_back("target " + DisplayPath(x.target) + " -> " +
                   DisplayPath(y.target));
  }
  return what;
}

}  // namespace

Result<SnapshotDiff> DataSnapshots::Diff(const SnapshotRef& from,
                                         const SnapshotRef& to) {
  SnapshotDiff diff;
  ASSIGN_OR_RETURN(diff.from, Get(from));
  ASSIGN_OR_RETURN(diff.to, Get(to));
  const SnapshotInfo& a = diff.from;
  const SnapshotInfo& b = diff.to;
  diff.same_content = a.digest == b.digest;
  if (a.kind != b.kind) {
    diff.notes.push_back("kind: " + std::string(SourceKindName(a.kind)) +
                         " -> " + std::string(SourceKindName(b.kind)));
  }
  if (a.size != b.size) {
    diff.notes.push_back("size: " + std::to_string(a.size) + " -> " +
                         std::to_string(b.size));
  }
  if (a.row_count != b.row_count && a.row_count && b.row_count) {
    diff.notes.push_back("row_count: " + std::to_string(*a.row_count) +
                         " -> " + std::to_string(*b.row_count));
  }
  if (a.columns != b.columns) diff.notes.push_back("columns differ");
  if (a.kind != SourceKind::kFolder || b.kind != SourceKind::kFolder ||
      diff.same_content) {
    // One blob each: nothing finer to say than that its bytes differ,
    // which must still be said when size and rows are the same.
    if (!diff.same_content) {
      diff.notes.push_back("content: " + a.digest + " -> " + b.digest);
    }
    return diff;
  }

  // Folders: match entries by path; a change is any field that differs.
  ASSIGN_OR_RETURN(std::vector<TreeEntry> old_tree, ReadTree(a));
  ASSIGN_OR_RETURN(std::vector<TreeEntry> new_tree, ReadTree(b));
  size_t i = 0, j = 0;
  while (i < old_tree.size() || j < new_tree.size()) {
    if (j == new_tree.size() ||
        (i < old_tree.size() && old_tree[i].path < new_tree[j].path)) {
      diff.removed.push_back(old_tree[i++].path);
    } else if (i == old_tree.size() || new_tree[j].path < old_tree[i].path) {
      diff.added.push_back(new_tree[j++].path);
    } else {
      const TreeEntry& x = old_tree[i++];
      const TreeEntry& y = new_tree[j++];
      std::vector<std::string> what = EntryChanges(x, y);
      if (!what.empty()) {
        diff.changed.push_back(x.path);
        diff.changes[x.path] = std::move(what);
      }
    }
  }
  return diff;
}

}  // namespace lockstep::data
