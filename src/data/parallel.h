// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// A minimal work queue for the data module: jobs numbered 0..count-1 are
// taken in order by one thread per core (the caller's thread is one of
// them), so many small files or folders keep every core busy.

#ifndef LOCKSTEP_DATA_PARALLEL_H_
#define LOCKSTEP_DATA_PARALLEL_H_

#include <cstddef>
#include <functional>

#include "core/status.h"

namespace lockstep::data {

// Runs `job(i)` for every i in [0, count) on all cores and returns the
// first error; after an error no new job starts.
Status ParallelFor(size_t count, const std::function<Status(size_t)>& job);

}  // namespace lockstep::data

#endif  // LOCKSTEP_DATA_PARALLEL_H_
