// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Tests for core/dynamic_library.h: a machine without an optional library
// must get an error that says what to install (exit 5), not a crash.

#include "core/dynamic_library.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace lockstep {
namespace {

bool Contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TEST(DynamicLibraryTest, MissingLibraryNamesItAndItsPackage) {
  Result<DynamicLibrary> library =
      DynamicLibrary::Open("liblockstep-absent.so.7", "liblockstep-absent7");
  ASSERT_FALSE(library.ok());
  const Status& status = library.status();
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(status.message(), "cannot load liblockstep-absent.so.7"))
      << status.message();
  EXPECT_TRUE(Contains(status.message(),
                       "install the Debian package liblockstep-absent7"))
      << status.message();
}

TEST(DynamicLibraryTest, BindsAFunctionThatWorks) {
  Result<DynamicLibrary> library = DynamicLibrary::Open("libm.so.6", "libc6");
  ASSERT_TRUE(library.ok()) << library.status().ToString();
  double (*cosine)(double) = nullptr;
  library->Bind(cosine, "cos");
  ASSERT_TRUE(library->status().ok()) << library->status().ToString();
  ASSERT_NE(cosine, nullptr);
  EXPECT_EQ(cosine(0.0), 1.0);
}

TEST(DynamicLibraryTest, MissingSymbolsAreAllNamed) {
  Result<DynamicLibrary> library = DynamicLibrary::Open("libm.so.6", "libc6");
  ASSERT_TRUE(library.ok());
  void (*first)() = nullptr;
  void (*second)() = nullptr;
  double (*cosine)(double) = nullptr;
  library->Bind(first, "lockstep_no_such_function");
  library->Bind(cosine, "cos");
  library->Bind(second, "lockstep_nor_this");
  const Status status = library->status();
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(first, nullptr);
  EXPECT_NE(cosine, nullptr);
  EXPECT_TRUE(Contains(status.message(), "libm.so.6 lacks "
                                         "lockstep_no_such_function, "
                                         "lockstep_nor_this"))
      << status.message();
  EXPECT_TRUE(Contains(status.message(), "libc6")) << status.message();
}

TEST(DynamicLibraryDeathTest, UnloadedTableEndsTheProcessWithItsError) {
  struct Api {
    int (*function)();
  };
  Result<const Api*> loaded = Status::FailedPrecondition("no libfoo");
  EXPECT_DEATH(RequireLoaded(loaded), "library used before it loaded.*libfoo");
}

}  // namespace
}  // namespace lockstep
