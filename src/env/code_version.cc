// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "env/code_version.h"

#include <git2.h>
#include <git2/sys/mempack.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <mutex>

#include <fmt/format.h>

#include "core/files.h"

namespace lockstep::env {
namespace {

template <typename T, void (*Free)(T*)>
struct GitDeleter {
  void operator()(T* object) const { Free(object); }
};
template <typename T, void (*Free)(T*)>
using GitPtr = std::unique_ptr<T, GitDeleter<T, Free>>;

using RepoPtr = GitPtr<git_repository, git_repository_free>;
using ReferencePtr = GitPtr<git_reference, git_reference_free>;
using CommitPtr = GitPtr<git_commit, git_commit_free>;
using TreePtr = GitPtr<git_tree, git_tree_free>;
using DiffPtr = GitPtr<git_diff, git_diff_free>;
using IndexPtr = GitPtr<git_index, git_index_free>;
using ConfigPtr = GitPtr<git_config, git_config_free>;
using ConfigIteratorPtr =
    GitPtr<git_config_iterator, git_config_iterator_free>;
using StatusListPtr = GitPtr<git_status_list, git_status_list_free>;
using BlobPtr = GitPtr<git_blob, git_blob_free>;
using OdbPtr = GitPtr<git_odb, git_odb_free>;

void InitLibgit2() {
  static std::once_flag once;
  std::call_once(once, [] { git_libgit2_init(); });
}

// libgit2's last error as a Status, with `what` in front.
Status GitError(std::string_view what) {
  const git_error* error = git_error_last();
  return Status::Internal(fmt::format("{}: {}", what,
                                      error ? error->message : "libgit2"));
}

std::string OidHex(const git_oid* oid) {
  char hex[GIT_OID_HEXSZ + 1];
  git_oid_tostr(hex, sizeof(hex), oid);
  return hex;
}

// "origin" when present, else the first configured remote, read from
// the config's remote.<name>.url entries. (git_remote_list would do, but
// in libgit2 1.5 its regex match leaks the pcre2 match data of every
// config entry that does not match, which LeakSanitizer reports.)
std::string RemoteUrl(git_repository* repo) {
  git_config* raw_config = nullptr;
  if (git_repository_config_snapshot(&raw_config, repo) != 0) return "";
  ConfigPtr config(raw_config);
  git_config_iterator* raw_iterator = nullptr;
  if (git_config_iterator_new(&raw_iterator, raw_config) != 0) return "";
  ConfigIteratorPtr iterator(raw_iterator);

  std::string first, origin;
  git_config_entry* entry = nullptr;
  while (git_config_next(&entry, raw_iterator) == 0) {
    std::string_view name = entry->name;
    if (!name.starts_with("remote.") || !name.ends_with(".url") ||
        name.size() <= 11) {
      continue;
    }
    if (first.empty()) first = entry->value;
    if (name == "remote.origin.url") origin = entry->value;
  }
  return StripUrlCredentials(origin.empty() ? first : origin);
}

Status ReadHead(git_repository* repo, CodeVersion* version) {
  git_reference* raw = nullptr;
  int error = git_repository_head(&raw, repo);
  if (error == GIT_EUNBORNBRANCH || error == GIT_ENOTFOUND) {
    // No commit yet: name the branch HEAD points at.
    git_reference* head = nullptr;
    if (git_reference_lookup(&head, repo, "HEAD") == 0) {
      ReferencePtr owned(head);
      const char* target = git_reference_symbolic_target(head);
      std::string_view name = target ? target : "";
      if (name.starts_with("refs/heads/")) name.remove_prefix(11);
      version->branch = std::string(name);
    }
    return Status::Ok();
  }
  if (error != 0) return GitError("reading HEAD");
  ReferencePtr head(raw);

  git_oid oid;
  if (git_reference_name_to_id(&oid, repo, "HEAD") != 0) {
    return GitError("resolving HEAD");
  }
  version->commit = OidHex(&oid);
  version->detached = git_repository_head_detached(repo) == 1;
  if (git_reference_is_branch(head.get())) {
    version->branch = git_reference_shorthand(head.get());
  }
  return Status::Ok();
}

Result<bool> IsDirty(git_repository* repo) {
  git_status_options options = GIT_STATUS_OPTIONS_INIT;
  options.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
  options.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED |
                  GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS;
  git_status_list* raw = nullptr;
  if (git_status_list_new(&raw, repo, &options) != 0) {
    return GitError("reading the work tree status");
  }
  StatusListPtr list(raw);
  return git_status_list_entrycount(list.get()) > 0;
}

Result<TreePtr> CommitTree(git_repository* repo, const std::string& commit) {
  git_oid oid;
  if (git_oid_fromstr(&oid, commit.c_str()) != 0) {
    return Status::InvalidArgument(
        fmt::format("'{}' is not a commit id", commit));
  }
  git_commit* raw_commit = nullptr;
  int error = git_commit_lookup(&raw_commit, repo, &oid);
  if (error == GIT_ENOTFOUND) {
    return Status::NotFound(fmt::format(
        "commit {} is not in the repository at {}; run `git fetch` there "
        "to get it",
        commit, git_repository_path(repo)));
  }
  if (error != 0) return GitError("looking up commit " + commit);
  CommitPtr owned(raw_commit);
  git_tree* tree = nullptr;
  if (git_commit_tree(&tree, raw_commit) != 0) {
    return GitError("reading the tree of " + commit);
  }
  return TreePtr(tree);
}

// The work tree against `tree` (null on an unborn branch) as a git patch
// with untracked files' content and binary data.
Result<std::string> WorkTreePatch(git_repository* repo, git_tree* tree) {
  git_diff_options options = GIT_DIFF_OPTIONS_INIT;
  options.flags = GIT_DIFF_INCLUDE_UNTRACKED |
                  GIT_DIFF_RECURSE_UNTRACKED_DIRS |
                  GIT_DIFF_SHOW_UNTRACKED_CONTENT | GIT_DIFF_SHOW_BINARY;
  git_diff* raw = nullptr;
  if (git_diff_tree_to_workdir_with_index(&raw, repo, tree, &options) != 0) {
    return GitError("diffing the work tree");
  }
  DiffPtr diff(raw);
  git_buf buffer = GIT_BUF_INIT;
  if (git_diff_to_buf(&buffer, diff.get(), GIT_DIFF_FORMAT_PATCH) != 0) {
    return GitError("formatting the patch");
  }
  std::string patch(buffer.ptr, buffer.size);
  git_buf_dispose(&buffer);
  return patch;
}

// Rejects index paths that would write outside the destination.
bool SafeRelativePath(std::string_view path) {
  if (path.empty() || path.front() == '/') return false;
  for (const auto& part : fs::path(path)) {
    if (part == ".." || part == ".git") return false;
  }
  return true;
}

// Writes every entry of `index` under `root`.
Status WriteIndex(git_repository* repo, git_index* index,
                  const fs::path& root) {
  size_t count = git_index_entrycount(index);
  for (size_t i = 0; i < count; ++i) {
    const git_index_entry* entry = git_index_get_byindex(index, i);
    if (!SafeRelativePath(entry->path)) {
      return Status::InvalidArgument(
          fmt::format("refusing to write path '{}'", entry->path));
    }
    fs::path path = root / entry->path;
    std::error_code error;
    fs::create_directories(path.parent_path(), error);
    if (error) return ErrnoStatus(path.parent_path(), error.value());
    if (entry->mode == GIT_FILEMODE_COMMIT) {
      // A submodule: its own repository, not part of this tree's bytes.
      fs::create_directories(path, error);
      continue;
    }

    git_blob* raw = nullptr;
    if (git_blob_lookup(&raw, repo, &entry->id) != 0) {
      return GitError(fmt::format("reading blob of {}", entry->path));
    }
    BlobPtr blob(raw);
    std::string_view bytes(
        static_cast<const char*>(git_blob_rawcontent(raw)),
        size_t(git_blob_rawsize(raw)));
    if (entry->mode == GIT_FILEMODE_LINK) {
      if (::symlink(std::string(bytes).c_str(), path.c_str()) != 0) {
        return ErrnoStatus(path, errno);
      }
      continue;
    }
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    out.close();
    if (!out) return ErrnoStatus(path, errno);
    mode_t mode = entry->mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644;
    if (::chmod(path.c_str(), mode) != 0) return ErrnoStatus(path, errno);
  }
  return Status::Ok();
}

// The dirty patch, from memory or the blob store, checked against its
// digest.
Result<std::string> LoadPatch(const CodeVersion& version,
                              const store::BlobStore* blobs) {
  std::string patch = version.patch;
  if (patch.empty()) {
    if (blobs == nullptr) {
      return Status::FailedPrecondition(fmt::format(
          "the work tree was dirty and its patch {} is not available "
          "(no store given)",
          version.patch_digest.ToString()));
    }
    ASSIGN_OR_RETURN(patch, blobs->ReadVerified(version.patch_digest));
  }
  if (Sha256Of(patch) != version.patch_digest) {
    return Status::DataLoss(fmt::format(
        "the dirty-tree patch does not match its digest {}",
        version.patch_digest.ToString()));
  }
  return patch;
}

// The commit's tree with the dirty patch applied, as an in-memory index.
// New blobs go to an in-memory object database so the repository on disk
// gains no objects.
Result<IndexPtr> BuildIndex(git_repository* repo, git_tree* tree,
                            const std::string& patch) {
  git_index* raw = nullptr;
  if (patch.empty()) {
    if (git_index_new(&raw) != 0) return GitError("creating an index");
    IndexPtr index(raw);
    if (git_index_read_tree(raw, tree) != 0) return GitError("reading tree");
    return index;
  }

  git_odb* odb = nullptr;
  git_odb_backend* mempack = nullptr;
  if (git_repository_odb(&odb, repo) != 0) return GitError("opening odb");
  OdbPtr owned_odb(odb);
  if (git_mempack_new(&mempack) != 0 ||
      git_odb_add_backend(odb, mempack, 1000) != 0) {
    return GitError("adding an in-memory object database");
  }

  git_diff* diff = nullptr;
  if (git_diff_from_buffer(&diff, patch.data(), patch.size()) != 0) {
    return GitError("parsing the dirty-tree patch");
  }
  DiffPtr owned_diff(diff);
  if (git_apply_to_tree(&raw, repo, tree, diff, nullptr) != 0) {
    return GitError("applying the dirty-tree patch");
  }
  return IndexPtr(raw);
}

}  // namespace

std::string StripUrlCredentials(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  size_t host = scheme + 3;
  size_t slash = url.find('/', host);
  std::string_view authority = url.substr(host, slash - host);
  size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);

