// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "registry/registry.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <algorithm>

#include "core/canonical_json.h"
#include "core/clock.h"
#include "core/files.h"
#include "store/location.h"

namespace lockstep::registry {
namespace {

std::string RandomSessionId() {
  unsigned char bytes[16];
  RAND_bytes(bytes, sizeof(bytes));
  static const char kHex[] = "0123456789abcdef";
  std::string id;
  for (unsigned char b : bytes) {
    id += kHex[b >> 4];
    id += kHex[b & 15];
  }
  return id;
}

ApiError RangeInvalid(const std::string& message) {
  return ApiError{416, "BLOB_UPLOAD_INVALID", message};
}

ApiResult<Empty> CheckName(const std::string& repo) {
  if (!IsValidRepositoryName(repo)) {
    return NameInvalid("invalid repository name '" + repo + "'");
  }
  return Empty{};
}

// The refusal of a DELETE of `digest`, a blob or (`is_manifest`) a
// manifest, while manifests of `repo` reference it: the tag holding
// them would no longer pull, a state a push is refused for. It names a
// manifest that a tag holds if there is one, that tag, and what to
// delete first; nullopt when nothing references the content.
Result<std::optional<ApiError>> RefuseWhileReferenced(Index& index,
                                                      const std::string& repo,
                                                      const Digest& digest,
                                                      bool is_manifest) {
  std::vector<Digest> users;
  if (is_manifest) {
    ASSIGN_OR_RETURN(users, index.ListedBy(repo, digest));
  } else {
    ASSIGN_OR_RETURN(users, index.UsingBlob(repo, digest));
  }
  if (users.empty()) return std::optional<ApiError>();
  ASSIGN_OR_RETURN(std::optional<TaggedUser> tagged,
                   index.TaggedUserOf(repo, digest, is_manifest));
  std::string user_kind = is_manifest ? "index" : "manifest";
  std::string message =
      (is_manifest ? "manifest " : "blob ") + digest.ToString() +
      (is_manifest ? " is listed by " : " is used by ") + user_kind + " " +
      (tagged ? tagged->manifest : users[0]).ToString();
  if (users.size() > 1) {
    message += " (and " + std::to_string(users.size() - 1) + " more)";
  }
  message += " in " + repo;
  if (tagged) message += ", held by tag " + tagged->tag;
  return std::optional<ApiError>(
      StillReferenced(message + "; delete that " + user_kind + " first"));
}

// Makes every shard folder of the loose blobs (blobs/sha256/00 to ff)
// that is missing, then syncs their parent once. An upload then never
// creates one on its way to its 201: that cost a mkdir per new shard,
// and the new folder's own entry was never synced.
Status CreateShardFolders(const store::BlobStore& blobs) {
  static const char kHex[] = "0123456789abcdef";
  bool created = false;
  fs::path parent;
  for (int shard = 0; shard < 256; ++shard) {
    std::string hex(64, '0');
    hex[0] = kHex[shard >> 4];
    hex[1] = kHex[shard & 15];
    fs::path folder = blobs.PathOf(Digest::FromHex(hex)).parent_path();
    parent = folder.parent_path();
    std::error_code error;
    if (fs::create_directory(folder, error)) created = true;
    if (error) return ErrnoStatus(folder, error.value());
  }
  return created ? FsyncDirectory(parent) : Status::Ok();
}

// A chunk must start where the upload ends (the spec's 416 otherwise).
std::optional<ApiError> MisplacedChunk(std::optional<ByteSpan> range,
                                       uint64_t size) {
  if (!range || range->first == size) return std::nullopt;
  return RangeInvalid("chunk starts at " + std::to_string(range->first) +
                      " but the upload has " + std::to_string(size) +
                      " bytes");
}

}  // namespace

ApiResult<Digest> ParseDigestParam(const std::string& text) {
  Result<Digest> digest = Digest::Parse(text);
  if (!digest.ok()) {
    return DigestInvalid("invalid digest '" + text +
                         "': only sha256:<64 lowercase hex> is supported");
  }
  return *digest;
}

Registry::Registry(std::filesystem::path root, std::unique_ptr<Index> index)
    : blobs_(std::move(root)), index_(std::move(index)) {}

std::filesystem::path RegistryIndexPath(
    const std::filesystem::path& store_root) {
  return store_root / "registry" / "index.db";
}

namespace {

// Written at the store's top once the index exists, outside registry/,
// so that losing that folder does not lose the evidence too.
std::filesystem::path IndexCreatedMarker(
    const std::filesystem::path& store_root) {
  return store_root / ".registry-index.created";
}

}  // namespace

Status CheckRegistryIndexNotLost(const std::filesystem::path& store_root) {
  std::filesystem::path db = RegistryIndexPath(store_root);
  std::error_code error;
  uintmax_t size = std::filesystem::file_size(db, error);
  if (!error && size > 0) return Status::Ok();
  bool missing = error == std::errc::no_such_file_or_directory;
  if (error && !missing) return Status::Ok();  // Opening it says why.
  // Its write-ahead log alone may hold every tag.
  std::filesystem::path wal = db.string() + "-wal";
  std::filesystem::path marker = IndexCreatedMarker(store_root);
  std::filesystem::path evidence;
  if (std::filesystem::exists(wal, error)) {
    evidence = wal;
  } else if (std::filesystem::exists(marker, error)) {
    evidence = marker;
  } else {
    return Status::Ok();  // A store that never served.
  }
  return Status::DataLoss(
      db.string() + ": the registry index is " +
      (missing ? "missing" : "empty") + " but " + evidence.string() +
      " shows it held tags and manifests; refusing to start a fresh one, "
      "in which gc would find nothing to keep. Restore " + db.string() +
      " from a backup or copy");
}

Result<std::unique_ptr<Registry>> Registry::Open(
    const std::filesystem::path& store_root) {
  RETURN_IF_ERROR(store::InitializeStoreLayout(store_root));
  RETURN_IF_ERROR(CheckRegistryIndexNotLost(store_root));
  ASSIGN_OR_RETURN(std::unique_ptr<Index> index,
                   Index::Open(RegistryIndexPath(store_root)));
  std::error_code error;
  if (!std::filesystem::exists(IndexCreatedMarker(store_root), error)) {
    RETURN_IF_ERROR(WriteFileAtomically(
        IndexCreatedMarker(store_root),
        "The registry index (registry/index.db) exists; see "
        "docs/registry.md.\n"));
  }
  auto registry = std::unique_ptr<Registry>(
      new Registry(store_root, std::move(index)));
  RETURN_IF_ERROR(CreateShardFolders(registry->blobs_));
  return registry;
}

Result<std::unique_ptr<Registry>> Registry::OpenToLook(
    const std::filesystem::path& store_root) {
  std::error_code error;
  if (std::filesystem::exists(RegistryIndexPath(store_root), error)) {
    auto writable = Open(store_root);
    if (writable.ok() ||
        !DatabaseFolderIsUnwritable(RegistryIndexPath(store_root))) {
      return writable;
    }
    // A store on a read-only file system is still looked at.
    RETURN_IF_ERROR(CheckRegistryIndexNotLost(store_root));
    auto index = Index::OpenToRead(RegistryIndexPath(store_root));
    if (!index.ok()) return writable.status();
    return std::unique_ptr<Registry>(
        new Registry(store_root, std::move(*index)));
  }
  // A lost index is refused here as Open refuses it; only a store with
  // no trace of one gets the empty stand-in.
  RETURN_IF_ERROR(CheckRegistryIndexNotLost(store_root));
  ASSIGN_OR_RETURN(std::unique_ptr<Index> index, Index::Open(":memory:"));
  return std::unique_ptr<Registry>(new Registry(store_root, std::move(index)));
}

void Registry::Touch(const Digest& digest) {
  (void)blobs_.Refresh(digest);
}

ApiResult<BlobInfo> Registry::StatBlob(const std::string& repo,
                                       const std::string& text) {
  auto name = CheckName(repo);
  if (!name.ok()) return name.error();
  auto digest = ParseDigestParam(text);
  if (!digest.ok()) return digest.error();
  Result<bool> linked = index_->HasBlobLink(repo, *digest);
  if (!linked.ok()) return InternalError(linked.status());
  if (!*linked) {
    return BlobUnknown("blob " + text + " is not in repository " + repo);
  }
  Result<store::BlobStore::Location> where = blobs_.Locate(*digest);
  if (where.status().IsNotFound()) {
    return BlobUnknown("blob " + text + " is not in the store");
  }
  if (!where.ok()) return Unavailable(where.status().message());
  return BlobInfo{*digest, where->size, where->file, where->offset};
}

ApiResult<Empty> Registry::DeleteBlob(const std::string& repo,
                                      const std::string& text) {
  auto name = CheckName(repo);
  if (!name.ok()) return name.error();
  auto digest = ParseDigestParam(text);
  if (!digest.ok()) return digest.error();
  std::optional<ApiError> refused;
  bool removed = false;
  Status status = index_->InWriteTransaction([&]() -> Status {
    // An immutable tag must keep pulling: its manifest's blobs stay.
    ASSIGN_OR_RETURN(bool immutable, index_->TagsImmutable(repo));
    if (immutable) {
      ASSIGN_OR_RETURN(std::optional<std::string> tag,
                       index_->TagUsing(repo, *digest));
      if (tag) {
        refused = Denied("blob " + text + " is used by the manifest of tag " +
                         *tag + " in " + repo + ", whose tags are "
                         "immutable; it cannot be deleted");
        return Status::Ok();
      }
    }
    // Any manifest's blobs stay, or pulling it would fail; the check
    // and the unlink are one transaction, so no push slips between.
    ASSIGN_OR_RETURN(refused, RefuseWhileReferenced(*index_, repo, *digest,
                                                    /*is_manifest=*/false));
    if (refused) return Status::Ok();
    ASSIGN_OR_RETURN(removed, index_->UnlinkBlob(repo, *digest));
    return Status::Ok();
  });
  if (!status.ok()) return InternalError(status);
  if (refused) return *refused;
  if (!removed) {
    return BlobUnknown("blob " + text + " is not in repository " + repo);
  }
  return Empty{};
}

ApiResult<UploadState> Registry::StartUpload(const std::string& repo) {
  auto name = CheckName(repo);
  if (!name.ok()) return name.error();
  int64_t now = NowUnixMillis();
  std::lock_guard lock(sessions_mutex_);
  if (!MakeRoomForSessionLocked(now)) {
    return TooManyRequests(
        std::to_string(sessions_.size()) + " uploads are in progress, "
        "the most this registry keeps open; retry when one has finished");
  }
  Result<std::unique_ptr<UploadFile>> upload = UploadFile::Create(blobs_);
  if (!upload.ok()) return InternalError(upload.status());
  auto session = std::make_shared<Session>();
  session->repo = repo;
  session->upload = std::move(*upload);
  session->last_active_ms = now;
  std::string id = RandomSessionId();
  sessions_[id] = session;
  return UploadState{id, 0};
}

Registry::SessionMap::iterator Registry::EndSessionLocked(
    SessionMap::iterator session) {
  session->second->ended = true;
  return sessions_.erase(session);
}

bool Registry::MakeRoomForSessionLocked(int64_t now_ms) {
  auto longest_idle = sessions_.end();
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    int64_t idle = now_ms - it->second->last_active_ms;
    if (idle > upload_limits_.idle_ms) {
      it = EndSessionLocked(it);
      continue;
    }
    if (longest_idle == sessions_.end() ||
        it->second->last_active_ms < longest_idle->second->last_active_ms) {
      longest_idle = it;
    }
    ++it;
  }
  if (sessions_.size() < upload_limits_.max_sessions) return true;
  if (longest_idle != sessions_.end() &&
      now_ms - longest_idle->second->last_active_ms >=
          upload_limits_.evictable_idle_ms) {
    EndSessionLocked(longest_idle);
    return true;
  }
  return false;
}

