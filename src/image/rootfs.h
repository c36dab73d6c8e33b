// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Images as steps use them: an image manifest pulled by digest into the
// blob store (from Lockstep's registry or any OCI registry, or already in
// the store after `lockstep image build`), its blobs verified, and its
// layers unpacked in order into a root filesystem cached by manifest
// digest at <store>/rootfs/<hex>/. The folder is built under a temporary
// name and renamed into place, so a half-unpacked root is never used.

#ifndef LOCKSTEP_IMAGE_ROOTFS_H_
#define LOCKSTEP_IMAGE_ROOTFS_H_

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/digest.h"
#include "core/status.h"
#include "registry/client.h"
#include "registry/oci.h"
#include "store/blob_store.h"

namespace lockstep::image {

inline constexpr const char* kOciImageConfig =
    "application/vnd.oci.image.config.v1+json";
inline constexpr const char* kOciLayerTar =
    "application/vnd.oci.image.layer.v1.tar";

// An image manifest for this machine's platform, read from the store.
struct ImageInfo {
  Digest manifest;  // the platform's image manifest
  std::string manifest_body;
  Digest config;
  nlohmann::json config_json;
  std::vector<registry::Descriptor> layers;
};

// "amd64", "arm64", ... as OCI platforms name this machine.
std::string HostArchitecture();

// Reads image manifest `digest` from the store, verified; an image index
// is followed to its linux entry for this machine's architecture.
// NotFound when the manifest or its config is not in the store.
Result<ImageInfo> ReadImage(const store::BlobStore& blobs,
                            const Digest& digest);

// Makes the pinned image `ref` available in the store: used as is when
// the manifest and all its blobs are there, else pulled from the
// registry (every digest verified).
Result<ImageInfo> FetchImage(store::BlobStore& blobs,
                             const registry::Reference& ref);

// Resolves a tag to its manifest digest by pulling it once.
Result<Digest> ResolveTag(store::BlobStore& blobs,
                          const registry::Reference& ref);

// The root filesystem folder of the image: fetched, verified and unpacked
// on first use, reused after. The folders a sandbox mounts over (proc,
// dev, tmp, lockstep) are created in it.
Result<std::filesystem::path> PrepareRootfs(store::BlobStore& blobs,
                                            const registry::Reference& ref);

// Where PrepareRootfs puts the image with manifest `digest`.
std::filesystem::path RootfsPath(const store::BlobStore& blobs,
                                 const Digest& digest);

}  // namespace lockstep::image

#endif  // LOCKSTEP_IMAGE_ROOTFS_H_
