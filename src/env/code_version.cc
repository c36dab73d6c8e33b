// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "env/code_version.h"

#include <git2.h>
#include <git2/sys/mempack.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <memory>

#include <fmt/format.h>

#include "core/dynamic_library.h"
#include "core/files.h"

namespace lockstep::env {
namespace {

// The libgit2 functions Lockstep calls, named after the C API without its
// git_ prefix; opened on first use (core/dynamic_library.h says why).
struct GitApi {
  decltype(&git_libgit2_init) libgit2_init;
  decltype(&git_apply_to_tree) apply_to_tree;
  decltype(&git_blob_lookup) blob_lookup;
  decltype(&git_blob_rawcontent) blob_rawcontent;
  decltype(&git_blob_rawsize) blob_rawsize;
  decltype(&git_buf_dispose) buf_dispose;
  decltype(&git_commit_lookup) commit_lookup;
  decltype(&git_commit_tree) commit_tree;
  decltype(&git_config_iterator_new) config_iterator_new;
  decltype(&git_config_next) config_next;
  decltype(&git_diff_from_buffer) diff_from_buffer;
  decltype(&git_diff_to_buf) diff_to_buf;
  decltype(&git_diff_tree_to_workdir_with_index)
      diff_tree_to_workdir_with_index;
  decltype(&git_error_last) error_last;
  decltype(&git_ignore_add_rule) ignore_add_rule;
  decltype(&git_index_entrycount) index_entrycount;
  decltype(&git_index_get_byindex) index_get_byindex;
  decltype(&git_index_new) index_new;
  decltype(&git_index_read_tree) index_read_tree;
  decltype(&git_mempack_new) mempack_new;
  decltype(&git_odb_add_backend) odb_add_backend;
  decltype(&git_oid_fromstr) oid_fromstr;
  decltype(&git_oid_tostr) oid_tostr;
  decltype(&git_reference_is_branch) reference_is_branch;
  decltype(&git_reference_lookup) reference_lookup;
  decltype(&git_reference_name_to_id) reference_name_to_id;
  decltype(&git_reference_shorthand) reference_shorthand;
  decltype(&git_reference_symbolic_target) reference_symbolic_target;
  decltype(&git_repository_config_snapshot) repository_config_snapshot;
  decltype(&git_repository_head) repository_head;
  decltype(&git_repository_head_detached) repository_head_detached;
  decltype(&git_repository_is_bare) repository_is_bare;
  decltype(&git_repository_odb) repository_odb;
  decltype(&git_repository_open_ext) repository_open_ext;
  decltype(&git_repository_path) repository_path;
  decltype(&git_repository_workdir) repository_workdir;
  decltype(&git_status_list_entrycount) status_list_entrycount;
  decltype(&git_status_list_new) status_list_new;
  decltype(&git_blob_free) blob_free;
  decltype(&git_commit_free) commit_free;
  decltype(&git_config_free) config_free;
  decltype(&git_config_iterator_free) config_iterator_free;
  decltype(&git_diff_free) diff_free;
  decltype(&git_index_free) index_free;
  decltype(&git_odb_free) odb_free;
  decltype(&git_reference_free) reference_free;
  decltype(&git_repository_free) repository_free;
  decltype(&git_status_list_free) status_list_free;
  decltype(&git_tree_free) tree_free;
};

Result<GitApi> BindLibgit2() {
  ASSIGN_OR_RETURN(DynamicLibrary library,
                   DynamicLibrary::Open("libgit2.so.1.5", "libgit2-1.5"));
  GitApi api;
  library.Bind(api.libgit2_init, "git_libgit2_init");
  library.Bind(api.apply_to_tree, "git_apply_to_tree");
  library.Bind(api.blob_lookup, "git_blob_lookup");
  library.Bind(api.blob_rawcontent, "git_blob_rawcontent");
  library.Bind(api.blob_rawsize, "git_blob_rawsize");
  library.Bind(api.buf_dispose, "git_buf_dispose");
  library.Bind(api.commit_lookup, "git_commit_lookup");
  library.Bind(api.commit_tree, "git_commit_tree");
  library.Bind(api.config_iterator_new, "git_config_iterator_new");
  library.Bind(api.config_next, "git_config_next");
  library.Bind(api.diff_from_buffer, "git_diff_from_buffer");
  library.Bind(api.diff_to_buf, "git_diff_to_buf");
  library.Bind(api.diff_tree_to_workdir_with_index,
               "git_diff_tree_to_workdir_with_index");
  library.Bind(api.error_last, "git_error_last");
  library.Bind(api.ignore_add_rule, "git_ignore_add_rule");
  library.Bind(api.index_entrycount, "git_index_entrycount");
  library.Bind(api.index_get_byindex, "git_index_get_byindex");
  library.Bind(api.index_new, "git_index_new");
  library.Bind(api.index_read_tree, "git_index_read_tree");
  library.Bind(api.mempack_new, "git_mempack_new");
  library.Bind(api.odb_add_backend, "git_odb_add_backend");
  library.Bind(api.oid_fromstr, "git_oid_fromstr");
  library.Bind(api.oid_tostr, "git_oid_tostr");
  library.Bind(api.reference_is_branch, "git_reference_is_branch");
  library.Bind(api.reference_lookup, "git_reference_lookup");
  library.Bind(api.reference_name_to_id, "git_reference_name_to_id");
  library.Bind(api.reference_shorthand, "git_reference_shorthand");
  library.Bind(api.reference_symbolic_target, "git_reference_symbolic_target");
  library.Bind(api.repository_config_snapshot,
               "git_repository_config_snapshot");
  library.Bind(api.repository_head, "git_repository_head");
  library.Bind(api.repository_head_detached, "git_repository_head_detached");
  library.Bind(api.repository_is_bare, "git_repository_is_bare");
  library.Bind(api.repository_odb, "git_repository_odb");
  library.Bind(api.repository_open_ext, "git_repository_open_ext");
  library.Bind(api.repository_path, "git_repository_path");
  library.Bind(api.repository_workdir, "git_repository_workdir");
  library.Bind(api.status_list_entrycount, "git_status_list_entrycount");
  library.Bind(api.status_list_new, "git_status_list_new");
  library.Bind(api.blob_free, "git_blob_free");
  library.Bind(api.commit_free, "git_commit_free");
  library.Bind(api.config_free, "git_config_free");
  library.Bind(api.config_iterator_free, "git_config_iterator_free");
  library.Bind(api.diff_free, "git_diff_free");
  library.Bind(api.index_free, "git_index_free");
  library.Bind(api.odb_free, "git_odb_free");
  library.Bind(api.reference_free, "git_reference_free");
  library.Bind(api.repository_free, "git_repository_free");
  library.Bind(api.status_list_free, "git_status_list_free");
  library.Bind(api.tree_free, "git_tree_free");
  RETURN_IF_ERROR(library.status());
  api.libgit2_init();
  return api;
}

// Opens and initialises libgit2 once per process; later calls return the
// same table or the same error.
Result<const GitApi*> LoadLibgit2() {
  return LoadOnce<GitApi, BindLibgit2>();
}

// The table, for code below the entry points, which load it first.
const GitApi& Git() { return RequireLoaded(LoadLibgit2()); }

template <typename T, void (*GitApi::*Free)(T*)>
struct GitDeleter {
  void operator()(T* object) const { (Git().*Free)(object); }
};
template <typename T, void (*GitApi::*Free)(T*)>
using GitPtr = std::unique_ptr<T, GitDeleter<T, Free>>;

using RepoPtr = GitPtr<git_repository, &GitApi::repository_free>;
using ReferencePtr = GitPtr<git_reference, &GitApi::reference_free>;
using CommitPtr = GitPtr<git_commit, &GitApi::commit_free>;
using TreePtr = GitPtr<git_tree, &GitApi::tree_free>;
using DiffPtr = GitPtr<git_diff, &GitApi::diff_free>;
using IndexPtr = GitPtr<git_index, &GitApi::index_free>;
using ConfigPtr = GitPtr<git_config, &GitApi::config_free>;
using ConfigIteratorPtr =
    GitPtr<git_config_iterator, &GitApi::config_iterator_free>;
using StatusListPtr = GitPtr<git_status_list, &GitApi::status_list_free>;
using BlobPtr = GitPtr<git_blob, &GitApi::blob_free>;
using OdbPtr = GitPtr<git_odb, &GitApi::odb_free>;

// libgit2's last error as a Status, with `what` in front.
Status GitError(std::string_view what) {
  const GitApi& git = Git();
  const git_error* error = git.error_last();
  return Status::Internal(fmt::format("{}: {}", what,
                                      error ? error->message : "libgit2"));
}

std::string OidHex(const git_oid* oid) {
  const GitApi& git = Git();
  char hex[GIT_OID_HEXSZ + 1];
  git.oid_tostr(hex, sizeof(hex), oid);
  return hex;
}

// "origin" when present, else the first configured remote, read from
// the config's remote.<name>.url entries. (git_remote_list would do, but
// in libgit2 1.5 its regex match leaks the pcre2 match data of every
// config entry that does not match, which LeakSanitizer reports.)
std::string RemoteUrl(git_repository* repo) {
  const GitApi& git = Git();
  git_config* raw_config = nullptr;
  if (git.repository_config_snapshot(&raw_config, repo) != 0) return "";
  ConfigPtr config(raw_config);
  git_config_iterator* raw_iterator = nullptr;
  if (git.config_iterator_new(&raw_iterator, raw_config) != 0) return "";
  ConfigIteratorPtr iterator(raw_iterator);

  std::string first, origin;
  git_config_entry* entry = nullptr;
  while (git.config_next(&entry, raw_iterator) == 0) {
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
  const GitApi& git = Git();
  git_reference* raw = nullptr;
  int error = git.repository_head(&raw, repo);
  if (error == GIT_EUNBORNBRANCH || error == GIT_ENOTFOUND) {
    // No commit yet: name the branch HEAD points at.
    git_reference* head = nullptr;
    if (git.reference_lookup(&head, repo, "HEAD") == 0) {
      ReferencePtr owned(head);
      const char* target = git.reference_symbolic_target(head);
      std::string_view name = target ? target : "";
      if (name.starts_with("refs/heads/")) name.remove_prefix(11);
      version->branch = std::string(name);
    }
    return Status::Ok();
  }
  if (error != 0) return GitError("reading HEAD");
  ReferencePtr head(raw);

  git_oid oid;
  if (git.reference_name_to_id(&oid, repo, "HEAD") != 0) {
    return GitError("resolving HEAD");
  }
  version->commit = OidHex(&oid);
  version->detached = git.repository_head_detached(repo) == 1;
  if (git.reference_is_branch(head.get())) {
    version->branch = git.reference_shorthand(head.get());
  }
  return Status::Ok();
}

Result<bool> IsDirty(git_repository* repo) {
  const GitApi& git = Git();
  git_status_options options = GIT_STATUS_OPTIONS_INIT;
  options.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
  options.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED |
                  GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS;
  git_status_list* raw = nullptr;
  if (git.status_list_new(&raw, repo, &options) != 0) {
    return GitError("reading the work tree status");
  }
  StatusListPtr list(raw);
  return git.status_list_entrycount(list.get()) > 0;
}

Result<TreePtr> CommitTree(git_repository* repo, const std::string& commit) {
  const GitApi& git = Git();
  git_oid oid;
  if (git.oid_fromstr(&oid, commit.c_str()) != 0) {
    return Status::InvalidArgument(
        fmt::format("'{}' is not a commit id", commit));
  }
  git_commit* raw_commit = nullptr;
  int error = git.commit_lookup(&raw_commit, repo, &oid);
  if (error == GIT_ENOTFOUND) {
    return Status::NotFound(fmt::format(
        "commit {} is not in the repository at {}; run `git fetch` there "
        "to get it",
        commit, git.repository_path(repo)));
  }
  if (error != 0) return GitError("looking up commit " + commit);
  CommitPtr owned(raw_commit);
  git_tree* tree = nullptr;
  if (git.commit_tree(&tree, raw_commit) != 0) {
    return GitError("reading the tree of " + commit);
  }
  return TreePtr(tree);
}

// The work tree against `tree` (null on an unborn branch) as a git patch
// with untracked files' content and binary data.
Result<std::string> WorkTreePatch(git_repository* repo, git_tree* tree) {
  const GitApi& git = Git();
  git_diff_options options = GIT_DIFF_OPTIONS_INIT;
  options.flags = GIT_DIFF_INCLUDE_UNTRACKED |
                  GIT_DIFF_RECURSE_UNTRACKED_DIRS |
                  GIT_DIFF_SHOW_UNTRACKED_CONTENT | GIT_DIFF_SHOW_BINARY;
  git_diff* raw = nullptr;
  if (git.diff_tree_to_workdir_with_index(&raw, repo, tree, &options) != 0) {
    return GitError("diffing the work tree");
  }
  DiffPtr diff(raw);
  git_buf buffer = GIT_BUF_INIT;
  if (git.diff_to_buf(&buffer, diff.get(), GIT_DIFF_FORMAT_PATCH) != 0) {
    return GitError("formatting the patch");
  }
  std::string patch(buffer.ptr, buffer.size);
  git.buf_dispose(&buffer);
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
  const GitApi& git = Git();
  size_t count = git.index_entrycount(index);
  for (size_t i = 0; i < count; ++i) {
    const git_index_entry* entry = git.index_get_byindex(index, i);
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
    if (git.blob_lookup(&raw, repo, &entry->id) != 0) {
      return GitError(fmt::format("reading blob of {}", entry->path));
    }
    BlobPtr blob(raw);
    std::string_view bytes(
        static_cast<const char*>(git.blob_rawcontent(raw)),
        size_t(git.blob_rawsize(raw)));
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
  const GitApi& git = Git();
  git_index* raw = nullptr;
  if (patch.empty()) {
    if (git.index_new(&raw) != 0) return GitError("creating an index");
    IndexPtr index(raw);
    if (git.index_read_tree(raw, tree) != 0) return GitError("reading tree");
    return index;
  }

  git_odb* odb = nullptr;
  git_odb_backend* mempack = nullptr;
  if (git.repository_odb(&odb, repo) != 0) return GitError("opening odb");
  OdbPtr owned_odb(odb);
  if (git.mempack_new(&mempack) != 0 ||
      git.odb_add_backend(odb, mempack, 1000) != 0) {
    return GitError("adding an in-memory object database");
  }

  git_diff* diff = nullptr;
  if (git.diff_from_buffer(&diff, patch.data(), patch.size()) != 0) {
    return GitError("parsing the dirty-tree patch");
  }
  DiffPtr owned_diff(diff);
  if (git.apply_to_tree(&raw, repo, tree, diff, nullptr) != 0) {
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

// A store inside the work tree is not code: untracked (as the default
// .lockstep/ is), it made every tree dirty and put the whole store, its
// earlier patches included, into each run's patch, doubling it per run.
// The rule lives in this repository object only; nothing is written.
Status IgnoreStore(git_repository* repo, const std::string& work_tree,
                   const fs::path& store_root) {
  std::error_code error;
  fs::path store = fs::weakly_canonical(store_root, error);
  fs::path tree = fs::weakly_canonical(work_tree, error);
  fs::path relative = store.lexically_relative(tree);
  std::string text = relative.generic_string();
  if (error || text.empty() || text == "." || text.starts_with("..")) {
    return Status::Ok();  // The store is elsewhere.
  }
  std::string rule = "/";
  for (char c : text) {
    // Escape what gitignore patterns treat as special.
    if (c == '\\' || c == '*' || c == '?' || c == '[' || c == '!' ||
        c == '#' || c == ' ') {
      rule += '\\';
    }
    rule += c;
  }
  rule += "/\n";
  if (Git().ignore_add_rule(repo, rule.c_str()) != 0) {
    return GitError("leaving the store " + store.string() + " out");
  }
  return Status::Ok();
}

namespace {

// Whether libgit2's discovery from `folder` (repository_open_ext with no
// flags: parents of the real path, no environment variables) could find
// a repository: some folder on the way up holds `.git` (a folder or a
// gitfile) or `HEAD` (it may be a bare repository). Errors say yes.
// Loading libgit2 (its libraries and certificate bundle) costs a no-op
// run about a tenth of its time, so a folder outside any repository
// skips it.
bool MayBeInRepository(const fs::path& folder) {
  std::error_code error;
  fs::path at = fs::canonical(folder.empty() ? fs::path(".") : folder, error);
  if (error) {
    return true;
  }
  while (true) {
    for (const char* name : {".git", "HEAD"}) {
      struct stat info;
      if (::lstat((at / name).c_str(), &info) == 0 || errno != ENOENT) {
        return true;
      }
    }
    if (at == at.parent_path()) {
      return false;
    }
    at = at.parent_path();
  }
}

}  // namespace

Result<CodeVersion> CaptureCodeVersion(const fs::path& folder,
                                       store::BlobStore* blobs) {
  CodeVersion version;
  if (!MayBeInRepository(folder)) {
    version.note = "not in a git work tree";
    return version;
  }
  ASSIGN_OR_RETURN(const GitApi* api, LoadLibgit2());
  const GitApi& git = *api;
  git_repository* raw = nullptr;
  int error = git.repository_open_ext(&raw, folder.c_str(), 0, nullptr);
  if (error == GIT_ENOTFOUND) {
    version.note = "not in a git work tree";
    return version;
  }
  if (error != 0) return GitError("opening " + folder.string());
  RepoPtr repo(raw);
  if (git.repository_is_bare(raw)) {
    version.note = "not in a git work tree (bare repository)";
    return version;
  }

  version.in_git_work_tree = true;
  version.work_tree = fs::path(git.repository_workdir(raw))
                          .lexically_normal().string();
  if (version.work_tree.size() > 1 && version.work_tree.back() == '/') {
    version.work_tree.pop_back();
  }
  RETURN_IF_ERROR(ReadHead(raw, &version));
  version.remote_url = RemoteUrl(raw);
  if (blobs != nullptr) {
    RETURN_IF_ERROR(IgnoreStore(raw, version.work_tree, blobs->root()));
  }
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
  ASSIGN_OR_RETURN(const GitApi* api, LoadLibgit2());
  const GitApi& git = *api;
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
  if (git.repository_open_ext(&raw, repo_path.c_str(), 0, nullptr) != 0) {
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

Status CodeVersionAvailable(const fs::path& folder) {
  if (!MayBeInRepository(folder)) {
    return Status::Ok();
  }
  return LoadLibgit2().status();
}

}  // namespace lockstep::env