void Registry::set_upload_limits(const UploadLimits& limits) {
  std::lock_guard lock(sessions_mutex_);
  upload_limits_ = limits;
}

size_t Registry::open_upload_sessions() {
  std::lock_guard lock(sessions_mutex_);
  return sessions_.size();
}

ApiResult<MountOutcome> Registry::MountOrStart(
    const std::string& repo, const std::string& from, const std::string& text,
    bool discover, const std::function<bool(const std::string&)>& may_read) {
  auto name = CheckName(repo);
  if (!name.ok()) return name.error();
  auto digest = ParseDigestParam(text);
  if (!digest.ok()) return digest.error();
  auto sources = MountSources(from, *digest, discover, may_read);
  if (!sources.ok()) return InternalError(sources.status());

  // Mount only what a source repository really holds; anything else
  // (unknown repository, blob not linked there) falls back to an upload.
  bool mounted = false;
  if (!sources->empty()) {
    Result<bool> linked = LinkFromFirstHolder(repo, *sources, *digest);
    if (!linked.ok()) return InternalError(linked.status());
    mounted = *linked;
  }
  if (mounted) {
    return MountOutcome{true, {}};
  }
  auto upload = StartUpload(repo);
  if (!upload.ok()) return upload.error();
  return MountOutcome{false, *upload};
}

