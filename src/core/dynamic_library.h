// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Heavy optional C libraries (libgit2, libcurl, libpq, XGBoost, Graphviz,
// libarchive) are opened at run time with dlopen instead of being linked:
// the dynamic loader resolves every symbol of every linked library and of
// everything they pull in on each start, which made `lockstep --version`
// spend half its time in ld.so (docs/performance.md, "Process start-up").
// Each library's module keeps a struct of typed function pointers, filled
// once per process on the first command that needs it; a missing library
// or symbol is a FailedPrecondition (exit 5) naming the Debian package.

#ifndef LOCKSTEP_CORE_DYNAMIC_LIBRARY_H_
#define LOCKSTEP_CORE_DYNAMIC_LIBRARY_H_

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace lockstep {

class DynamicLibrary {
 public:
  // Opens `soname` (e.g. "libcurl.so.4") with dlopen(RTLD_NOW |
  // RTLD_LOCAL). `package` is the Debian package that ships it, named in
  // the error. The handle is never closed: the functions bound from it
  // stay valid for the life of the process.
  static Result<DynamicLibrary> Open(std::string_view soname,
                                     std::string_view package);

  // Sets `function` to the library's symbol `name`, or to null and
  // remembers the name for status().
  template <typename Function>
  void Bind(Function*& function, const char* name) {
    function = reinterpret_cast<Function*>(Find(name));
  }

  // OK when every Bind found its symbol; else FailedPrecondition naming
  // the library, the missing symbols and the package.
  Status status() const;

  const std::string& soname() const { return soname_; }

 private:
  DynamicLibrary(void* handle, std::string soname, std::string package)
      : handle_(handle),
        soname_(std::move(soname)),
        package_(std::move(package)) {}
  void* Find(const char* name);

  void* handle_;
  std::string soname_;
  std::string package_;
  std::vector<std::string> missing_;
};

// Ends the process with `status` on stderr. For a function table used
// before its module loaded it: a bug, not a user's missing package.
[[noreturn]] void DieUnloadedLibrary(const Status& status);

// The table `Bind` makes, built on the first call in this process (a
// function-local static, so concurrent first calls wait for one build);
// later calls return the same table or the same error. Each lazily
// loaded library's Load function is this, with its own Bind.
template <typename Api, Result<Api> (*Bind)()>
Result<const Api*> LoadOnce() {
  static const Result<Api> api = Bind();
  if (!api.ok()) return api.status();
  return &*api;
}

// The table in `loaded`, for code that only runs after a Load call has
// succeeded (say, the deleter of a handle the library made).
template <typename Api>
const Api& RequireLoaded(const Result<const Api*>& loaded) {
  if (!loaded.ok()) DieUnloadedLibrary(loaded.status());
  return **loaded;
}

}  // namespace lockstep

#endif  // LOCKSTEP_CORE_DYNAMIC_LIBRARY_H_
