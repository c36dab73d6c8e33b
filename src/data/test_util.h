// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Helpers for the data module's tests: files written byte for byte, and
// digests computed by an outside tool (coreutils' sha256sum), never by the
// code under test.

#ifndef LOCKSTEP_DATA_TEST_UTIL_H_
#define LOCKSTEP_DATA_TEST_UTIL_H_

#include <stdio.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace lockstep::data::testing {

namespace fs = std::filesystem;

inline void WriteBytes(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// Output of a shell command, trailing newline removed.
inline std::string Shell(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
    out.append(buffer, n);
  }
  ::pclose(pipe);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// "sha256:<hex>" of a file, as coreutils computes it.
inline std::string Sha256Sum(const fs::path& path) {
  return "sha256:" +
         Shell("sha256sum '" + path.string() + "' | cut -d' ' -f1");
}

}  // namespace lockstep::data::testing

#endif  // LOCKSTEP_DATA_TEST_UTIL_H_