Result<bool> Registry::LinkFromFirstHolder(
    const std::string& repo, const std::vector<std::string>& sources,
    const Digest& digest) {
  bool linked = false;
  RETURN_IF_ERROR(index_->InWriteTransaction([&]() -> Status {
    Result<uint64_t> size = blobs_.SizeOf(digest);
    if (!size.ok()) return Status::Ok();
    for (const std::string& source : sources) {
      ASSIGN_OR_RETURN(bool holds, index_->HasBlobLink(source, digest));
      if (!holds) continue;
      Touch(digest);
      RETURN_IF_ERROR(index_->LinkBlob(
          repo, digest, static_cast<int64_t>(*size), NowUnixMillis()));
      linked = true;
      return Status::Ok();
    }
    return Status::Ok();
  }));
  return linked;
}

Result<std::vector<std::string>> Registry::MountSources(
    const std::string& from, const Digest& digest, bool discover,
    const std::function<bool(const std::string&)>& may_read) {
  std::vector<std::string> sources;
  if (!from.empty()) {
    if (IsValidRepositoryName(from)) sources.push_back(from);
  } else if (discover) {
    ASSIGN_OR_RETURN(sources, index_->RepositoriesLinking(digest));
  }
  std::erase_if(sources, [&](const std::string& source) {
    return !may_read(source);
  });
  return sources;
}

