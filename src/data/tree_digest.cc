// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "data/tree_digest.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <memory>
#include <set>
#include <thread>
#include <utility>

#include "core/files.h"
#include "core/utf8.h"
#include "data/parallel.h"

namespace lockstep::data {

namespace {

void AppendBigEndian(std::string* out, uint64_t value, int bytes) {
  for (int shift = (bytes - 1) * 8; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

uint64_t ReadBigEndian(std::string_view bytes) {
  uint64_t value = 0;
  for (unsigned char c : bytes) {
    value = (value << 8) | c;
  }
  return value;
}

// A safe relative path: no empty, "." or ".." component, no NUL, not
// absolute. Export writes these paths, so a crafted tree must not escape.
bool IsSafeRelativePath(std::string_view path) {
  if (path.empty() || path.front() == '/' || path.back() == '/' ||
      path.find('\0') != std::string_view::npos) {
    return false;
  }
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

Status Malformed(size_t offset, std::string_view what) {
  return Status::InvalidArgument("tree blob is malformed at byte " +
                                 std::to_string(offset) + ": " +
                                 std::string(what));
}

}  // namespace

void SortTree(std::vector<TreeEntry>* entries) {
  // std::string compares through char_traits<char>, which orders bytes as
  // unsigned char, like memcmp.
  std::sort(entries->begin(), entries->end(),
            [](const TreeEntry& a, const TreeEntry& b) {
              return a.path < b.path;
            });
}

std::string EncodeTree(const std::vector<TreeEntry>& sorted) {
  std::string out(kTreeMagic);
  size_t expected = out.size();
  for (const TreeEntry& entry : sorted) {
    expected += 14 + entry.path.size() + 32 + entry.target.size();
  }
  out.reserve(expected);
  for (const TreeEntry& entry : sorted) AppendTreeEntry(&out, entry);
  return out;
}

void AppendTreeEntry(std::string* out, const TreeEntry& entry) {
  out->push_back(static_cast<char>(entry.type));
  out->push_back(entry.executable ? 1 : 0);
  AppendBigEndian(out, entry.path.size(), 4);
  *out += entry.path;
  AppendBigEndian(out, entry.size, 8);
  if (entry.type == EntryType::kFile) {
    const Digest::Raw& raw = entry.digest.raw();
    out->append(reinterpret_cast<const char*>(raw.data()), raw.size());
  } else if (entry.type == EntryType::kSymlink) {
    *out += entry.target;
  }
}

Digest TreeDigest(const std::vector<TreeEntry>& sorted) {
  return Sha256Of(EncodeTree(sorted));
}

Result<std::vector<TreeEntry>> DecodeTree(std::string_view bytes) {
  if (!bytes.starts_with(kTreeMagic)) {
    return Malformed(0, "missing the lockstep-tree-v1 header");
  }
  std::vector<TreeEntry> entries;
  std::set<std::string, std::less<>> directories;
  size_t at = kTreeMagic.size();
  while (at < bytes.size()) {
    size_t start = at;
    if (bytes.size() - at < 2 + 4) return Malformed(at, "truncated entry");
    TreeEntry entry;
    char type = bytes[at];
    if (type != 'D' && type != 'F' && type != 'L') {
      return Malformed(at, "unknown entry type");
    }
    entry.type = static_cast<EntryType>(type);
    char flags = bytes[at + 1];
    if (flags != 0 && !(flags == 1 && type == 'F')) {
      return Malformed(at, "bad flags byte");
    }
    entry.executable = flags == 1;
    uint64_t path_size = ReadBigEndian(bytes.substr(at + 2, 4));
    at += 6;
    if (bytes.size() - at < path_size + 8) {
      return Malformed(start, "truncated path");
    }
    entry.path = std::string(bytes.substr(at, path_size));
    at += path_size;
    entry.size = ReadBigEndian(bytes.substr(at, 8));
    at += 8;
    if (entry.type == EntryType::kDirectory && entry.size != 0) {
      return Malformed(start, "a folder with a size");
    }

    if (entry.type == EntryType::kFile) {
      if (bytes.size() - at < 32) return Malformed(start, "truncated digest");
      entry.digest = Digest::FromRaw(
          reinterpret_cast<const unsigned char*>(bytes.data() + at));
      at += 32;
    } else if (entry.type == EntryType::kSymlink) {
      if (bytes.size() - at < entry.size) {
        return Malformed(start, "truncated link target");
      }
      entry.target = std::string(bytes.substr(at, entry.size));
      at += entry.size;
    }

    // Paths must be safe, strictly increasing, and sit in listed folders.
    if (!IsSafeRelativePath(entry.path)) {
      return Malformed(start, "unsafe path '" + DisplayPath(entry.path) + "'");
    }
    if (!entries.empty() && !(entries.back().path < entry.path)) {
      return Malformed(start, "entries are not sorted");
    }
    size_t slash = entry.path.rfind('/');
    if (slash != std::string::npos &&
        !directories.contains(entry.path.substr(0, slash))) {
      return Malformed(start, "parent folder is not an entry");
    }
    if (entry.type == EntryType::kDirectory) directories.insert(entry.path);
    entries.push_back(std::move(entry));
  }
  return entries;
}

namespace {

// As in .gitignore, trailing spaces end a pattern unless a backslash
// quotes one ("trail\ " names "trail "); fnmatch then reads "\ " as
// the space itself. An even run of backslashes quotes only themselves.
void StripUnescapedTrailingSpaces(std::string* line) {
  while (!line->empty() && line->back() == ' ') {
    size_t backslashes = 0;
    for (size_t i = line->size() - 1; i > 0 && (*line)[i - 1] == '\\'; --i) {
      ++backslashes;
    }
    if (backslashes % 2 == 1) return;
    line->pop_back();
  }
}

}  // namespace

IgnoreRules IgnoreRules::Parse(std::string_view text) {
  IgnoreRules rules;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string line(text.substr(start, end - start));
    start = end + 1;

    if (!line.empty() && line.back() == '\r') line.pop_back();
    StripUnescapedTrailingSpaces(&line);
    if (line.empty() || line.front() == '#') continue;

    Pattern pattern;
    // "!" puts back what an earlier pattern left out; "\!" and "\#"
    // begin a name with the character itself.
    if (line.front() == '!') {
      pattern.negated = true;
      line.erase(0, 1);
    } else if (line.starts_with("\\!") || line.starts_with("\\#")) {
      line.erase(0, 1);
    }
    if (line.empty()) continue;
    if (line.back() == '/') {
      pattern.directory_only = true;
      line.pop_back();
    }
    if (line.find('/') != std::string::npos) {
      pattern.anchored = true;
      if (line.front() == '/') line.erase(0, 1);
    }
    if (line.empty()) continue;
    pattern.glob = std::move(line);
    rules.patterns_.push_back(std::move(pattern));
  }
  return rules;
}

bool IgnoreRules::Ignored(std::string_view path, bool is_directory) const {
  if (patterns_.empty()) return false;  // The common case: no copies.
  // The rules themselves are part of what was snapshotted, whatever they
  // say (`*` included): without them the tree cannot be explained.
  if (path == ".lockstepignore" && !is_directory) return false;
  std::string full(path);
  size_t slash = full.rfind('/');
  std::string base = slash == std::string::npos ? full : full.substr(slash + 1);
  // The last pattern that matches decides, as in .gitignore.
  for (auto it = patterns_.rbegin(); it != patterns_.rend(); ++it) {
    const Pattern& pattern = *it;
    if (pattern.directory_only && !is_directory) continue;
    const std::string& subject = pattern.anchored ? full : base;
    int flags = pattern.anchored ? FNM_PATHNAME : 0;
    if (::fnmatch(pattern.glob.c_str(), subject.c_str(), flags) == 0) {
      return !pattern.negated;
    }
  }
  return false;
}

namespace {

// A folder whose listing was put off, to be walked on another core.
struct Deferred {
  std::string prefix;  // Its relative path.
  fs::path absolute;
};

struct Walker {
  const IgnoreRules* rules = nullptr;
  const std::vector<std::string>* skip = nullptr;
  std::vector<WalkedEntry>* out = nullptr;
  // When set, subfolders are recorded here instead of being walked.
  std::vector<Deferred>* deferred = nullptr;
  WalkStat stat = WalkStat::kAll;

  // Lists the folder open at `dir_fd` whose relative path is `prefix`.
  Status Walk(int dir_fd, const fs::path& absolute, const std::string& prefix) {
    DIR* dir = ::fdopendir(dir_fd);
    if (dir == nullptr) {
      Status status = ErrnoStatus(absolute, errno);
      ::close(dir_fd);
      return status;
    }
    std::vector<std::pair<std::string, unsigned char>> names;
    errno = 0;
    while (struct dirent* item = ::readdir(dir)) {
      std::string_view name = item->d_name;
      if (name != "." && name != "..") names.emplace_back(name, item->d_type);
    }
    // Visited in name order, a folder's files come out sorted, and the
    // sort of its (much larger) entries has nothing left to move.
    std::sort(names.begin(), names.end());
    Status status = Status::Ok();
    // Room for this folder's entries, growing geometrically so nested
    // folders do not reallocate the list once each.
    if (out->capacity() - out->size() < names.size()) {
      out->reserve(std::max(out->size() + names.size(), 2 * out->capacity()));
    }
    for (const auto& [name, type] : names) {
      status = Visit(dir_fd, absolute, prefix, name, type);
      if (!status.ok()) break;
    }
    ::closedir(dir);
    return status;
  }

  Status Visit(int dir_fd, const fs::path& absolute, const std::string& prefix,
               const std::string& name, unsigned char type) {
    WalkedEntry walked;
    TreeEntry& entry = walked.entry;
    entry.path = prefix.empty() ? name : prefix + "/" + name;
    if (type == DT_REG && stat == WalkStat::kNotFiles) {
      if (rules->Ignored(entry.path, false)) return Status::Ok();
      if (std::find(skip->begin(), skip->end(), entry.path) != skip->end()) {
        return Status::Ok();
      }
      entry.type = EntryType::kFile;
      walked.unstatted = true;
      out->push_back(std::move(walked));
      return Status::Ok();
    }
    // Built only when needed: fs::path's parsing costs more than lstat.
    auto where = [&] { return absolute / name; };
    struct stat info;
    if (::fstatat(dir_fd, name.c_str(), &info, AT_SYMLINK_NOFOLLOW)) {
      return ErrnoStatus(where(), errno);
    }
    walked.key = StatKeyOf(info);
    mode_t mode = info.st_mode;
    bool is_dir = S_ISDIR(mode);
    if (rules->Ignored(entry.path, is_dir)) return Status::Ok();
    if (std::find(skip->begin(), skip->end(), entry.path) != skip->end()) {
      return Status::Ok();
    }

    if (S_ISREG(mode)) {
      entry.type = EntryType::kFile;
      entry.executable = (mode & S_IXUSR) != 0;
      entry.size = static_cast<uint64_t>(info.st_size);
      out->push_back(std::move(walked));
      return Status::Ok();
    }
    if (S_ISLNK(mode)) {
      // Recorded as a link, never followed: a dangling link is fine.
      std::string target(static_cast<size_t>(info.st_size) + 256, '\0');
      ssize_t n = ::readlinkat(dir_fd, name.c_str(), target.data(),
                               target.size());
      if (n < 0) return ErrnoStatus(where(), errno);
      target.resize(static_cast<size_t>(n));
      entry.type = EntryType::kSymlink;
      entry.size = target.size();
      entry.target = std::move(target);
      out->push_back(std::move(walked));
      return Status::Ok();
    }
    if (!is_dir) {
      return Status::InvalidArgument(where().string() +
                                     ": not a file, folder or symlink");
    }
    entry.type = EntryType::kDirectory;
    std::string child_prefix = entry.path;
    out->push_back(std::move(walked));
    if (deferred != nullptr) {
      deferred->push_back({std::move(child_prefix), where()});
      return Status::Ok();
    }
    int child = ::openat(dir_fd, name.c_str(),
                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (child < 0) return ErrnoStatus(where(), errno);
    return Walk(child, where(), child_prefix);
  }
};

void SortWalked(std::vector<WalkedEntry>* entries) {
  auto by_path = [](const WalkedEntry& a, const WalkedEntry& b) {
    return a.entry.path < b.entry.path;
  };
  // A folder's contents come out sorted unless a subfolder's own entries
  // belong after a later sibling ("d/x-y" sorts before "d/x/1").
  if (std::is_sorted(entries->begin(), entries->end(), by_path)) return;
  std::sort(entries->begin(), entries->end(), by_path);
}

// The rules of `root/.lockstepignore`: none when it does not exist. It
// must be a regular file in the folder, of at most 1 MiB: a link (maybe
// to outside), a FIFO (a read that never ends) or a device (/dev/zero)
// is refused, naming it.
Result<IgnoreRules> ReadIgnoreRules(const fs::path& root) {
  fs::path file = root / ".lockstepignore";
  constexpr off_t kMaxBytes = 1 << 20;
  int fd = ::open(file.c_str(),
                  O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) return IgnoreRules();
  if (fd < 0 && errno == ELOOP) {
    return Status::InvalidArgument(file.string() + ": a link; it must be "
                                   "a regular file in the folder");
  }
  if (fd < 0) return ErrnoStatus(file, errno);
  struct stat info;
  bool regular = ::fstat(fd, &info) == 0 && S_ISREG(info.st_mode);
  if (!regular || info.st_size > kMaxBytes) {
    ::close(fd);
    return Status::InvalidArgument(
        file.string() + (regular ? ": larger than 1 MiB"
                                 : ": not a regular file"));
  }
  std::string text(static_cast<size_t>(info.st_size), '\0');
  ssize_t got = ::pread(fd, text.data(), text.size(), 0);
  int error = errno;
  ::close(fd);
  if (got < 0) return ErrnoStatus(file, error);
  text.resize(static_cast<size_t>(got));
  return IgnoreRules::Parse(text);
}

// Folders a walk spreads over the cores. A tree with fewer at its top
// (dataset/ holding train/ and test/) is listed a level deeper, up to
// kMaxListedLevels, so that one big folder is not walked on one core.
constexpr size_t kFoldersPerCore = 8;
constexpr int kMaxListedLevels = 4;

// A folder's own entries, sorted, and its subfolders: each walked whole
// on one core (`whole`) or listed the same way in turn (`listed`).
struct Listing {
  std::vector<WalkedEntry> entries;
  std::vector<Deferred> folders;
  std::vector<std::unique_ptr<Listing>> listed;  // By folder; null: whole.
  std::vector<std::vector<WalkedEntry>> whole;   // By folder.
};

// Appends `listing`'s entries and its folders' contents to `parts` in
// path order. All of folder D's paths start with "D/", so they sit where
// "D/" sorts among its siblings; "D/" may sort after a sibling "D-x"
// even though "D" sorts before it, hence the order on "D/".
void Order(Listing& listing, WalkedParts* parts) {
  size_t count = listing.folders.size();
  std::vector<size_t> order(count);
  std::vector<std::string> keys(count);
  for (size_t i = 0; i < count; ++i) {
    order[i] = i;
    keys[i] = listing.folders[i].prefix + "/";
  }
  std::sort(order.begin(), order.end(),
            [&keys](size_t a, size_t b) { return keys[a] < keys[b]; });
  std::vector<WalkedEntry>& entries = listing.entries;
  std::vector<WalkedEntry> run;  // Entries between two folders' contents.
  size_t next = 0;
  auto flush = [&] {
    if (!run.empty()) parts->push_back(std::move(run));
    run.clear();
  };
  for (size_t i : order) {
    while (next < entries.size() && entries[next].entry.path < keys[i]) {
      run.push_back(std::move(entries[next++]));
    }
    flush();
    if (listing.listed[i] != nullptr) {
      Order(*listing.listed[i], parts);
    } else if (!listing.whole[i].empty()) {
      parts->push_back(std::move(listing.whole[i]));
    }
  }
  std::move(entries.begin() + static_cast<std::ptrdiff_t>(next),
            entries.end(), std::back_inserter(run));
  flush();
}

}  // namespace

Result<WalkedParts> WalkFolderParts(const fs::path& root,
                                    const std::vector<std::string>& skip,
                                    WalkStat stat,
                                    const WalkedPartVisitor& on_part) {
  ASSIGN_OR_RETURN(IgnoreRules rules, ReadIgnoreRules(root));

  // The top level on this thread; its folders are then listed, level by
  // level on all cores, until there are enough to spread over them.
  Listing top;
  int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(root, errno);
  int root_fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  Status listed = root_fd < 0 ? ErrnoStatus(root, errno) : Status::Ok();
  Walker top_walker{&rules, &skip, &top.entries, &top.folders, stat};
  Status walked_top = top_walker.Walk(fd, root, "");
  if (listed.ok()) listed = walked_top;
  if (!listed.ok()) {
    if (root_fd >= 0) ::close(root_fd);
    return listed;
  }

  // A folder to walk: the listing holding it and its index there.
  struct Job {
    Listing* listing;
    size_t folder;
  };
  auto jobs_of = [](const std::vector<Listing*>& listings) {
    std::vector<Job> jobs;
    for (Listing* listing : listings) {
      listing->listed.resize(listing->folders.size());
      listing->whole.resize(listing->folders.size());
      for (size_t i = 0; i < listing->folders.size(); ++i) {
        jobs.push_back({listing, i});
      }
    }
    return jobs;
  };
  // Each list is sorted (and visited) on the core that made it.
  auto walk = [&](const Job& job, bool whole) -> Status {
    const Deferred& folder = job.listing->folders[job.folder];
    // No link followed on the way: the walk never leaves the folder.
    ASSIGN_OR_RETURN(int child,
                     OpenWithoutLinks(root_fd, folder.prefix,
                                      O_RDONLY | O_DIRECTORY,
                                      folder.absolute.native()));
    std::vector<WalkedEntry>* out = nullptr;
    std::vector<Deferred>* deeper = nullptr;
    if (whole) {
      out = &job.listing->whole[job.folder];
    } else {
      job.listing->listed[job.folder] = std::make_unique<Listing>();
      out = &job.listing->listed[job.folder]->entries;
      deeper = &job.listing->listed[job.folder]->folders;
    }
    Walker walker{&rules, &skip, out, deeper, stat};
    RETURN_IF_ERROR(walker.Walk(child, folder.absolute, folder.prefix));
    SortWalked(out);
    return on_part ? on_part(out) : Status::Ok();
  };

  size_t wanted = kFoldersPerCore *
                  std::max(1u, std::thread::hardware_concurrency());
  std::vector<Listing*> frontier = {&top};
  std::vector<Job> jobs = jobs_of(frontier);
  Status status = Status::Ok();
  for (int level = 1; level < kMaxListedLevels && status.ok() &&
                      !jobs.empty() && jobs.size() < wanted;
       ++level) {
    status = ParallelFor(jobs.size(), [&](size_t k) {
      return walk(jobs[k], false);
    });
    frontier.clear();
    for (const Job& job : jobs) {
      if (job.listing->listed[job.folder] != nullptr) {
        frontier.push_back(job.listing->listed[job.folder].get());
      }
    }
    jobs = jobs_of(frontier);
  }
  if (status.ok()) {
    status = ParallelFor(jobs.size(), [&](size_t k) {
      return walk(jobs[k], true);
    });
  }
  ::close(root_fd);
  RETURN_IF_ERROR(status);
  SortWalked(&top.entries);
  if (on_part) RETURN_IF_ERROR(on_part(&top.entries));
  WalkedParts parts;
  Order(top, &parts);
  return parts;
}

Result<std::vector<WalkedEntry>> WalkFolder(
    const fs::path& root, const std::vector<std::string>& skip,
    WalkStat stat) {
  ASSIGN_OR_RETURN(WalkedParts parts,
                   WalkFolderParts(root, skip, stat, nullptr));
  std::vector<WalkedEntry> entries;
  for (std::vector<WalkedEntry>& part : parts) {
    std::move(part.begin(), part.end(), std::back_inserter(entries));
  }
  return entries;
}

}  // namespace lockstep::data
