// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Owning wrappers for XGBoost C API handles and the translation of its
// error convention (non-zero return + XGBGetLastError) into Status. Only
// the ml module includes this.

#ifndef LOCKSTEP_ML_XGBOOST_HANDLES_H_
#define LOCKSTEP_ML_XGBOOST_HANDLES_H_

#include <memory>
#include <string>
#include <string_view>

#include <xgboost/c_api.h>

#include "core/status.h"
#include "ml/dataset.h"

namespace lockstep::ml {

struct DMatrixDeleter {
  void operator()(void* handle) const { XGDMatrixFree(handle); }
};
struct BoosterDeleter {
  void operator()(void* handle) const { XGBoosterFree(handle); }
};
using DMatrix = std::unique_ptr<void, DMatrixDeleter>;
using Booster = std::unique_ptr<void, BoosterDeleter>;

// Returns OK for `result` 0, else a Status of `code` with `what` and the
// first line of XGBoost's last error message.
Status XgbStatus(int result, std::string_view what,
                 StatusCode code = StatusCode::kInternal);

// Builds a DMatrix over the dataset's features and labels, using up to
// `nthread` threads (the matrix is the same for any thread count).
Result<DMatrix> MakeDMatrix(const Dataset& dataset, int nthread);

// Creates a booster for `matrix` (may be null for a model to be loaded).
Result<Booster> MakeBooster(DMatrixHandle matrix);

}  // namespace lockstep::ml

#endif  // LOCKSTEP_ML_XGBOOST_HANDLES_H_