std::shared_ptr<Registry::Session> Registry::FindSession(
    const std::string& repo, const std::string& id) {
  int64_t now = NowUnixMillis();
  std::lock_guard lock(sessions_mutex_);
  auto found = sessions_.find(id);
  if (found == sessions_.end() || found->second->repo != repo) {
    return nullptr;
  }
  if (now - found->second->last_active_ms > upload_limits_.idle_ms) {
    EndSessionLocked(found);
    return nullptr;
  }
  found->second->last_active_ms = now;
  return found->second;
}

ApiResult<UploadState> Registry::UploadStatus(const std::string& repo,
                                              const std::string& id) {
  std::shared_ptr<Session> session = FindSession(repo, id);
  if (!session) {
    return BlobUploadUnknown("no upload session " + id + " in " + repo);
  }
  std::lock_guard lock(session->mutex);
  if (!session->upload) {
    return BlobUploadUnknown("upload session " + id + " has ended");
  }
  return UploadState{id, session->upload->size()};
}

ApiResult<UploadState> Registry::CheckChunkStart(
    const std::string& repo, const std::string& id,
    std::optional<ByteSpan> range) {
  auto state = UploadStatus(repo, id);
  if (!state.ok()) return state;
  if (auto misplaced = MisplacedChunk(range, state->size)) {
    return *misplaced;
  }
  return state;
}

ApiResult<UploadState> Registry::AppendChunk(const std::string& repo,
                                             const std::string& id,
                                             std::optional<ByteSpan> range,
                                             const ChunkReader& read) {
  std::shared_ptr<Session> session = FindSession(repo, id);
  if (!session) {
    return BlobUploadUnknown("no upload session " + id + " in " + repo);
  }
  std::unique_lock lock(session->mutex);
  if (!session->upload) {
    return BlobUploadUnknown("upload session " + id + " has ended");
  }
  uint64_t size = session->upload->size();
  if (auto misplaced = MisplacedChunk(range, size)) return *misplaced;

  // The HTTP layer hands the body over in 4 KiB pieces; gathering them
  // into 1 MiB writes saves ~250 write calls (and hash calls) per MiB.
  constexpr size_t kWriteBytes = 1 << 20;
  Status write_status;
  UploadFile* writer = session->upload.get();
  writer->Mark();
  std::string pending;
  bool complete = read([&](const char* data, size_t length) {
    // Every byte is activity: a slow chunk must not look idle.
    session->last_active_ms = NowUnixMillis();
    pending.append(data, length);
    if (pending.size() >= kWriteBytes) {
      write_status = writer->Append(pending);
      pending.clear();
    }
    return write_status.ok() && !session->ended;
  });
  // What arrived of a chunk cut short is still the start of it, in
  // order: it is kept, and the client reads the upload's Range (GET) to
  // resume from there, as the spec's resumable uploads do.
  if (write_status.ok() && !pending.empty()) {
    write_status = writer->Append(pending);
  }
  if (!write_status.ok()) {
    return InternalError(write_status);
  }
  if (session->ended) {
    return BlobUploadUnknown("upload session " + id + " was ended to make "
                             "room; start the upload again");
  }
  uint64_t received = writer->size() - size;
  if (!complete) {
    return BlobUploadInvalid(
        "chunk was cut short after " + std::to_string(received) +
        " bytes; the upload keeps them (GET it for its Range)");
  }
  // A chunked request body has no Content-Length to check the range
  // against before it is read (found by a tester).
  if (range && received != range->length()) {
    Status rewound = writer->RewindToMark();
    if (!rewound.ok()) return InternalError(rewound);
    return RangeInvalid(
        "Content-Range " + std::to_string(range->first) + "-" +
        std::to_string(range->last) + " covers " +
        std::to_string(range->length()) + " bytes but the body had " +
        std::to_string(received) + "; the upload is unchanged");
  }
  UploadState state{id, writer->size()};
  lock.unlock();
  if (state.size != size) SyncSoon(session);
  return state;
}

