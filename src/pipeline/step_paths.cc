// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "pipeline/step_paths.h"

#include <filesystem>
#include <regex>

#include "core/utf8.h"

namespace lockstep::pipeline {

const std::set<std::string>& StepLayoutFolders() {
  static const std::set<std::string> kFolders = {"inputs", "outputs", "tmp"};
  return kFolders;
}

bool IsSimpleName(const std::string& name) {
  static const std::regex kName("[A-Za-z0-9_-]+");
  return std::regex_match(name, kName);
}

std::string NameLengthProblem(const std::string& what,
                              const std::string& name, size_t limit,
                              const std::string& becomes) {
  if (name.size() <= limit) return "";
  // A name of thousands of characters is shown by its start.
  std::string shown = name.size() <= 40 ? name : name.substr(0, 20) + "...";
  return what + " name '" + shown + "' is " + std::to_string(name.size()) +
         " characters; at most " + std::to_string(limit) + " fit (it names " +
         becomes + ", and a file name takes at most " +
         std::to_string(kMaxFileNameBytes) + " bytes)";
}

std::string StepNameLengthProblem(const std::string& name) {
  return NameLengthProblem("step", name, kMaxStepNameBytes,
                           "the step's work folder NAME[N]-<16 hex "
                           "digits>");
}

std::string PortNameLengthProblem(const std::string& what,
                                  const std::string& name) {
  return NameLengthProblem(what, name, kMaxPortNameBytes,
                           "the file " + what + "s/NAME in the step folder");
}

bool IsStepRecordName(const std::string& name) {
  static const std::regex kRecord("[A-Za-z0-9_-]+(\\[[0-9]{1,9}\\])?");
  return std::regex_match(name, kRecord);
}

bool IsEnvName(const std::string& name) {
  static const std::regex kEnv("[A-Za-z_][A-Za-z0-9_]*");
  return std::regex_match(name, kEnv);
}

std::string RefusedEnvReason(const std::string& name) {
  if (name == "PATH") {
    return "env: 'PATH' is refused: a step's program is found on the "
           "fixed PATH, which the cache key covers; list the program in "
           "code: and run it by its relative path (./tool) instead";
  }
  if (name == "LD_PRELOAD" || name == "LD_LIBRARY_PATH" ||
      name == "LD_AUDIT") {
    return "env: '" + name + "' is refused: it makes the dynamic loader "
           "run library code the cache key does not cover; list the "
           "libraries in code: or use a pinned image (environment:)";
  }
  if (name == "HOME" || name == "TMPDIR") {
    return "env: '" + name + "' is refused: Lockstep sets it for each "
           "step to the step's private temporary folder";
  }
  if (name == "LOCKSTEP_STEP" || name == "LOCKSTEP_SEED") {
    return "env: '" + name + "' is refused: Lockstep sets it for each "
           "step (the step's name; the pipeline's seed param)";
  }
  return "";
}

Status CheckCodePath(const std::string& path) {
  auto refuse = [&](const std::string& reason) {
    return Status::InvalidArgument("code path " + path + ": " + reason);
  };
  if (path.empty()) {
    return refuse("empty (name a file or folder; `.` is the pipeline "
                  "folder)");
  }
  if (path.find('\0') != std::string::npos) {
    return refuse("contains a NUL byte");
  }
  // Code paths are keys of the manifest's and the cache key's JSON.
  if (!IsUtf8(path)) {
    return Status::InvalidArgument(
        "code path " + EscapeBytes(path) + ": the name is not UTF-8; "
        "Lockstep records code paths in UTF-8 JSON, so rename it");
  }
  std::filesystem::path normal =
      std::filesystem::path(path).lexically_normal();
  if (normal.is_absolute()) {
    return refuse("is absolute; code paths are relative to the pipeline "
                  "folder and are copied to the same path in the step "
                  "folder");
  }
  std::string first = normal.begin()->string();
  if (first == "..") {
    return refuse("leaves the pipeline folder; code is copied to the same "
                  "relative path in the step folder, which must stay "
                  "inside it");
  }
  if (StepLayoutFolders().contains(first)) {
    return refuse("is inside the step's " + first +
                  "/ folder, which Lockstep fills itself (declare inputs "
                  "and outputs instead, or move the code)");
  }
  return Status::Ok();
}

}  // namespace lockstep::pipeline
