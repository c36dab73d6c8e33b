// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Bundles: how a folder's small files travel through an OCI registry. One
// layer per file made a folder of 18,000 files a manifest above the 4 MiB
// registries accept, so files of at most data::kPackedFileLimit bytes go
// in bundles instead: each a pack (store/pack.h, docs/formats/pack.md)
// built in memory, a layer of media type kPackLayer. Files are taken in
// digest order and cut into bundles by their own digests (content-defined,
// as backup tools cut chunks), so a folder with one file changed shares
// every other bundle, byte for byte, with its previous push, and a
// registry skips those. Larger files stay layers of their own.

#ifndef LOCKSTEP_SHARE_BUNDLE_H_
#define LOCKSTEP_SHARE_BUNDLE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/digest.h"
#include "core/status.h"
#include "registry/client.h"
#include "store/blob_store.h"
#include "store/pack.h"

namespace lockstep::share {

inline constexpr std::string_view kPackLayer =
    "application/vnd.lockstep.pack.v1";

// The role of a folder file's layer, and of a bundle of such files.
inline constexpr std::string_view kFileRole = "snapshot-file";
inline constexpr std::string_view kBundleRole = "snapshot-files";

struct BundleSizes {
  // A bundle is cut after a file with probability (its bytes + 48) /
  // target, so bundles hold about this many bytes on average...
  uint64_t target_bytes = 16u << 20;
  // ...and never more than this (a larger pulled bundle is refused).
  uint64_t max_bytes = 64u << 20;
};

// A blob to bundle: its digest and size.
struct SizedBlob {
  Digest digest;
  uint64_t size = 0;
};

// The string annotation `key` of `layer`, or "" (a pulled layer's
// annotations may be absent or of any type).
std::string AnnotationOf(const registry::PushLayer& layer,
                         const std::string& key);

// Splits `blobs`, sorted by digest and distinct, into bundles: each inner
// list holds positions in `blobs`, in order. Depends only on the digests
// and sizes, never on the folder's paths or the order files were found.
std::vector<std::vector<size_t>> SplitIntoBundles(
    const std::vector<SizedBlob>& blobs, const BundleSizes& sizes);

// Replaces the layers of role kFileRole that are at most
// data::kPackedFileLimit bytes with bundle layers, written into the store
// as loose blobs (reading each file verified: DataLoss names a corrupt
// one) and titled PREFIX + "files-N.pack", where the first such layer was.
Status BundleSmallFiles(store::BlobStore* blobs, const std::string& prefix,
                        const BundleSizes& sizes,
                        std::vector<registry::PushLayer>* layers);

// Stores the files of the pulled bundle `layer`: each file's bytes must
// hash to its digest (DataLoss naming the bundle and the file, nothing
// of a failed bundle is published). Files the store lacks go to `packs`
// (up to data::kPackedFileLimit bytes) or loose. Returns the files.
Result<size_t> UnpackBundle(store::BlobStore* blobs,
                            const registry::PushLayer& layer,
                            const BundleSizes& sizes,
                            store::PackWriter* packs);

}  // namespace lockstep::share

#endif  // LOCKSTEP_SHARE_BUNDLE_H_