void Registry::SyncSoon(const std::shared_ptr<Session>& session) {
  background_.Post([weak = std::weak_ptr<Session>(session)] {
    std::shared_ptr<Session> alive = weak.lock();
    if (!alive) return;
    // A request holding the session (the next chunk, or the commit) does
    // its own sync; waiting here would only delay it.
    std::unique_lock lock(alive->mutex, std::try_to_lock);
    // A failure is kept by the upload and fails its commit.
    if (lock && alive->upload) (void)alive->upload->SyncData();
  });
}

ApiResult<Digest> Registry::FinishUpload(const std::string& repo,
                                         const std::string& id,
                                         const std::string& text) {
  std::shared_ptr<Session> session = FindSession(repo, id);
  if (!session) {
    return BlobUploadUnknown("no upload session " + id + " in " + repo);
  }
  auto expected = ParseDigestParam(text);
  if (!expected.ok()) return expected.error();
  std::unique_ptr<UploadFile> upload;
  {
    std::lock_guard lock(session->mutex);
    upload = std::move(session->upload);
  }
  {
    std::lock_guard lock(sessions_mutex_);
    sessions_.erase(id);
  }
  if (!upload) {
    return BlobUploadUnknown("upload session " + id + " has ended");
  }

  // Verified and synced before the index's lock is taken: other
  // requests, HEADs of other blobs too, need not wait on the disk.
  Status sealed = upload->Seal(*expected);
  if (sealed.IsInvalidArgument()) {
    return DigestInvalid("upload to " + repo + " " + sealed.message());
  }
  if (!sealed.ok()) return InternalError(sealed);
  // Published and linked under the index's write lock, so gc's sweep
  // (which takes the same lock) sees either no blob or a linked one.
  uint64_t size = upload->size();
  Status status = index_->InWriteTransaction([&]() -> Status {
    RETURN_IF_ERROR(upload->Publish());
    Touch(*expected);
    return index_->LinkBlob(repo, *expected, static_cast<int64_t>(size),
                            NowUnixMillis());
  });
  if (status.IsNotFound()) {
    return BlobUploadUnknown(status.message() + "; start the upload again");
  }
  if (!status.ok()) return InternalError(status);
  return *expected;
}

ApiResult<Empty> Registry::CancelUpload(const std::string& repo,
                                        const std::string& id) {
  std::shared_ptr<Session> session = FindSession(repo, id);
  if (!session) {
    return BlobUploadUnknown("no upload session " + id + " in " + repo);
  }
  std::lock_guard lock(session->mutex);
  session->upload.reset();
  std::lock_guard sessions_lock(sessions_mutex_);
  sessions_.erase(id);
  return Empty{};
}

ApiResult<Digest> Registry::PutBlob(const std::string& repo,
                                    std::string_view bytes,
                                    const std::string& digest) {
  auto upload = StartUpload(repo);
  if (!upload.ok()) return upload.error();
  auto appended = AppendChunk(
      repo, upload->id, std::nullopt, [&](const ChunkSink& sink) {
        return sink(bytes.data(), bytes.size());
      });
  if (!appended.ok()) return appended.error();
  return FinishUpload(repo, upload->id, digest);
}

