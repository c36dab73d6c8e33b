// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// `lockstep image build`: an OCI image written without a daemon on top of
// a base pinned by digest (or `scratch`, no base). Each added folder
// becomes one uncompressed layer made by store/tar's reproducible writer
// (sorted entries, zero times, root owners, normalised modes), and the
// config and manifest are canonical JSON with no build time, so the same
// inputs give the same image digest on any machine and in any folder.
// The image can be tagged in the local registry index and pushed to any
// OCI registry.

#ifndef LOCKSTEP_IMAGE_BUILD_H_
#define LOCKSTEP_IMAGE_BUILD_H_

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/digest.h"
#include "core/status.h"
#include "registry/client.h"
#include "store/blob_store.h"

namespace lockstep::image {

// --add SOURCE:/DESTINATION.
struct AddedFolder {
  std::filesystem::path source;
  std::string destination;  // absolute path inside the image
};

// Parses "DIR:/dest". InvalidArgument when there is no colon, the
// destination is not absolute or climbs with "..".
Result<AddedFolder> ParseAddedFolder(const std::string& text);

struct BuildRequest {
  std::string base;  // "scratch" or REGISTRY/REPO@sha256:...
  bool insecure = false;
  std::vector<AddedFolder> added;
  std::vector<std::string> env;  // K=V, replacing the base's K
  std::string workdir;           // empty: keep the base's
  std::vector<std::string> entrypoint;  // empty: keep the base's
};

struct BuiltImage {
  Digest manifest;
  std::string manifest_body;
  Digest config;
  std::vector<Digest> layers;  // base layers first
  std::vector<Digest> blobs;   // config and layers, all in the store
};

// Builds the image into the store. A base given by tag only is refused.
Result<BuiltImage> BuildImage(store::BlobStore& blobs,
                              const BuildRequest& request);

// Tags the image REPO:TAG in the local registry under `store_root`, as if
// pushed to `lockstep registry serve` over that store.
Status TagLocally(const std::filesystem::path& store_root,
                  const BuiltImage& image, const std::string& repo_tag);

// Pushes the image's blobs and manifest to `target` (tagged target.tag).
Status PushImage(store::BlobStore& blobs, const BuiltImage& image,
                 const registry::Reference& target);

// "VERSION-<first 8 hex of commit>", the classic commit tag.
std::string CommitTag(const std::string& version, const std::string& commit);

}  // namespace lockstep::image

#endif  // LOCKSTEP_IMAGE_BUILD_H_
