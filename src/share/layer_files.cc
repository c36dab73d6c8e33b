// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "share/layer_files.h"

#include <sys/stat.h>

#include <cerrno>
#include <map>
#include <set>
#include <string_view>
#include <system_error>

#include "core/files.h"

namespace lockstep::share {

namespace {

constexpr std::string_view kTitle = "org.opencontainers.image.title";

// A title stays inside the output folder when it is relative and each
// of its parts names something (no "", "." or "..").
bool IsSafeRelativePath(std::string_view title) {
  if (title.empty() || title.find('\0') != std::string_view::npos) {
    return false;
  }
  size_t start = 0;
  while (true) {
    size_t slash = title.find('/', start);
    std::string_view part = title.substr(start, slash - start);
    if (part.empty() || part == "." || part == "..") return false;
    // Longer than a file name may be (NAME_MAX): it could not be written.
    if (part.size() > 255) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

// The title of the file pushed as `item`.
std::string TitleOf(const std::string& item) {
  std::filesystem::path path = std::filesystem::path(item).lexically_normal();
  std::string relative = path.generic_string();
  if (path.is_relative() && IsSafeRelativePath(relative)) return relative;
  return path.filename().string();
}

enum class PathKind { kMissing, kLink, kFolder, kOther };

// What is at `path`, not following a symbolic link.
PathKind KindAt(const std::filesystem::path& path) {
  struct stat info;
  if (::lstat(path.c_str(), &info) != 0) return PathKind::kMissing;
  if (S_ISLNK(info.st_mode)) return PathKind::kLink;
  if (S_ISDIR(info.st_mode)) return PathKind::kFolder;
  return PathKind::kOther;
}

// Refuses a file `name` (a safe title) under `folder` whose folders
// exist as anything but real folders: through a symbolic link planted
// there the file would land outside `folder`. With `create`, makes the
// missing folders one part at a time, each checked as it is made.
Status PrepareFolders(const std::filesystem::path& folder,
                      const std::string& name, bool create) {
  for (size_t slash = name.find('/'); slash != std::string::npos;
       slash = name.find('/', slash + 1)) {
    std::filesystem::path at = folder / name.substr(0, slash);
    PathKind kind = KindAt(at);
    if (kind == PathKind::kMissing && create) {
      if (::mkdir(at.c_str(), 0755) != 0 && errno != EEXIST) {
        return ErrnoStatus(at, errno);
      }
      kind = KindAt(at);  // Made here, or by someone else meanwhile.
    }
    if (kind == PathKind::kLink) {
      return Status::InvalidArgument(at.string() +
                                     " is a symbolic link, and a layer "
                                     "titled " + name +
                                     " would be written through it");
    }
    if (kind == PathKind::kOther) {
      return Status::InvalidArgument(at.string() +
                                     " is not a folder, and a layer titled " +
                                     name + " would be written under it");
    }
  }
  if (KindAt(folder / name) == PathKind::kFolder) {
    return Status::InvalidArgument((folder / name).string() +
                                   " is a folder, and a layer is titled " +
                                   name);
  }
  return Status::Ok();
}

}  // namespace

Status CheckOutputFolder(const std::vector<registry::PushLayer>& layers,
                         const std::filesystem::path& folder) {
  PathKind kind = KindAt(folder);
  // The folder itself may be a link to one: the user's own choice.
  if (kind != PathKind::kMissing && kind != PathKind::kFolder &&
      !std::filesystem::is_directory(folder)) {
    return Status::InvalidArgument(folder.string() + " is not a folder");
  }
  for (const registry::PushLayer& layer : layers) {
    RETURN_IF_ERROR(PrepareFolders(folder, LayerFileName(layer),
                                   /*create=*/false));
  }
  return Status::Ok();
}

Result<std::vector<registry::PushLayer>> LayersOfFiles(
    store::BlobStore& blobs, const std::vector<std::string>& items) {
  std::vector<registry::PushLayer> layers;
  for (const std::string& item : items) {
    registry::PushLayer layer;
    if (item.starts_with("sha256:")) {
      ASSIGN_OR_RETURN(layer.digest, Digest::Parse(item));
      layers.push_back(std::move(layer));
      continue;
    }
    std::error_code error;
    if (std::filesystem::is_directory(item, error)) {
      return Status::InvalidArgument(
          item + " is a folder: push the files in it, or snapshot it "
          "(lockstep data snapshot) and push snapshot:NAME@V");
    }
    Result<Digest> stored = blobs.PutFile(item);
    if (!stored.ok()) return stored.status().WithContext(item);
    layer.digest = *stored;
    layer.annotations = {{std::string(kTitle), TitleOf(item)}};
    layers.push_back(std::move(layer));
  }
  Status distinct = CheckLayerFileNames(layers);
  if (!distinct.ok()) {
    return Status::InvalidArgument(distinct.message() +
                                   "; nothing was pushed");
  }
  return layers;
}

std::string LayerFileName(const registry::PushLayer& layer) {
  if (layer.annotations.is_object()) {
    auto title = layer.annotations.find(kTitle);
    if (title != layer.annotations.end() && title->is_string() &&
        IsSafeRelativePath(title->get<std::string>())) {
      return title->get<std::string>();
    }
  }
  return layer.digest.hex();
}

Status CheckLayerFileNames(const std::vector<registry::PushLayer>& layers) {
  std::map<std::string, const registry::PushLayer*> names;
  for (const registry::PushLayer& layer : layers) {
    auto [at, added] = names.emplace(LayerFileName(layer), &layer);
    if (!added && at->second->digest != layer.digest) {
      return Status::InvalidArgument(
          "layers " + at->second->digest.ToString() + " and " +
          layer.digest.ToString() + " are both titled " + at->first);
    }
  }
  // "a" and "a/b" cannot both be written: "a" is a file or a folder.
  for (const auto& [name, layer] : names) {
    for (size_t slash = name.find('/'); slash != std::string::npos;
         slash = name.find('/', slash + 1)) {
      std::string folder = name.substr(0, slash);
      if (names.count(folder) != 0) {
        return Status::InvalidArgument(
            "layer " + names.at(folder)->digest.ToString() + " is titled " +
            folder + ", the folder of layer " + layer->digest.ToString() +
            " (" + name + ")");
      }
    }
  }
  return Status::Ok();
}

Result<std::vector<std::filesystem::path>> WriteLayerFiles(
    const store::BlobStore& blobs,
    const std::vector<registry::PushLayer>& layers,
    const std::filesystem::path& folder) {
  std::vector<std::filesystem::path> written;
  std::error_code error;
  std::filesystem::create_directories(folder, error);
  if (error) return ErrnoStatus(folder, error.value());
  std::set<std::string> done;
  for (const registry::PushLayer& layer : layers) {
    std::string name = LayerFileName(layer);
    // The same bytes under the same title, twice: one file.
    if (!done.insert(name).second) continue;
    RETURN_IF_ERROR(PrepareFolders(folder, name, /*create=*/true));
    std::filesystem::path path = folder / name;
    RETURN_IF_ERROR(blobs.CopyOut(layer.digest, path));
    written.push_back(std::move(path));
  }
  return written;
}

}  // namespace lockstep::share