ApiResult<Digest> Registry::ResolveReference(const std::string& repo,
                                             const std::string& reference) {
  if (reference.find(':') != std::string::npos) {
    auto digest = ParseDigestParam(reference);
    if (!digest.ok()) return digest.error();
    Result<std::optional<ManifestRow>> row =
        index_->FindManifest(repo, *digest);
    if (!row.ok()) return InternalError(row.status());
    if (!row->has_value()) {
      return ManifestUnknown("manifest " + reference + " is not in " + repo);
    }
    return *digest;
  }
  // A lookup is answered by what exists: no tag can be named so, so the
  // manifest is unknown. The OCI conformance suite and docker/distribution
  // answer 404 here; only a PUT refuses the name itself (TAG_INVALID).
  if (!IsValidTag(reference)) {
    return ManifestUnknown("no manifest named '" + reference + "' in " +
                           repo + ": it is not a valid tag");
  }
  Result<std::optional<TagRow>> tag = index_->FindTag(repo, reference);
  if (!tag.ok()) return InternalError(tag.status());
  if (!tag->has_value()) {
    return ManifestUnknown("tag " + reference + " is not in " + repo);
  }
  return (*tag)->digest;
}

ApiResult<Empty> Registry::CheckReferences(const std::string& repo,
                                           const ParsedManifest& parsed) {
  // A descriptor's size must be the content's: a client trusts it to
  // stop reading, so a wrong one breaks every later pull.
  auto wrong_size = [](const Descriptor& held, uint64_t actual) {
    return ManifestInvalid(held.where + ": size " +
                           std::to_string(held.size) + " differs from " +
                           held.digest.ToString() + "'s " +
                           std::to_string(actual) + " bytes");
  };
  for (const Descriptor& blob : parsed.blobs) {
    Result<bool> linked = index_->HasBlobLink(repo, blob.digest);
    if (!linked.ok()) return InternalError(linked.status());
    Result<uint64_t> size = blobs_.SizeOf(blob.digest);
    if (!*linked || !size.ok()) {
      return ManifestBlobUnknown("blob " + blob.digest.ToString() +
                                 " is not in repository " + repo);
    }
    if (blob.size < 0 || static_cast<uint64_t>(blob.size) != *size) {
      return wrong_size(blob, *size);
    }
  }
  for (const Descriptor& child : parsed.children) {
    Result<std::optional<ManifestRow>> row =
        index_->FindManifest(repo, child.digest);
    if (!row.ok()) return InternalError(row.status());
    if (!row->has_value()) {
      return ManifestBlobUnknown("manifest " + child.digest.ToString() +
                                 " is not in repository " + repo);
    }
    if (child.size != (*row)->size) {
      return wrong_size(child, static_cast<uint64_t>((*row)->size));
    }
  }
  return Empty{};
}

