// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "store/tar.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/files.h"
#include "store/libarchive_api.h"

namespace lockstep::store {

namespace fs = std::filesystem;

namespace {

struct ArchiveWriteCloser {
  void operator()(archive* a) const { Libarchive().write_free(a); }
};
struct ArchiveReadCloser {
  void operator()(archive* a) const { Libarchive().read_free(a); }
};
struct EntryFreer {
  void operator()(archive_entry* e) const { Libarchive().entry_free(e); }
};

Status ArchiveError(archive* a, const std::string& what) {
  const char* message = Libarchive().error_string(a);
  return Status::Internal(what + ": " +
                          (message != nullptr ? message : "libarchive"));
}

// Every entry under `folder`, relative, sorted bytewise so that the order
// never depends on the file system.
Result<std::vector<std::string>> SortedEntries(const fs::path& folder) {
  std::vector<std::string> names;
  std::error_code error;
  auto it = fs::recursive_directory_iterator(folder, error);
  for (; !error && it != fs::recursive_directory_iterator();
       it.increment(error)) {
    names.push_back(it->path().lexically_relative(folder).generic_string());
  }
  if (error) {
    return Status::Internal("cannot list " + folder.string() + ": " +
                            error.message());
  }
  std::sort(names.begin(), names.end());
  return names;
}

Status WriteFileData(archive* a, const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status::Internal("cannot read " + path.string());
  }
  std::vector<char> buffer(1 << 16);
  while (true) {
    ssize_t got = ::read(fd, buffer.data(), buffer.size());
    if (got < 0) {
      ::close(fd);
      return Status::Internal("cannot read " + path.string());
    }
    if (got == 0) {
      break;
    }
    if (Libarchive().write_data(a, buffer.data(), got) != got) {
      ::close(fd);
      return ArchiveError(a, "cannot archive " + path.string());
    }
  }
  ::close(fd);
  return Status::Ok();
}

// Fills `entry` for the item at `path` named `name` in the archive.
Status DescribeEntry(const fs::path& path, const std::string& name,
                     archive_entry* entry) {
  struct stat info;
  if (::lstat(path.c_str(), &info) != 0) {
    // Why, too: a path past PATH_MAX that a step made reads here.
    return Status::Internal("cannot stat " + path.string() + ": " +
                            std::strerror(errno));
  }
  Libarchive().entry_set_pathname(entry, name.c_str());
  Libarchive().entry_set_mtime(entry, 0, 0);
  Libarchive().entry_set_uid(entry, 0);
  Libarchive().entry_set_gid(entry, 0);
  bool executable = (info.st_mode & S_IXUSR) != 0;
  if (S_ISDIR(info.st_mode)) {
    Libarchive().entry_set_filetype(entry, AE_IFDIR);
    Libarchive().entry_set_perm(entry, 0755);
  } else if (S_ISREG(info.st_mode)) {
    Libarchive().entry_set_filetype(entry, AE_IFREG);
    Libarchive().entry_set_perm(entry, executable ? 0755 : 0644);
    Libarchive().entry_set_size(entry, info.st_size);
  } else if (S_ISLNK(info.st_mode)) {
    std::error_code error;
    fs::path target = fs::read_symlink(path, error);
    if (error) {
      return Status::Internal("cannot read link " + path.string());
    }
    Libarchive().entry_set_filetype(entry, AE_IFLNK);
    Libarchive().entry_set_perm(entry, 0777);
    Libarchive().entry_set_symlink(entry, target.c_str());
  } else {
    return Status::InvalidArgument(
        "'" + name + "' is not a file, folder or symlink; a folder output "
        "holds only those");
  }
  return Status::Ok();
}

// Whether any name or symlink target under `folder` has a byte above
// 0x7f. libarchive converts such names to UTF-8 for pax headers and fails
// in the C locale (and on bytes that are not UTF-8 at all); names are
// exact bytes, so those archives are written with hdrcharset=BINARY.
// All-ASCII folders keep their archive bytes as before.
bool HasNonAsciiNames(const fs::path& folder,
                      const std::vector<std::string>& names) {
  auto non_ascii = [](const std::string& text) {
    for (unsigned char c : text) {
      if (c > 0x7f) return true;
    }
    return false;
  };
  for (const std::string& name : names) {
    std::error_code error;
    if (non_ascii(name) ||
        (fs::is_symlink(fs::symlink_status(folder / name, error)) &&
         non_ascii(fs::read_symlink(folder / name, error).string()))) {
      return true;
    }
  }
  return false;
}

}  // namespace