  std::string_view user_info = authority.substr(0, at);
  bool ssh = url.starts_with("ssh://");
  if (ssh && user_info.find(':') == std::string_view::npos) {
    return std::string(url);  // "ssh://git@host/..." names no secret.
  }
  return std::string(url.substr(0, host)) +
         std::string(url.substr(host + at + 1));
}

Result<CodeVersion> CaptureCodeVersion(const fs::path& folder,
                                       store::BlobStore* blobs) {
  InitLibgit2();
  CodeVersion version;
  git_repository* raw = nullptr;
  int error = git_repository_open_ext(&raw, folder.c_str(), 0, nullptr);
  if (error == GIT_ENOTFOUND) {
    version.note = "not in a git work tree";
    return version;
  }
  if (error != 0) return GitError("opening " + folder.string());
  RepoPtr repo(raw);
  if (git_repository_is_bare(raw)) {
    version.note = "not in a git work tree (bare repository)";
    return version;
  }

  version.in_git_work_tree = true;
  version.work_tree = fs::path(git_repository_workdir(raw))
                          .lexically_normal().string();
  if (version.work_tree.size() > 1 && version.work_tree.back() == '/') {
    version.work_tree.pop_back();
  }
  RETURN_IF_ERROR(ReadHead(raw, &version));
  version.remote_url = RemoteUrl(raw);
  ASSIGN_OR_RETURN(version.dirty, IsDirty(raw));
  if (!version.dirty) return version;

  TreePtr tree;
  if (!version.commit.empty()) {
    ASSIGN_OR_RETURN(tree, CommitTree(raw, version.commit));
  }
  ASSIGN_OR_RETURN(version.patch, WorkTreePatch(raw, tree.get()));
  version.patch_digest = Sha256Of(version.patch);
  if (blobs != nullptr) {
    RETURN_IF_ERROR(blobs->PutBytes(version.patch).status());
    version.patch_stored = true;
  }
  return version;
}