ApiResult<PutManifestOutcome> Registry::PutManifest(
    const std::string& repo, const std::string& reference,
    const std::string& content_type, const std::string& body) {
  auto name = CheckName(repo);
  if (!name.ok()) return name.error();
  if (body.size() > kMaxManifestBytes) {
    return ApiError{413, "SIZE_INVALID", "manifest larger than 4 MiB"};
  }
  Digest digest = Sha256Of(body);
  bool by_digest = reference.find(':') != std::string::npos;
  if (by_digest) {
    auto given = ParseDigestParam(reference);
    if (!given.ok()) return given.error();
    if (*given != digest) {
      return DigestInvalid("manifest body hashes to " + digest.ToString() +
                           ", not " + reference);
    }
  } else if (!IsValidTag(reference)) {
    return TagInvalid("invalid tag '" + reference + "'");
  }
  Result<ParsedManifest> parsed = ParseManifest(body, content_type);
  if (!parsed.ok()) return ManifestInvalid(parsed.status().message());
  // Both the OCI and the Docker schema 2 formats require it, and a
  // manifest stored here must be one a client can read back.
  if (parsed->schema_version != 2) {
    return ManifestInvalid("manifest: schemaVersion: must be 2");
  }

  std::optional<ApiError> refused;
  Status status = index_->InWriteTransaction([&]() -> Status {
    auto references = CheckReferences(repo, *parsed);
    if (!references.ok()) {
      refused = references.error();
      return Status::Ok();
    }
    if (!by_digest) {
      ASSIGN_OR_RETURN(bool immutable, index_->TagsImmutable(repo));
      ASSIGN_OR_RETURN(std::optional<TagRow> existing,
                       index_->FindTag(repo, reference));
      if (immutable && existing && existing->digest != digest) {
        refused = Denied("tag " + reference + " in " + repo +
                         " is immutable and points at " +
                         existing->digest.ToString() +
                         "; push under a new tag");
        return Status::Ok();
      }
    }
    ASSIGN_OR_RETURN(Digest stored, blobs_.PutBytes(body));
    Touch(stored);
    int64_t now = NowUnixMillis();
    ManifestRow row{repo, digest, parsed->media_type,
                    static_cast<int64_t>(body.size()), parsed->artifact_type,
                    parsed->subject ? parsed->subject->ToString() : "",
                    parsed->annotations.is_null()
                        ? ""
                        : parsed->annotations.dump(),
                    now};
    std::vector<ManifestRef> refs;
    for (const Descriptor& blob : parsed->blobs) {
      refs.push_back({blob.digest, false});
    }
    for (const Descriptor& child : parsed->children) {
      refs.push_back({child.digest, true});
    }
    RETURN_IF_ERROR(index_->PutManifest(row, refs));
    if (!by_digest) {
      RETURN_IF_ERROR(index_->SetTag({repo, reference, digest, now}));
    }
    return Status::Ok();
  });
  if (!status.ok()) return InternalError(status);
  if (refused) return *refused;
  return PutManifestOutcome{digest, parsed->subject};
}

ApiResult<StoredManifest> Registry::GetManifest(const std::string& repo,
                                                const std::string& reference) {
  auto name = CheckName(repo);
  if (!name.ok()) return name.error();
  auto digest = ResolveReference(repo, reference);
  if (!digest.ok()) return digest.error();
  Result<std::optional<ManifestRow>> row = index_->FindManifest(repo, *digest);
  if (!row.ok()) return InternalError(row.status());
  if (!row->has_value()) {
    return ManifestUnknown("manifest " + reference + " is not in " + repo);
  }
  Result<std::string> body = blobs_.ReadVerified(*digest);
  if (body.status().IsNotFound()) {
    return ManifestUnknown("manifest " + digest->ToString() +
                           " is missing from the store");
  }
  if (body.status().IsDataLoss()) return InternalError(body.status());
  if (!body.ok()) return Unavailable(body.status().message());
  return StoredManifest{*digest, (*row)->media_type, std::move(*body)};
}

ApiResult<Empty> Registry::DeleteManifest(const std::string& repo,
                                          const std::string& reference) {
  auto name = CheckName(repo);
  if (!name.ok()) return name.error();
  auto digest = ResolveReference(repo, reference);
  if (!digest.ok()) return digest.error();
  bool by_digest = reference.find(':') != std::string::npos;

  std::optional<ApiError> refused;
  Status status = index_->InWriteTransaction([&]() -> Status {
    ASSIGN_OR_RETURN(bool immutable, index_->TagsImmutable(repo));
    ASSIGN_OR_RETURN(std::vector<TagRow> tags, index_->TagsOf(repo));
    if (immutable) {
      for (const TagRow& tag : tags) {
        if (tag.digest == *digest && (by_digest || tag.tag == reference)) {
          refused = Denied("tag " + tag.tag + " in " + repo +
                           " is immutable; it cannot be deleted");
          return Status::Ok();
        }
      }
      // A child of a tagged index, at any depth: the tag would no
      // longer pull.
      ASSIGN_OR_RETURN(std::optional<std::string> parent_tag,
                       index_->TagUsing(repo, *digest));
      if (by_digest && parent_tag) {
        refused = Denied("manifest " + reference + " is used by tag " +
                         *parent_tag + " in " + repo + ", whose tags are "
                         "immutable; it cannot be deleted");
        return Status::Ok();
      }
    }
    if (!by_digest) return index_->DeleteTag(repo, reference);
    // An index keeps its children. A referrer (whose subject this is)
    // does not hold it: the spec allows a subject that is not there.
    ASSIGN_OR_RETURN(refused, RefuseWhileReferenced(*index_, repo, *digest,
                                                    /*is_manifest=*/true));
    if (refused) return Status::Ok();
    return index_->DeleteManifest(repo, *digest);
  });
  if (!status.ok()) return InternalError(status);
  if (refused) return *refused;
  return Empty{};
}

