// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Reproducible tar archives of folders. A folder becomes one blob whose
// bytes depend only on the names, types, executable bits, file contents
// and symlink targets inside it: entries are sorted by name, times are
// zero, owners are root, and modes are normalised to 0644 (0755 for
// folders and executable files). So the blob's sha256 is a content digest
// of the folder, fit for cache keys. Used for folder outputs of pipeline
// steps, and by the registry and the image builder.

#ifndef LOCKSTEP_STORE_TAR_H_
#define LOCKSTEP_STORE_TAR_H_

#include <filesystem>
#include <string>
#include <vector>

#include "core/digest.h"
#include "core/status.h"
#include "store/blob_store.h"

namespace lockstep::store {

// Packs `folder` into the store. InvalidArgument for entries a tar of
// this kind cannot hold reproducibly (devices, sockets, fifos).
Result<Digest> PackFolder(const std::filesystem::path& folder,
                          BlobStore* blobs);

// Writes the reproducible tar of `folder` to `archive_path`.
Status WriteReproducibleTar(const std::filesystem::path& folder,
                            const std::filesystem::path& archive_path);

// Unpacks the tar blob `digest` into `destination` (created; must not
// exist). Refuses absolute names, `..` and writes through symlinks.
// With `read_only`, files end up 0444 (0555 if executable) and folders
// 0555.
Status UnpackFolder(const BlobStore& blobs, const Digest& digest,
                    const std::filesystem::path& destination,
                    bool read_only);

// One entry of a folder blob, as ListFolder reports it.
struct FolderEntry {
  std::string path;     // Relative, '/'-separated.
  std::string kind;     // "file", "folder" or "symlink".
  bool executable = false;
  Digest digest;        // sha256 of a file's bytes; empty otherwise.
  std::string target;   // A symlink's target.

  // Two entries hold the same thing (kind, bits, bytes, target).
  bool SameContent(const FolderEntry& other) const;
};

// Lists the tar blob `digest` without unpacking it, in the tar's (sorted)
// order, hashing each file's bytes. DataLoss when it is not a readable
// tar; NotFound when the blob is absent.
Result<std::vector<FolderEntry>> ListFolder(const BlobStore& blobs,
                                            const Digest& digest);

}  // namespace lockstep::store

#endif  // LOCKSTEP_STORE_TAR_H_
