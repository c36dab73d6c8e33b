// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "image/layer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <deque>
#include <memory>
#include <vector>

#include "core/files.h"
#include "store/libarchive_api.h"

namespace lockstep::image {

namespace fs = std::filesystem;

namespace {

using store::Libarchive;
using store::LoadLibarchive;

constexpr int kMaxSymlinkHops = 40;
constexpr const char* kWhiteoutPrefix = ".wh.";
constexpr const char* kOpaqueMarker = ".wh..wh..opq";

struct ArchiveCloser {
  void operator()(archive* a) const { Libarchive().read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveCloser>;

std::vector<std::string> Split(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t slash = text.find('/', start);
    if (slash == std::string::npos) slash = text.size();
    std::string part = text.substr(start, slash - start);
    if (!part.empty() && part != ".") parts.push_back(part);
    start = slash + 1;
  }
  return parts;
}

fs::path Join(const fs::path& root, const std::vector<std::string>& parts) {
  fs::path path = root;
  for (const std::string& part : parts) path /= part;
  return path;
}

// An entry being applied, for error messages.
struct Context {
  const std::string& layer;
  const fs::path& root;
};

Status EntryError(const Context& context, const std::string& name,
                  const std::string& reason) {
  return Status::InvalidArgument("layer " + context.layer + ": entry '" +
                                 name + "': " + reason);
}

// The entry's name without "./" and trailing slashes; InvalidArgument for
// absolute names and ".." components, which no layer may carry.
Result<std::string> CleanName(const Context& context, const std::string& raw) {
  if (raw.starts_with("/")) {
    return EntryError(context, raw, "absolute names are refused");
  }
  std::vector<std::string> parts = Split(raw);
  std::string clean;
  for (const std::string& part : parts) {
    if (part == "..") {
      return EntryError(context, raw,
                        "a '..' component would escape the image root");
    }
    clean += (clean.empty() ? "" : "/") + part;
  }
  return clean;
}

Result<ArchivePtr> OpenLayer(const fs::path& path, const std::string& layer) {
  RETURN_IF_ERROR(LoadLibarchive().status());
  ArchivePtr a(Libarchive().read_new());
  Libarchive().read_support_filter_all(a.get());
  Libarchive().read_support_format_tar(a.get());
  if (Libarchive().read_open_filename(a.get(), path.c_str(), 1 << 16) !=
      ARCHIVE_OK) {
    return Status::InvalidArgument("layer " + layer + ": " +
                                   Libarchive().error_string(a.get()));
  }
  return a;
}

// Removes whatever is at `path` (not following a final symlink).
Status RemoveEntry(const fs::path& path) {
  std::error_code error;
  fs::remove_all(path, error);
  if (error) {
    return Status::Internal("cannot remove " + path.string() + ": " +
                            error.message());
  }
  return Status::Ok();
}

// Applies a whiteout or opaque marker of a layer to the lower layers.
Status ApplyWhiteout(const Context& context, const std::string& name,
                     LayerStats* stats) {
  size_t slash = name.rfind('/');
  std::string parent = slash == std::string::npos ? "" : name.substr(0, slash);
  std::string base = slash == std::string::npos ? name : name.substr(slash + 1);
  ++stats->whiteouts;
  if (base == kOpaqueMarker) {
    fs::path folder = context.root;
    if (!parent.empty()) {
      ASSIGN_OR_RETURN(folder, ResolveInRoot(context.root, parent));
    }
    std::error_code error;
    if (!fs::is_directory(fs::symlink_status(folder, error))) {
      return Status::Ok();
    }
    std::vector<fs::path> children;
    fs::directory_iterator it(folder, error);
    for (; !error && it != fs::directory_iterator(); it.increment(error)) {
      children.push_back(it->path());
    }
    if (error) return ErrnoStatus(folder, error.value());
    for (const fs::path& child : children) {
      RETURN_IF_ERROR(RemoveEntry(child));
    }
    return Status::Ok();
  }
  if (base.starts_with(".wh..wh.")) {
    return Status::Ok();  // other aufs metadata: nothing to apply
  }
  std::string hidden = base.substr(std::string(kWhiteoutPrefix).size());
  if (hidden.empty() || hidden == "." || hidden == "..") {
    return EntryError(context, name, "a whiteout must name an entry");
  }
  std::string target = parent.empty() ? hidden : parent + "/" + hidden;
  ASSIGN_OR_RETURN(fs::path path, ResolveInRoot(context.root, target));
  return RemoveEntry(path);
}

// Makes the folders above `path` (already resolved inside the root) and
// clears whatever `path` holds unless both are folders.
Status PrepareTarget(const fs::path& path, bool is_folder) {
  std::error_code error;
  fs::create_directories(path.parent_path(), error);
  if (error) {
    return Status::Internal("cannot create " + path.parent_path().string() +
                            ": " + error.message());
  }
  fs::file_status status = fs::symlink_status(path, error);
  if (!fs::exists(status)) return Status::Ok();
  if (is_folder && fs::is_directory(status)) return Status::Ok();
  return RemoveEntry(path);
}

Status WriteFile(const Context& context, archive* a, const std::string& name,
                 const fs::path& path, mode_t mode, int64_t size_hint) {
  int fd = ::open(path.c_str(),
                  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    return EntryError(context, name, "cannot create " + path.string());
  }
  const void* block = nullptr;
  size_t size = 0;
  la_int64_t offset = 0;
  int result = ARCHIVE_OK;
  Status status;
  while ((result = Libarchive().read_data_block(a, &block, &size,
                                                &offset)) == ARCHIVE_OK) {
    if (::pwrite(fd, block, size, offset) != static_cast<ssize_t>(size)) {
      status = Status::Internal("cannot write " + path.string());
      break;
    }
  }
  if (status.ok() && result != ARCHIVE_EOF) {
    status = EntryError(context, name, Libarchive().error_string(a));
  }
  // A sparse file may end in a hole: the size comes from the header.
  if (status.ok() && ::ftruncate(fd, static_cast<off_t>(size_hint)) != 0) {
    status = Status::Internal("cannot size " + path.string());
  }
  // Only the permission bits: never setuid, setgid or sticky on files.
  if (status.ok() && ::fchmod(fd, mode & 0777) != 0) {
    status = Status::Internal("cannot chmod " + path.string());
  }
  ::close(fd);
  return status;
}

// True when the relative symlink `target`, placed at `name`, climbs above
// the root.
bool LinkEscapes(const std::string& name, const std::string& target) {
  int depth = static_cast<int>(Split(name).size()) - 1;
  for (const std::string& part : Split(target)) {
    depth += part == ".." ? -1 : 1;
    if (depth < 0) return true;
  }
  return false;
}

Status ApplyEntry(const Context& context, archive* a, archive_entry* entry,
                  const std::string& name, LayerStats* stats) {
  ASSIGN_OR_RETURN(fs::path path, ResolveInRoot(context.root, name));
  mode_t type = Libarchive().entry_filetype(entry);
  mode_t mode = Libarchive().entry_perm(entry);
  const char* hardlink = Libarchive().entry_hardlink(entry);

  if (hardlink != nullptr) {
    ASSIGN_OR_RETURN(std::string target_name, CleanName(context, hardlink));
    ASSIGN_OR_RETURN(fs::path target,
                     ResolveInRoot(context.root, target_name));
    std::error_code error;
    if (!fs::is_regular_file(fs::symlink_status(target, error))) {
      return EntryError(context, name, "hard link to '" + target_name +
                                           "', which is not a file here");
    }
    RETURN_IF_ERROR(PrepareTarget(path, false));
    if (::link(target.c_str(), path.c_str()) != 0) {
      return EntryError(context, name, "cannot link " + path.string());
    }
    ++stats->links;
    return Status::Ok();
  }

  switch (type) {
    case AE_IFDIR: {
      RETURN_IF_ERROR(PrepareTarget(path, true));
      if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
        return EntryError(context, name, "cannot create " + path.string());
      }
      // Owner-writable while later layers are applied; sticky kept, setuid
      // and setgid never.
      ::chmod(path.c_str(), (mode & 01777) | 0700);
      ++stats->folders;
      return Status::Ok();
    }
    case AE_IFREG:
      RETURN_IF_ERROR(PrepareTarget(path, false));
      RETURN_IF_ERROR(WriteFile(context, a, name, path, mode,
                                Libarchive().entry_size(entry)));
      ++stats->files;
      return Status::Ok();
    case AE_IFLNK: {
      std::string target = Libarchive().entry_symlink(entry) != nullptr
                               ? Libarchive().entry_symlink(entry)
                               : "";
      if (!target.starts_with("/") && LinkEscapes(name, target)) {
        return EntryError(context, name, "symlink to '" + target +
                                             "' escapes the image root");
      }
      RETURN_IF_ERROR(PrepareTarget(path, false));
      if (::symlink(target.c_str(), path.c_str()) != 0) {
        return EntryError(context, name, "cannot create symlink " +
                                             path.string());
      }
      ++stats->links;
      return Status::Ok();
    }
    default:
      // Devices, fifos and sockets: a step's /dev comes from the sandbox.
      ++stats->skipped;
      return Status::Ok();
  }
}

bool IsWhiteout(const std::string& name) {
  size_t slash = name.rfind('/');
  std::string base = slash == std::string::npos ? name : name.substr(slash + 1);
  return base.starts_with(kWhiteoutPrefix);
}

// One pass over the layer; `whiteouts` picks which entries it applies.
Status ApplyPass(const fs::path& layer_path, const Context& context,
                 bool whiteouts, LayerStats* stats) {
  ASSIGN_OR_RETURN(ArchivePtr a, OpenLayer(layer_path, context.layer));
  archive_entry* entry = nullptr;
  while (true) {
    int result = Libarchive().read_next_header(a.get(), &entry);
    if (result == ARCHIVE_EOF) break;
    if (result != ARCHIVE_OK && result != ARCHIVE_WARN) {
      return Status::InvalidArgument("layer " + context.layer + ": " +
                                     Libarchive().error_string(a.get()));
    }
    const char* raw = Libarchive().entry_pathname(entry);
    ASSIGN_OR_RETURN(std::string name,
                     CleanName(context, raw != nullptr ? raw : ""));
    if (name.empty()) continue;  // the root folder itself
    if (IsWhiteout(name) != whiteouts) continue;
    if (whiteouts) {
      RETURN_IF_ERROR(ApplyWhiteout(context, name, stats));
    } else {
      RETURN_IF_ERROR(ApplyEntry(context, a.get(), entry, name, stats));
    }
  }
  return Status::Ok();
}

}  // namespace

Result<fs::path> ResolveInRoot(const fs::path& root,
                               const std::string& relative) {
  std::deque<std::string> pending;
  for (const std::string& part : Split(relative)) pending.push_back(part);
  if (pending.empty()) return root;
  std::string last = pending.back();
  pending.pop_back();

  std::vector<std::string> resolved;
  int hops = 0;
  while (!pending.empty()) {
    std::string part = pending.front();
    pending.pop_front();
    if (part == "..") {
      if (!resolved.empty()) resolved.pop_back();
      continue;
    }
    fs::path candidate = Join(root, resolved) / part;
    struct stat info;
    if (::lstat(candidate.c_str(), &info) == 0 && S_ISLNK(info.st_mode)) {
      if (++hops > kMaxSymlinkHops) {
        return Status::InvalidArgument("'" + relative +
                                       "': too many symlinks on the way");
      }
      std::error_code error;
      std::string target = fs::read_symlink(candidate, error).string();
      if (error) return Status::Internal("cannot read " + candidate.string());
      if (target.starts_with("/")) resolved.clear();
      std::vector<std::string> parts = Split(target);
      pending.insert(pending.begin(), parts.begin(), parts.end());
      continue;
    }
    resolved.push_back(part);
  }
  if (last == "..") {
    if (!resolved.empty()) resolved.pop_back();
    return Join(root, resolved);
  }
  return Join(root, resolved) / last;
}

Result<LayerStats> ApplyLayer(const fs::path& layer_path,
                              const std::string& layer_name,
                              const fs::path& root) {
  LayerStats stats;
  Context context{layer_name, root};
  // Whiteouts first, so they remove only what lower layers left, never
  // this layer's own entries, whatever order the tar lists them in.
  RETURN_IF_ERROR(ApplyPass(layer_path, context, true, &stats));
  RETURN_IF_ERROR(ApplyPass(layer_path, context, false, &stats));
  return stats;
}

}  // namespace lockstep::image
