// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "data/vouched_trees.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "core/files.h"

namespace lockstep::data {

namespace fs = std::filesystem;

namespace {

// Enough for every folder one user snapshots into a store between two
// gc runs; the oldest are dropped first.
constexpr size_t kMaxTrees = 256;

// The file's lines: the stamp first, then tree digests (hex). Empty when
// the file is missing.
std::vector<std::string> Lines(const fs::path& file) {
  std::vector<std::string> lines;
  Result<std::string> text = ReadFile(file);
  if (!text.ok()) return lines;
  size_t start = 0;
  while (start < text->size()) {
    size_t end = text->find('\n', start);
    if (end == std::string::npos) break;  // A torn last line: ignored.
    lines.push_back(text->substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// The first line: the stamp and this boot's id. Neither the stamp nor
// this file is made durable, so after a crash (which also ends any gc
// that was running) nothing recorded before it vouches.
std::string Header(std::string_view stamp) {
  static const std::string boot = [] {
    Result<std::string> id = ReadFile("/proc/sys/kernel/random/boot_id");
    std::string text = id.ok() ? *id : "";
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return text;
  }();
  return std::string(stamp) + " " + boot;
}

// Replaces `file` by rename, without fsync (see Header).
Status WriteQuickly(const fs::path& file, const std::string& text) {
  std::error_code error;
  fs::create_directories(file.parent_path(), error);
  fs::path temp = file;
  temp += ".tmp-" + std::to_string(::getpid());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                  0644);
  if (fd < 0) return ErrnoStatus(temp, errno);
  Status status = WriteAll(fd, text, temp);
  ::close(fd);
  if (status.ok() && ::rename(temp.c_str(), file.c_str()) != 0) {
    status = ErrnoStatus(file, errno);
  }
  if (!status.ok()) ::unlink(temp.c_str());
  return status;
}

}  // namespace

bool IsVouched(const fs::path& file, const Digest& tree,
               std::string_view stamp) {
  if (stamp.empty()) return false;
  std::vector<std::string> lines = Lines(file);
  if (lines.empty() || lines[0] != Header(stamp)) return false;
  for (size_t i = 1; i < lines.size(); ++i) {
    if (lines[i] == tree.hex()) return true;
  }
  return false;
}

Status RecordVouched(const fs::path& file, const Digest& tree,
                     std::string_view stamp) {
  if (stamp.empty()) return Status::Ok();
  std::vector<std::string> lines = Lines(file);
  if (lines.empty() || lines[0] != Header(stamp)) lines = {Header(stamp)};
  for (size_t i = 1; i < lines.size(); ++i) {
    if (lines[i] == tree.hex()) return Status::Ok();
  }
  std::string text = lines[0] + "\n";
  size_t first = lines.size() > kMaxTrees ? lines.size() - kMaxTrees + 1 : 1;
  for (size_t i = first; i < lines.size(); ++i) text += lines[i] + "\n";
  text += tree.hex() + "\n";
  return WriteQuickly(file, text);
}

}  // namespace lockstep::data
