// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// The XGBoost C API, opened at run time (core/dynamic_library.h says
// why), owning wrappers for its handles and the translation of its error
// convention (non-zero return + XGBGetLastError) into Status. Only the ml
// module includes this.

#ifndef LOCKSTEP_ML_XGBOOST_HANDLES_H_
#define LOCKSTEP_ML_XGBOOST_HANDLES_H_

#include <memory>
#include <string>
#include <string_view>

#include <xgboost/c_api.h>

#include "core/status.h"
#include "ml/dataset.h"

namespace lockstep::ml {

// The XGBoost functions Lockstep calls, named after the C API without its
// XGB/XG prefix.
struct XgboostApi {
  decltype(&XGBGetLastError) get_last_error;
  decltype(&XGBoostVersion) version;
  decltype(&XGDMatrixCreateFromMat_omp) dmatrix_create_from_mat_omp;
  decltype(&XGDMatrixSetFloatInfo) dmatrix_set_float_info;
  decltype(&XGDMatrixFree) dmatrix_free;
  decltype(&XGBoosterCreate) booster_create;
  decltype(&XGBoosterFree) booster_free;
  decltype(&XGBoosterSetParam) booster_set_param;
  decltype(&XGBoosterUpdateOneIter) booster_update_one_iter;
  decltype(&XGBoosterSaveJsonConfig) booster_save_json_config;
  decltype(&XGBoosterSaveModelToBuffer) booster_save_model_to_buffer;
  decltype(&XGBoosterLoadModelFromBuffer) booster_load_model_from_buffer;
  decltype(&XGBoosterGetAttr) booster_get_attr;
  decltype(&XGBoosterSetAttr) booster_set_attr;
  decltype(&XGBoosterPredict) booster_predict;
};

// Opens libxgboost once per process. Fails (FailedPrecondition) when it is
// missing or is not the version Lockstep was built against, the one
// XgboostVersion() records in cache keys and manifests.
Result<const XgboostApi*> LoadXgboost();

// The table, for code holding a handle: MakeDMatrix and MakeBooster load
// it before making one.
const XgboostApi& Xgb();

struct DMatrixDeleter {
  void operator()(void* handle) const { Xgb().dmatrix_free(handle); }
};
struct BoosterDeleter {
  void operator()(void* handle) const { Xgb().booster_free(handle); }
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
