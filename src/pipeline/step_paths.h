// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// The names and paths that become files in a step's folder: input and
// output names (inputs/NAME, outputs/NAME), code paths and declared
// environment variables. A pipeline file and a manifest given to
// `reproduce` are both checked with these same functions, and the
// executor checks again before it writes or moves anything, so no name
// can reach a file outside the step folder.

#ifndef LOCKSTEP_PIPELINE_STEP_PATHS_H_
#define LOCKSTEP_PIPELINE_STEP_PATHS_H_

#include <cstddef>
#include <set>
#include <string>
#include <string_view>

#include "core/status.h"

namespace lockstep::pipeline {

// The folders of a step's own layout. Code may not land in them: a code
// file at inputs/x or outputs/y would replace an input or fake an output.
const std::set<std::string>& StepLayoutFolders();

// Names become path components, and Linux file systems take at most 255
// bytes in one (NAME_MAX). Past that a run failed with "File name too
// long" and no line, after `validate` had passed the file (found by a
// tester), so the limits below are checked where names are written.
inline constexpr size_t kMaxFileNameBytes = 255;

// Input and output names are the files inputs/NAME and outputs/NAME.
inline constexpr size_t kMaxPortNameBytes = kMaxFileNameBytes;

// A step runs in the work folder NAME-XXXXXXXXXXXXXXXX (the executor's
// MakeTempDirectory adds 16 hex digits to NAME-), where NAME is a step
// record name (IsStepRecordName): an iteration of a for_each: step is
// NAME[N], N of up to 9 digits. So a record name takes 238 bytes, and a
// step name, which may gain a for_each: and its [N], 227.
inline constexpr size_t kMaxStepRecordNameBytes =
    kMaxFileNameBytes - std::string_view("-0123456789abcdef").size();
inline constexpr size_t kMaxStepNameBytes =
    kMaxStepRecordNameBytes - std::string_view("[999999999]").size();

// Why `name`, a `what` name ("step", "output", ...) limited to `limit`
// bytes as the file name `becomes`, is too long, or "" when it fits:
// "step name 'ssss...' is 240 characters; at most 227 fit (...)".
std::string NameLengthProblem(const std::string& what,
                              const std::string& name, size_t limit,
                              const std::string& becomes);

// NameLengthProblem of a step name and of an input or output name.
std::string StepNameLengthProblem(const std::string& name);
std::string PortNameLengthProblem(const std::string& what,
                                  const std::string& name);

// Letters, digits, `_` and `-`, at least one: step, input and output
// names. No `/`, `.` or `..`, so `inputs/NAME` is always one entry of
// inputs/.
bool IsSimpleName(const std::string& name);

// A step's name as recorded in a manifest: a simple name, or
// NAME[INDEX] for an iteration of a for_each: step.
bool IsStepRecordName(const std::string& name);

// [A-Za-z_][A-Za-z0-9_]*: an environment variable name.
bool IsEnvName(const std::string& name);

// Why the host variable `name` may not pass through a step's env:, or ""
// when it may. PATH and the dynamic loader's LD_PRELOAD, LD_LIBRARY_PATH
// and LD_AUDIT choose which program or library code runs, while the key
// covers only the program found on the fixed PATH and the code: files,
// so editing the code they pick would never re-run the step. HOME,
// TMPDIR, LOCKSTEP_STEP and LOCKSTEP_SEED are Lockstep's to set for each
// step: a host value would point outside the step's private folder or
// name another step (an unset one blanked them).
std::string RefusedEnvReason(const std::string& name);

// Why the code path `path` (relative to the pipeline folder, and so to
// the step folder) cannot be laid out, or Ok: it must be relative, stay
// inside the folder after lexical normalisation, and not start with a
// layout folder. InvalidArgument "code path PATH: REASON".
Status CheckCodePath(const std::string& path);

}  // namespace lockstep::pipeline

#endif  // LOCKSTEP_PIPELINE_STEP_PATHS_H_
