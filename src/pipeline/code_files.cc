// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "pipeline/code_files.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <system_error>
#include <utility>

#include "pipeline/step_paths.h"
#include "store/identity.h"

namespace lockstep::pipeline {

namespace fs = std::filesystem;

namespace {

Status Problem(const std::string& relative, const std::string& reason) {
  return Status::InvalidArgument("code path " + relative + ": " + reason);
}

// Depth-first walk that follows symlinks. `ancestors_` holds the folders
// (device, inode) on the path from the entry down to the current one: a
// link back to one of them is a loop, while two links to the same folder
// elsewhere are just two copies.
class CodeWalker {
 public:
  CodeWalker(std::vector<CodeFile>* files, std::vector<CodeFolder>* folders)
      : files_(files), folders_(folders) {}

  Status Visit(const fs::path& path, const std::string& relative) {
    // A git repository's own files change with every commit (which the
    // run records on its own) and are no step's code: `code: [.]` in a
    // repository re-ran every step after each commit (found by a
    // tester). A submodule's or worktree's .git file likewise.
    if (relative == ".git" || relative.ends_with("/.git")) {
      return Status::Ok();
    }
    struct stat info;
    if (::stat(path.c_str(), &info) != 0) {
      return StatProblem(path, relative, errno);
    }
    if (S_ISREG(info.st_mode)) {
      // `code: [.]` reaches the pipeline folder's own inputs/ or outputs/.
      RETURN_IF_ERROR(CheckCodePath(relative));
      if (files_->size() >= kMaxCodeFiles) {
        return Problem(relative, "more than " +
                                     std::to_string(kMaxCodeFiles) +
                                     " code files");
      }
      files_->push_back({path, relative, (info.st_mode & S_IXUSR) != 0,
                         data::StatKeyOf(info)});
      return Status::Ok();
    }
    if (!S_ISDIR(info.st_mode)) {
      return Problem(relative, "not a file or folder");
    }
    if (IsStoreFolder(path)) {
      return Status::Ok();
    }
    if (folders_ != nullptr) {
      folders_->push_back({path, data::StatKeyOf(info)});
    }
    std::pair<dev_t, ino_t> id{info.st_dev, info.st_ino};
    if (!ancestors_.insert(id).second) {
      return Problem(relative, "symlink loop (links to a folder that "
                               "contains it)");
    }
    Status status = VisitChildren(path, relative);
    ancestors_.erase(id);
    return status;
  }

 private:
  Status VisitChildren(const fs::path& path, const std::string& relative) {
    std::vector<std::string> names;
    std::error_code error;
    fs::directory_iterator it(path, error);
    for (; !error && it != fs::directory_iterator(); it.increment(error)) {
      names.push_back(it->path().filename().string());
    }
    if (error) {
      return Problem(relative, error.message());
    }
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      std::string child = relative == "." ? name : relative + "/" + name;
      RETURN_IF_ERROR(Visit(path / name, child));
    }
    return Status::Ok();
  }

  // Why stat failed on a path that lstat may still see.
  static Status StatProblem(const fs::path& path, const std::string& relative,
                            int error) {
    struct stat link;
    if (error == ELOOP) {
      return Problem(relative, "symlink loop");
    }
    if (error == ENOENT && ::lstat(path.c_str(), &link) == 0) {
      return Problem(relative, "dangling symlink");
    }
    return Problem(relative, std::strerror(error));
  }

  std::vector<CodeFile>* files_;
  std::vector<CodeFolder>* folders_;
  std::set<std::pair<dev_t, ino_t>> ancestors_;
};

// The pipeline folder as a person finds it: absolute, even when the
// pipeline file was named without a folder (`validate pipeline.yaml`).
std::string ShowFolder(const fs::path& directory) {
  std::error_code error;
  fs::path shown =
      fs::absolute(directory.empty() ? fs::path(".") : directory, error)
          .lexically_normal();
  std::string text = shown.string();
  while (text.size() > 1 && text.back() == '/') {
    text.pop_back();
  }
  return text;
}

}  // namespace

namespace {

bool IsFolder(const fs::path& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

}  // namespace

// blobs/sha256/ alone is no mark of a store: an OCI image layout has it
// too, and is code like any other folder. A store has its id file, or,
// made by an older Lockstep, the runs/ and tmp/ folders every store has.
bool IsStoreFolder(const fs::path& path) {
  if (!IsFolder(path / "blobs" / "sha256")) {
    return false;
  }
  struct stat info;
  return ::stat((path / store::kStoreIdFile).c_str(), &info) == 0 ||
         (IsFolder(path / "runs") && IsFolder(path / "tmp"));
}

Result<std::vector<CodeFile>> ListCodeFiles(const fs::path& directory,
                                            const std::string& entry,
                                            std::vector<CodeFolder>* folders) {
  RETURN_IF_ERROR(CheckCodePath(entry));
  fs::path source = directory / entry;
  struct stat link;
  if (::lstat(source.c_str(), &link) != 0 && errno == ENOENT) {
    return Status::NotFound("code file '" + entry +
                            "' does not exist (looked in " +
                            ShowFolder(directory) + ")");
  }
  if (IsStoreFolder(source)) {
    return Problem(entry, "is a Lockstep store, which is never code");
  }
  std::string relative = fs::path(entry).lexically_normal().generic_string();
  while (relative.size() > 1 && relative.back() == '/') {
    relative.pop_back();
  }
  std::vector<CodeFile> files;
  RETURN_IF_ERROR(CodeWalker(&files, folders).Visit(source, relative));
  return files;
}

}  // namespace lockstep::pipeline
