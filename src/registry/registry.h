// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// The OCI Distribution registry's logic, without sockets: upload sessions,
// blob and manifest storage with verification, tags (optionally
// immutable), listings and referrers. The HTTP server (server.h) is a thin
// layer that maps requests onto these calls; tests call them directly.
//
// Blobs are written into the shared store::BlobStore and become visible in
// a repository through a link in the Index. An upload session streams into
// a temporary file under <store>/tmp; only a verified and synced upload is
// published, so a server killed mid-upload leaves nothing partial visible,
// and a restarted server knows no sessions (BLOB_UPLOAD_UNKNOWN). A chunk
// that arrives is synced in the background right away, so the commit
// that follows it usually finds the data on disk already.

#ifndef LOCKSTEP_REGISTRY_REGISTRY_H_
#define LOCKSTEP_REGISTRY_REGISTRY_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "registry/background_queue.h"
#include "registry/byte_range.h"
#include "registry/index.h"
#include "registry/oci.h"
#include "registry/upload_file.h"
#include "store/blob_store.h"
#include "store/location.h"
#include "store/scratch.h"

namespace lockstep::registry {

// A blob the registry can serve: `size` bytes of the file at `path`
// from `offset` (a loose blob, or a range of a pack).
struct BlobInfo {
  Digest digest;
  uint64_t size = 0;
  std::filesystem::path path;
  uint64_t offset = 0;
};

// The state of an upload session, as Location and Range headers report.
struct UploadState {
  std::string id;
  uint64_t size = 0;  // bytes received so far
};

// The result of POST .../blobs/uploads/ with a mount request.
struct MountOutcome {
  bool mounted = false;  // 201: the blob is now linked
  UploadState upload;    // 202: a fresh session instead
};

struct StoredManifest {
  Digest digest;
  std::string media_type;
  std::string body;
};

struct PutManifestOutcome {
  Digest digest;
  std::optional<Digest> subject;
};

// Each open upload session holds an open file and a temporary file in the
// store, so sessions are bounded: one idle longer than `idle_ms` ends (its
// client gets BLOB_UPLOAD_UNKNOWN and starts again), and past
// `max_sessions` the longest-idle session ends to make room, or, when
// all are busy, a new upload gets 429 TOOMANYREQUESTS.
struct UploadLimits {
  int64_t idle_ms = store::kUploadIdleMillis;
  size_t max_sessions = 1024;
  // Under pressure, only a session idle this long is ended for a new one.
  int64_t evictable_idle_ms = 30 * 1000;
};

struct TagPage {
  std::vector<std::string> tags;
  bool more = false;  // a next page exists (Link header)
};

// Where the registry's index of a store lives.
std::filesystem::path RegistryIndexPath(
    const std::filesystem::path& store_root);

// DataLoss when the store's registry index is missing or empty although
// the store shows it had one (<store>/.registry-index.created, or the
// index's write-ahead log): a fresh index would hold no tags or
// manifests, and gc would then sweep every blob they kept.
Status CheckRegistryIndexNotLost(const std::filesystem::path& store_root);

class Registry {
 public:
  // Opens the registry over the store at `store_root` (index at
  // <store>/registry/index.db).
  static Result<std::unique_ptr<Registry>> Open(
      const std::filesystem::path& store_root);

  // As Open, for a command that only looks (`gc --dry-run`, `cleanup
  // --dry-run`, `registry serve --read-only`): in a store that never
  // served, the registry is empty and no index is made for it.
  static Result<std::unique_ptr<Registry>> OpenToLook(
      const std::filesystem::path& store_root);

  store::BlobStore& blobs() { return blobs_; }
  Index& index() { return *index_; }

  // Blobs.
  ApiResult<BlobInfo> StatBlob(const std::string& repo, const std::string& d);
  ApiResult<Empty> DeleteBlob(const std::string& repo, const std::string& d);

  // Upload sessions.
  ApiResult<UploadState> StartUpload(const std::string& repo);
  // Links `digest` from `from` when `from` really holds it (201), else
  // starts a session (202). Without `from`, with `discover`, from any
  // repository that holds it (the spec's automatic content discovery).
  // Only repositories `may_read` allows are mounted from.
  ApiResult<MountOutcome> MountOrStart(
      const std::string& repo, const std::string& from,
      const std::string& digest, bool discover,
      const std::function<bool(const std::string&)>& may_read);
  ApiResult<UploadState> UploadStatus(const std::string& repo,
                                      const std::string& id);
  // The upload's state when a chunk spanning `range` (unset: no
  // Content-Range) may be appended now; else 404 BLOB_UPLOAD_UNKNOWN or
  // 416 BLOB_UPLOAD_INVALID, as AppendChunk would answer. Lets a write
  // that waits for "100 Continue" be refused before its body is sent.
  ApiResult<UploadState> CheckChunkStart(const std::string& repo,
                                         const std::string& id,
                                         std::optional<ByteSpan> range);
  // Appends a chunk. With `range` set (Content-Range) it must start at
  // the bytes received so far, checked before `read` is called, and the
  // chunk must be as long as it says, checked once it is read; otherwise
  // 416 BLOB_UPLOAD_INVALID and the session is unchanged. `read` is
  // called with a sink for the chunk's bytes, and returns false when the
  // chunk was cut short: what arrived of it is kept (400).
  using ChunkSink = std::function<bool(const char*, size_t)>;
  using ChunkReader = std::function<bool(const ChunkSink&)>;
  ApiResult<UploadState> AppendChunk(const std::string& repo,
                                     const std::string& id,
                                     std::optional<ByteSpan> range,
                                     const ChunkReader& read);
  // Finishes a session: verifies `digest` (DIGEST_INVALID and nothing
  // stored on mismatch), publishes the blob and links it.
  ApiResult<Digest> FinishUpload(const std::string& repo,
                                 const std::string& id,
                                 const std::string& digest);
  ApiResult<Empty> CancelUpload(const std::string& repo,
                                const std::string& id);
  // Convenience for tests and single-POST uploads: one call.
  ApiResult<Digest> PutBlob(const std::string& repo, std::string_view bytes,
                            const std::string& digest);