Status WriteReproducibleTar(const fs::path& folder,
                            const fs::path& archive_path) {
  RETURN_IF_ERROR(LoadLibarchive().status());
  ASSIGN_OR_RETURN(std::vector<std::string> names, SortedEntries(folder));
  std::unique_ptr<archive, ArchiveWriteCloser> a(Libarchive().write_new());
  // pax restricted: plain ustar headers unless a name is too long, and no
  // times or ids of the packing host in extended headers.
  Libarchive().write_set_format_pax_restricted(a.get());
  if (HasNonAsciiNames(folder, names) &&
      Libarchive().write_set_options(a.get(), "hdrcharset=BINARY") !=
          ARCHIVE_OK) {
    return ArchiveError(a.get(), "cannot store raw name bytes");
  }
  if (Libarchive().write_open_filename(a.get(), archive_path.c_str()) !=
      ARCHIVE_OK) {
    return ArchiveError(a.get(), "cannot create " + archive_path.string());
  }
  std::unique_ptr<archive_entry, EntryFreer> entry(Libarchive().entry_new());
  for (const std::string& name : names) {
    Libarchive().entry_clear(entry.get());
    fs::path path = folder / name;
    RETURN_IF_ERROR(DescribeEntry(path, name, entry.get()));
    if (Libarchive().write_header(a.get(), entry.get()) != ARCHIVE_OK) {
      return ArchiveError(a.get(), "cannot archive " + name);
    }
    if (Libarchive().entry_filetype(entry.get()) == AE_IFREG) {
      RETURN_IF_ERROR(WriteFileData(a.get(), path));
    }
  }
  if (Libarchive().write_close(a.get()) != ARCHIVE_OK) {
    return ArchiveError(a.get(), "cannot finish " + archive_path.string());
  }
  return Status::Ok();
}

Result<Digest> PackFolder(const fs::path& folder, BlobStore* blobs) {
  std::error_code error;
  fs::create_directories(blobs->TempDirectory(), error);
  ASSIGN_OR_RETURN(fs::path temp,
                   MakeTempDirectory(blobs->TempDirectory(), "tar-"));
  fs::path archive_path = temp / "folder.tar";
  Status written = WriteReproducibleTar(folder, archive_path);
  Result<Digest> digest = written.ok() ? blobs->AdoptFile(archive_path)
                                       : Result<Digest>(written);
  RemoveAllQuietly(temp);
  return digest;
}

namespace {

// A file holding a blob's bytes, for libarchive, which reads files: the
// loose blob itself, or for a packed one a verified copy under the
// store's tmp/, removed with this object. Folder archives are published
// loose (AdoptFile); only a pull that found the bytes already packed by
// a folder snapshot leaves one in a pack.
struct BlobFile {
  fs::path path;
  fs::path temp;
  ~BlobFile() {
    if (!temp.empty()) ::unlink(temp.c_str());
  }
};

Status FileOf(const BlobStore& blobs, const Digest& digest, BlobFile* file) {
  ASSIGN_OR_RETURN(BlobStore::Location where, blobs.Locate(digest));
  if (!where.packed) {
    file->path = where.file;
    return Status::Ok();
  }
  std::error_code error;
  fs::create_directories(blobs.TempDirectory(), error);
  file->temp = UniqueTempPath(blobs.TempDirectory(), "unpacked-");
  RETURN_IF_ERROR(blobs.CopyOut(digest, file->temp));
  file->path = file->temp;
  return Status::Ok();
}

}  // namespace

