// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// `lockstep pull --output DIR`: the layers of a pulled artifact written
// out as files, each named by its org.opencontainers.image.title
// annotation as oras names them. A title may name a file in a subfolder
// ("model/weights.json"); one that is absolute, empty or climbs out
// ("..") is not trusted, and the layer is written under its digest.

#ifndef LOCKSTEP_SHARE_LAYER_FILES_H_
#define LOCKSTEP_SHARE_LAYER_FILES_H_

#include <filesystem>
#include <string>
#include <vector>

#include "core/status.h"
#include "registry/client.h"
#include "store/blob_store.h"

namespace lockstep::share {

// The layers `lockstep push FILE... REF` sends: each file stored in
// `blobs` and titled, as oras titles them, by its path as given when that
// is relative and stays below the current folder ("out/model.bin"),
// else by its name; a `sha256:DIGEST` item is a store blob as it is,
// untitled. Folders and titles that clash (CheckLayerFileNames) are
// refused before anything is sent.
Result<std::vector<registry::PushLayer>> LayersOfFiles(
    store::BlobStore& blobs, const std::vector<std::string>& items);

// The path, relative to the output folder, `layer` is written to.
std::string LayerFileName(const registry::PushLayer& layer);

// InvalidArgument when two layers with different bytes would be written
// to one path, or when one layer's path is the folder of another's.
Status CheckLayerFileNames(const std::vector<registry::PushLayer>& layers);

// InvalidArgument when writing `layers` under `folder` would go through
// something other than a real folder (a symbolic link planted in it, a
// file where a title needs a folder) or replace a folder, or `folder` is
// not one. Nothing is changed.
Status CheckOutputFolder(const std::vector<registry::PushLayer>& layers,
                         const std::filesystem::path& folder);

// Writes every layer (already in `blobs`, verified again as it is
// copied) under `folder`, creating it and the subfolders titles name,
// with CheckOutputFolder's checks made again as each folder is made.
// Returns the paths written, in layer order, each once.
Result<std::vector<std::filesystem::path>> WriteLayerFiles(
    const store::BlobStore& blobs,
    const std::vector<registry::PushLayer>& layers,
    const std::filesystem::path& folder);

}  // namespace lockstep::share

#endif  // LOCKSTEP_SHARE_LAYER_FILES_H_
