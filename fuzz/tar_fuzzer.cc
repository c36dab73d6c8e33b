// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// libFuzzer target for unpacking folder blobs (store/tar.h): any bytes
// must unpack or fail cleanly, never write outside the destination, and
// an accepted archive must pack back into a tar that unpacks again.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string_view>

#include "core/files.h"
#include "store/blob_store.h"
#include "store/tar.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace fs = std::filesystem;
  static const fs::path root =
      *lockstep::MakeTempDirectory(fs::temp_directory_path(), "tar-fuzz-");
  lockstep::store::BlobStore blobs(root / "store");
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  lockstep::Result<lockstep::Digest> digest = blobs.PutBytes(bytes);
  if (!digest.ok()) return 0;

  fs::path out = root / "out";
  lockstep::Status unpacked =
      lockstep::store::UnpackFolder(blobs, *digest, out, false);
  if (unpacked.ok()) {
    lockstep::Result<lockstep::Digest> packed =
        lockstep::store::PackFolder(out, &blobs);
    if (packed.ok()) {
      lockstep::RemoveAllQuietly(root / "again");
      if (!lockstep::store::UnpackFolder(blobs, *packed, root / "again",
                                         false)
               .ok()) {
        __builtin_trap();
      }
    }
  }
  lockstep::RemoveAllQuietly(out);
  lockstep::RemoveAllQuietly(root / "again");
  (void)blobs.Remove(*digest);
  return 0;
}
