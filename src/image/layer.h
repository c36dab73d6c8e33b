// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Applies one OCI image layer (a tar, optionally gzip or zstd compressed)
// onto a root filesystem folder, as the OCI image spec's changeset rules
// say: `.wh.NAME` deletes NAME from the lower layers, `.wh..wh..opq`
// empties its folder of lower-layer content, and every other entry is
// created or replaced. Untrusted layers are handled defensively: absolute
// names and `..` components are refused, symlinks met on the way to an
// entry are resolved inside the root (never on the host), relative link
// targets that climb out of the root are refused, setuid, setgid and
// device entries are never created, and owners are not applied.

#ifndef LOCKSTEP_IMAGE_LAYER_H_
#define LOCKSTEP_IMAGE_LAYER_H_

#include <filesystem>
#include <string>

#include "core/status.h"

namespace lockstep::image {

struct LayerStats {
  int files = 0;
  int folders = 0;
  int links = 0;
  int whiteouts = 0;
  int skipped = 0;  // devices, fifos and sockets, never created
};

// Applies the layer archive at `layer_path` onto `root` (an existing
// folder). `layer_name` (its digest) names the layer in errors, which are
// InvalidArgument "layer NAME: entry 'E': reason" for unsafe entries.
Result<LayerStats> ApplyLayer(const std::filesystem::path& layer_path,
                              const std::string& layer_name,
                              const std::filesystem::path& root);

// Resolves `relative` (an entry name) inside `root` the way the image's
// own processes would see it: symlinks in its folders are followed with
// absolute targets taken from `root` and `..` stopping at `root`, so the
// result never leaves `root`. The last component is not followed.
Result<std::filesystem::path> ResolveInRoot(
    const std::filesystem::path& root, const std::string& relative);

}  // namespace lockstep::image

#endif  // LOCKSTEP_IMAGE_LAYER_H_