  // Manifests.
  ApiResult<PutManifestOutcome> PutManifest(const std::string& repo,
                                            const std::string& reference,
                                            const std::string& content_type,
                                            const std::string& body);
  ApiResult<StoredManifest> GetManifest(const std::string& repo,
                                        const std::string& reference);
  ApiResult<Empty> DeleteManifest(const std::string& repo,
                                  const std::string& reference);

  // Listings.
  ApiResult<TagPage> ListTags(const std::string& repo,
                              std::optional<int64_t> n,
                              const std::string& last);
  // The repositories `visible` accepts (all when it is empty), paged
  // after filtering so that a page is never short of visible names.
  ApiResult<TagPage> Catalog(
      std::optional<int64_t> n, const std::string& last,
      const std::function<bool(const std::string&)>& visible = nullptr);
  // The referrers index (an OCI image index) for `digest`.
  ApiResult<nlohmann::json> Referrers(const std::string& repo,
                                      const std::string& digest,
                                      const std::string& artifact_type);

  // InvalidArgument for a name no push could create; NotFound for a
  // repository not known yet unless `create` records it.
  Status SetTagsImmutable(const std::string& repo, bool immutable,
                          store::CreateIfMissing create);

  void set_upload_limits(const UploadLimits& limits);
  size_t open_upload_sessions();

 private:
  struct Session {
    std::mutex mutex;
    std::string repo;
    std::unique_ptr<UploadFile> upload;  // null once the session ended
    std::atomic<int64_t> last_active_ms{0};
    // Set when the session is ended to make room: a request still writing
    // to it stops, and answers BLOB_UPLOAD_UNKNOWN.
    std::atomic<bool> ended{false};
  };

  Registry(std::filesystem::path root, std::unique_ptr<Index> index);
  // The repositories MountOrStart may mount `digest` from: `from`, or,
  // when it is empty and `discover` is set, every one holding it; those
  // `may_read` allows.
  Result<std::vector<std::string>> MountSources(
      const std::string& from, const Digest& digest, bool discover,
      const std::function<bool(const std::string&)>& may_read);
  // Links `digest` into `repo` from the first of `sources` that holds
  // it (and whose blob the store has); whether it did.
  Result<bool> LinkFromFirstHolder(const std::string& repo,
                                   const std::vector<std::string>& sources,
                                   const Digest& digest);
  // The live session `id` of `repo`, marked active now; null when there
  // is none or it has been idle too long (it is then ended).
  std::shared_ptr<Session> FindSession(const std::string& repo,
                                       const std::string& id);
  // Ends sessions idle past the limit and, at the session limit, the
  // longest-idle one that may be evicted. False when no room is left.
  // REQUIRES: sessions_mutex_ held.
  bool MakeRoomForSessionLocked(int64_t now_ms);
  using SessionMap = std::map<std::string, std::shared_ptr<Session>>;
  // Ends `session` to make room or for idleness: a request still writing
  // to it sees `ended`. Returns the next entry. REQUIRES: sessions_mutex_.
  SessionMap::iterator EndSessionLocked(SessionMap::iterator session);
  ApiResult<Digest> ResolveReference(const std::string& repo,
                                     const std::string& reference);
  ApiResult<Empty> CheckReferences(const std::string& repo,
                                   const ParsedManifest& parsed);
  // Refreshes the blob file's mtime so a concurrent gc that began before
  // this write never sweeps it (gc skips files newer than its mark).
  void Touch(const Digest& digest);
  // Queues a sync of the session's data; skipped if a request holds it.
  void SyncSoon(const std::shared_ptr<Session>& session);

  store::BlobStore blobs_;
  std::unique_ptr<Index> index_;
  std::mutex sessions_mutex_;
  SessionMap sessions_;
  UploadLimits upload_limits_;
  // Last, so that it stops before the sessions its jobs look at go.
  BackgroundQueue background_;
};

// Reads a digest from a request: DIGEST_INVALID when malformed.
ApiResult<Digest> ParseDigestParam(const std::string& text);

}  // namespace lockstep::registry

#endif  // LOCKSTEP_REGISTRY_REGISTRY_H_