Status MaterializeCode(const fs::path& repo_path, const CodeVersion& version,
                       const fs::path& destination,
                       const store::BlobStore* blobs) {
  InitLibgit2();
  if (!version.in_git_work_tree || version.commit.empty()) {
    return Status::FailedPrecondition(
        "the run's code was not recorded at a git commit");
  }
  std::error_code exists_error;
  if (fs::exists(destination, exists_error)) {
    return Status::AlreadyExists(fmt::format(
        "{} exists; materialising needs a fresh folder",
        destination.string()));
  }

  git_repository* raw = nullptr;
  if (git_repository_open_ext(&raw, repo_path.c_str(), 0, nullptr) != 0) {
    return Status::NotFound(
        fmt::format("{}: not a git repository", repo_path.string()));
  }
  RepoPtr repo(raw);
  ASSIGN_OR_RETURN(TreePtr tree, CommitTree(raw, version.commit));
  std::string patch;
  if (version.dirty) {
    ASSIGN_OR_RETURN(patch, LoadPatch(version, blobs));
  }
  ASSIGN_OR_RETURN(IndexPtr index, BuildIndex(raw, tree.get(), patch));

  // Build beside the destination, then rename: whole or nothing.
  fs::path parent = fs::absolute(destination).parent_path();
  std::error_code error;
  fs::create_directories(parent, error);
  ASSIGN_OR_RETURN(fs::path staging,
                   MakeTempDirectory(parent, ".materialize"));
  Status status = WriteIndex(raw, index.get(), staging);
  if (status.ok()) {
    fs::rename(staging, destination, error);
    if (error) status = ErrnoStatus(destination, error.value());
  }
  if (!status.ok()) RemoveAllQuietly(staging);
  return status;
}

