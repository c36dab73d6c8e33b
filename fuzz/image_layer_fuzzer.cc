// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// libFuzzer target for applying image layers (image/layer.h): any bytes,
// applied as two layers in a row (so whiteouts and links meet lower
// content), must apply or fail cleanly and never create anything outside
// the root: a canary folder beside the root must stay empty.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>

#include "core/files.h"
#include "image/layer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace fs = std::filesystem;
  static const fs::path dir =
      *lockstep::MakeTempDirectory(fs::temp_directory_path(), "layer-fuzz-");
  fs::path root = dir / "root";
  fs::path canary = dir / "canary";
  fs::create_directories(root);
  fs::create_directories(canary);
  fs::path layer = dir / "layer.tar";
  std::ofstream(layer, std::ios::binary)
      .write(reinterpret_cast<const char*>(data),
             static_cast<std::streamsize>(size));
  for (int pass = 0; pass < 2; ++pass) {
    (void)lockstep::image::ApplyLayer(layer, "sha256:fuzz", root);
  }
  if (!fs::is_empty(canary)) __builtin_trap();
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (name != "root" && name != "canary" && name != "layer.tar") {
      __builtin_trap();  // something landed beside the root
    }
  }
  lockstep::RemoveAllQuietly(root);
  return 0;
}