Status UnpackFolder(const BlobStore& blobs, const Digest& digest,
                    const fs::path& destination, bool read_only) {
  RETURN_IF_ERROR(LoadLibarchive().status());
  RETURN_IF_ERROR(blobs.Verify(digest));
  std::error_code error;
  if (!fs::create_directory(destination, error)) {
    return Status::Internal("cannot create " + destination.string());
  }
  std::unique_ptr<archive, ArchiveReadCloser> in(Libarchive().read_new());
  Libarchive().read_support_format_tar(in.get());
  BlobFile blob;
  RETURN_IF_ERROR(FileOf(blobs, digest, &blob));
  if (Libarchive().read_open_filename(in.get(), blob.path.c_str(),
                                      1 << 16) != ARCHIVE_OK) {
    return ArchiveError(in.get(), "cannot open folder " + digest.ToString());
  }
  std::vector<fs::path> folders;
  archive_entry* entry = nullptr;
  int result;
  while ((result = Libarchive().read_next_header(in.get(), &entry)) ==
         ARCHIVE_OK) {
    std::string name = Libarchive().entry_pathname(entry);
    fs::path relative(name);
    bool safe = !relative.is_absolute() && !name.empty();
    for (const fs::path& part : relative) {
      safe &= part != "..";
    }
    if (!safe) {
      return Status::DataLoss("folder " + digest.ToString() +
                              " holds an unsafe name '" + name + "'");
    }
    if (Libarchive().entry_hardlink(entry) != nullptr) {
      // Reproducible tars never hold hard links; refuse rather than guess.
      return Status::DataLoss("folder " + digest.ToString() +
                              " holds a hard link: " + name);
    }
    fs::path target = destination / relative;
    // Every parent must be a real folder made here, never a symlink.
    for (fs::path parent = target.parent_path(); parent != destination;
         parent = parent.parent_path()) {
      std::error_code link_error;
      if (fs::is_symlink(fs::symlink_status(parent, link_error))) {
        return Status::DataLoss("folder " + digest.ToString() +
                                " writes through the symlink " +
                                parent.string());
      }
    }
    fs::create_directories(target.parent_path(), error);
    mode_t type = Libarchive().entry_filetype(entry);
    bool executable = (Libarchive().entry_perm(entry) & S_IXUSR) != 0;
    if (type == AE_IFDIR) {
      fs::create_directories(target, error);
      folders.push_back(target);
    } else if (type == AE_IFLNK) {
      fs::create_symlink(Libarchive().entry_symlink(entry), target, error);
    } else if (type == AE_IFREG) {
      int fd = ::open(target.c_str(),
                      O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                      executable ? 0755 : 0644);
      if (fd < 0 ||
          Libarchive().read_data_into_fd(in.get(), fd) != ARCHIVE_OK) {
        if (fd >= 0) {
          ::close(fd);
        }
        return ArchiveError(in.get(), "cannot unpack " + name);
      }
      ::close(fd);
      if (read_only) {
        ::chmod(target.c_str(), executable ? 0555 : 0444);
      }
    } else {
      return Status::DataLoss("folder " + digest.ToString() +
                              " holds an entry of unknown type: " + name);
    }
    if (error) {
      return Status::Internal("cannot unpack " + name + ": " +
                              error.message());
    }
  }
  if (result != ARCHIVE_EOF) {
    return ArchiveError(in.get(), "folder " + digest.ToString() +
                                      " is not a readable tar");
  }
  if (read_only) {
    folders.push_back(destination);
    for (const fs::path& folder : folders) {
      ::chmod(folder.c_str(), 0555);
    }
  }
  return Status::Ok();
}

bool FolderEntry::SameContent(const FolderEntry& other) const {
  return kind == other.kind && executable == other.executable &&
         digest == other.digest && target == other.target;
}

Result<std::vector<FolderEntry>> ListFolder(const BlobStore& blobs,
                                            const Digest& digest) {
  RETURN_IF_ERROR(LoadLibarchive().status());
  RETURN_IF_ERROR(blobs.Verify(digest));
  std::unique_ptr<archive, ArchiveReadCloser> in(Libarchive().read_new());
  Libarchive().read_support_format_tar(in.get());
  BlobFile blob;
  RETURN_IF_ERROR(FileOf(blobs, digest, &blob));
  if (Libarchive().read_open_filename(in.get(), blob.path.c_str(),
                                      1 << 16) != ARCHIVE_OK) {
    return Status::DataLoss("folder " + digest.ToString() +
                            " is not a readable tar");
  }
  std::vector<FolderEntry> entries;
  archive_entry* entry = nullptr;
  int result;
  while ((result = Libarchive().read_next_header(in.get(), &entry)) ==
         ARCHIVE_OK) {
    FolderEntry listed;
    listed.path = Libarchive().entry_pathname(entry);
    // Folders may be written with a trailing '/'; names compare without.
    while (listed.path.size() > 1 && listed.path.back() == '/') {
      listed.path.pop_back();
    }
    listed.executable = (Libarchive().entry_perm(entry) & S_IXUSR) != 0;
    mode_t type = Libarchive().entry_filetype(entry);
    if (type == AE_IFDIR) {
      listed.kind = "folder";
    } else if (type == AE_IFLNK) {
      listed.kind = "symlink";
      listed.target = Libarchive().entry_symlink(entry);
    } else {
      listed.kind = "file";
      Sha256 hasher;
      const void* block = nullptr;
      size_t size = 0;
      la_int64_t offset = 0;
      int read;
      while ((read = Libarchive().read_data_block(in.get(), &block, &size,
                                                  &offset)) == ARCHIVE_OK) {
        hasher.Update(block, size);
      }
      if (read != ARCHIVE_EOF) {
        return Status::DataLoss("folder " + digest.ToString() +
                                ": cannot read " + listed.path);
      }
      listed.digest = hasher.Finish();
    }
    entries.push_back(std::move(listed));
  }
  if (result != ARCHIVE_EOF) {
    return Status::DataLoss("folder " + digest.ToString() +
                            " is not a readable tar");
  }
  return entries;
}

}  // namespace lockstep::store