Json CodeVersion::ToJson() const {
  Json out = {{"in_git_work_tree", in_git_work_tree}};
  if (!in_git_work_tree) {
    out["note"] = note;
    return out;
  }
  out["commit"] = commit;
  out["branch"] = branch;
  out["detached"] = detached;
  out["remote_url"] = remote_url;
  out["dirty"] = dirty;
  if (dirty) {
    out["patch_digest"] = patch_digest.ToString();
    out["patch_stored"] = patch_stored;
  }
  return out;
}

Result<CodeVersion> CodeVersion::FromJson(const Json& json) {
  CodeVersion version;
  try {
    version.in_git_work_tree = json.at("in_git_work_tree").get<bool>();
    if (!version.in_git_work_tree) {
      version.note = json.value("note", "");
      return version;
    }
    version.commit = json.at("commit").get<std::string>();
    version.branch = json.value("branch", "");
    version.detached = json.value("detached", false);
    version.remote_url = json.value("remote_url", "");
    version.dirty = json.at("dirty").get<bool>();
    if (version.dirty) {
      ASSIGN_OR_RETURN(version.patch_digest,
                       Digest::Parse(json.at("patch_digest")
                                         .get<std::string>()));
      version.patch_stored = json.value("patch_stored", false);
    }
  } catch (const Json::exception& error) {
    return Status::InvalidArgument(
        fmt::format("code version: {}", error.what()));
  }
  return version;
}

}  // namespace lockstep::env
