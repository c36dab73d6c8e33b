// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "core/dynamic_library.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace lockstep {

Result<DynamicLibrary> DynamicLibrary::Open(std::string_view soname,
                                            std::string_view package) {
  std::string name(soname);
  // RTLD_NOW: a symbol the library itself lacks fails here, with a
  // message, not later inside a call. RTLD_LOCAL: its symbols do not leak
  // into later lookups by other libraries.
  void* handle = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* error = dlerror();
    return Status::FailedPrecondition(fmt::format(
        "cannot load {} ({}); install the Debian package {}", name,
        error ? error : "unknown error", package));
  }
  return DynamicLibrary(handle, std::move(name), std::string(package));
}

void* DynamicLibrary::Find(const char* name) {
  void* symbol = dlsym(handle_, name);
  if (symbol == nullptr) missing_.emplace_back(name);
  return symbol;
}

Status DynamicLibrary::status() const {
  if (missing_.empty()) return Status::Ok();
  return Status::FailedPrecondition(fmt::format(
      "{} lacks {}; install the version of the Debian package {} that "
      "Lockstep was built against",
      soname_, fmt::join(missing_, ", "), package_));
}

void DieUnloadedLibrary(const Status& status) {
  std::fprintf(stderr, "lockstep: fatal: library used before it loaded: %s\n",
               status.ToString().c_str());
  std::abort();
}

}  // namespace lockstep
