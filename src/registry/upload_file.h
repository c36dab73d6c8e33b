// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// An upload's bytes on their way into the store: a temporary file under
// the store's tmp folder, hashed as it is written, published under its
// digest only once verified and synced (see registry.h).
//
// Unlike store::BlobWriter, its data can be synced ahead of the commit:
// a client pushes a blob as PATCH (the bytes) then PUT (the digest), one
// request after the other, so the registry syncs in the background
// between the two and the PUT waits only for what is left. Commit syncs
// only bytes that arrived after the last sync.

#ifndef LOCKSTEP_REGISTRY_UPLOAD_FILE_H_
#define LOCKSTEP_REGISTRY_UPLOAD_FILE_H_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>

#include "core/digest.h"
#include "core/status.h"
#include "store/blob_store.h"

namespace lockstep::registry {

class UploadFile {
 public:
  static Result<std::unique_ptr<UploadFile>> Create(store::BlobStore& blobs);
  // Removes the temporary file unless it was published.
  ~UploadFile();
  UploadFile(const UploadFile&) = delete;
  UploadFile& operator=(const UploadFile&) = delete;

  Status Append(std::string_view bytes);
  uint64_t size() const { return size_; }

  // Remembers where the upload ends now. RewindToMark takes back what
  // was appended since, from the file and the hash alike: a chunk whose
  // length is known to be wrong only once it has been read and written
  // (a chunked request body) leaves the upload as it was.
  void Mark();
  Status RewindToMark();

  // Makes the bytes written so far durable (fdatasync: for a new file the
  // size and blocks it needs to be read back are data). No system call
  // when nothing arrived since the last sync. A failed sync fails every
  // later one: the kernel may have dropped the pages it could not write.
  Status SyncData();
  bool synced() const { return synced_ == size_ && sync_error_.ok(); }

  // Checks the bytes against `expected` (InvalidArgument, and nothing
  // synced or stored, on a mismatch), then syncs what is not yet synced.
  // Ends appending.
  Status Seal(const Digest& expected);

  // Moves the sealed file into the store as `expected` (see
  // BlobStore::Publish: the shard folder is synced after the rename).
  Status Publish();

 private:
  UploadFile(store::BlobStore& blobs, std::filesystem::path temp, int fd);

  store::BlobStore& blobs_;
  std::filesystem::path temp_;
  int fd_;
  uint64_t size_ = 0;
  uint64_t synced_ = 0;        // bytes known to be on disk
  uint64_t written_back_ = 0;  // bytes whose writeback has been started
  Status sync_error_;
  Sha256 hasher_;
  uint64_t mark_ = 0;
  Sha256 marked_hasher_;  // hasher_ as it was at mark_
  std::optional<Digest> sealed_;
  bool published_ = false;
};

}  // namespace lockstep::registry

#endif  // LOCKSTEP_REGISTRY_UPLOAD_FILE_H_