Status Registry::SetTagsImmutable(const std::string& repo, bool immutable,
                                  store::CreateIfMissing create) {
  // A name with a typo would be recorded and protect nothing.
  if (!IsValidRepositoryName(repo)) {
    return Status::InvalidArgument(
        "invalid repository name '" + repo + "': want at most 255 "
        "characters matching [a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*"
        "(/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*");
  }
  // So would one never pushed (a typo of the real one), unless asked for
  // ahead of the first push.
  if (create == store::CreateIfMissing::kNo) {
    ASSIGN_OR_RETURN(bool exists, index_->RepositoryExists(repo));
    if (!exists) {
      return Status::NotFound(
          "repository " + repo + " is not known: nothing was pushed to it");
    }
  }
  return index_->SetTagsImmutable(repo, immutable);
}

namespace {

// Pages a sorted list: entries after `last`, at most `n` of them.
TagPage Paginate(const std::vector<std::string>& sorted,
                 std::optional<int64_t> n, const std::string& last) {
  TagPage page;
  auto begin = last.empty()
                   ? sorted.begin()
                   : std::upper_bound(sorted.begin(), sorted.end(), last);
  size_t available = static_cast<size_t>(sorted.end() - begin);
  size_t take = available;
  if (n.has_value()) {
    take = std::min<size_t>(available, static_cast<size_t>(*n));
  }
  page.tags.assign(begin, begin + take);
  // n=0 asks for an empty list and never a Link header.
  page.more = take < available && take > 0;
  return page;
}

}  // namespace

ApiResult<TagPage> Registry::ListTags(const std::string& repo,
                                      std::optional<int64_t> n,
                                      const std::string& last) {
  auto name = CheckName(repo);
  if (!name.ok()) return name.error();
  if (n.has_value() && *n < 0) {
    return ApiError{400, "PAGINATION_NUMBER_INVALID", "n must be >= 0"};
  }
  Result<bool> exists = index_->RepositoryExists(repo);
  if (!exists.ok()) return InternalError(exists.status());
  if (!*exists) {
    return NameUnknown("repository " + repo + " is not known");
  }
  Result<std::vector<TagRow>> rows = index_->TagsOf(repo);
  if (!rows.ok()) return InternalError(rows.status());
  std::vector<std::string> tags;
  for (const TagRow& row : *rows) {
    tags.push_back(row.tag);
  }
  return Paginate(tags, n, last);
}

ApiResult<TagPage> Registry::Catalog(
    std::optional<int64_t> n, const std::string& last,
    const std::function<bool(const std::string&)>& visible) {
  if (n.has_value() && *n < 0) {
    return ApiError{400, "PAGINATION_NUMBER_INVALID", "n must be >= 0"};
  }
  Result<std::vector<std::string>> repos = index_->Repositories();
  if (!repos.ok()) return InternalError(repos.status());
  if (visible) std::erase_if(*repos, std::not_fn(visible));
  return Paginate(*repos, n, last);
}

ApiResult<nlohmann::json> Registry::Referrers(
    const std::string& repo, const std::string& text,
    const std::string& artifact_type) {
  auto name = CheckName(repo);
  if (!name.ok()) return name.error();
  auto digest = ParseDigestParam(text);
  if (!digest.ok()) return digest.error();
  Result<std::vector<ManifestRow>> rows = index_->Referrers(repo, *digest);
  if (!rows.ok()) return InternalError(rows.status());
  nlohmann::json manifests = nlohmann::json::array();
  for (const ManifestRow& row : *rows) {
    if (!artifact_type.empty() && row.artifact_type != artifact_type) {
      continue;
    }
    nlohmann::json entry = {{"mediaType", row.media_type},
                            {"digest", row.digest.ToString()},
                            {"size", row.size}};
    if (!row.artifact_type.empty()) {
      entry["artifactType"] = row.artifact_type;
    }
    if (!row.annotations.empty()) {
      entry["annotations"] = ParseJsonOrDiscarded(row.annotations);
    }
    manifests.push_back(std::move(entry));
  }
  return nlohmann::json{{"schemaVersion", 2},
                        {"mediaType", std::string(kOciIndex)},
                        {"manifests", std::move(manifests)}};
}

}  // namespace lockstep::registry
