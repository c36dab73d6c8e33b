// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Fuzzes the tree blob reader (data/tree_digest.h) and the .lockstepignore
// parser: any bytes must give a tree or an InvalidArgument, never a crash,
// and a tree that parses must re-encode to the same bytes.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "data/tree_digest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto tree = lockstep::data::DecodeTree(bytes);
  if (tree.ok() && lockstep::data::EncodeTree(*tree) != bytes) {
    std::abort();
  }
  auto rules = lockstep::data::IgnoreRules::Parse(bytes);
  (void)rules.Ignored(bytes.substr(0, 64), size % 2 == 0);
  return 0;
}
