// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "ml/xgboost_handles.h"

#include <cmath>

#include <fmt/core.h>

#include "core/dynamic_library.h"
#include "ml/train.h"

namespace lockstep::ml {

namespace {

Result<XgboostApi> BindXgboost() {
  ASSIGN_OR_RETURN(DynamicLibrary library,
                   DynamicLibrary::Open("libxgboost.so.0", "libxgboost0"));
  XgboostApi api;
  library.Bind(api.get_last_error, "XGBGetLastError");
  library.Bind(api.version, "XGBoostVersion");
  library.Bind(api.dmatrix_create_from_mat_omp, "XGDMatrixCreateFromMat_omp");
  library.Bind(api.dmatrix_set_float_info, "XGDMatrixSetFloatInfo");
  library.Bind(api.dmatrix_free, "XGDMatrixFree");
  library.Bind(api.booster_create, "XGBoosterCreate");
  library.Bind(api.booster_free, "XGBoosterFree");
  library.Bind(api.booster_set_param, "XGBoosterSetParam");
  library.Bind(api.booster_update_one_iter, "XGBoosterUpdateOneIter");
  library.Bind(api.booster_save_json_config, "XGBoosterSaveJsonConfig");
  library.Bind(api.booster_save_model_to_buffer,
               "XGBoosterSaveModelToBuffer");
  library.Bind(api.booster_load_model_from_buffer,
               "XGBoosterLoadModelFromBuffer");
  library.Bind(api.booster_get_attr, "XGBoosterGetAttr");
  library.Bind(api.booster_set_attr, "XGBoosterSetAttr");
  library.Bind(api.booster_predict, "XGBoosterPredict");
  RETURN_IF_ERROR(library.status());
  return api;
}

// Cache keys and manifests record the version from the headers, so that
// `lockstep run` need not open XGBoost; a model is only ever made by the
// library of that version.
Status CheckVersion(const XgboostApi& api) {
  int major = 0;
  int minor = 0;
  int patch = 0;
  api.version(&major, &minor, &patch);
  std::string loaded = fmt::format("{}.{}.{}", major, minor, patch);
  if (loaded == XgboostVersion()) return Status::Ok();
  return Status::FailedPrecondition(fmt::format(
      "libxgboost.so.0 is XGBoost {} but Lockstep was built against {}; "
      "rebuild Lockstep or install that version of libxgboost0",
      loaded, XgboostVersion()));
}

Result<XgboostApi> BindCheckedXgboost() {
  ASSIGN_OR_RETURN(XgboostApi api, BindXgboost());
  RETURN_IF_ERROR(CheckVersion(api));
  return api;
}

}  // namespace

Result<const XgboostApi*> LoadXgboost() {
  return LoadOnce<XgboostApi, BindCheckedXgboost>();
}

const XgboostApi& Xgb() { return RequireLoaded(LoadXgboost()); }

Status XgbStatus(int result, std::string_view what, StatusCode code) {
  if (result == 0) return Status::Ok();
  std::string message = Xgb().get_last_error();
  message = message.substr(0, message.find('\n'));
  // XGBoost prefixes "[hh:mm:ss] file:line: "; the time is noise here.
  if (message.starts_with("[")) {
    size_t close = message.find("] ");
    if (close != std::string::npos) message = message.substr(close + 2);
  }
  return Status(code, fmt::format("{}: {}", what, message));
}

Result<DMatrix> MakeDMatrix(const Dataset& dataset, int nthread) {
  ASSIGN_OR_RETURN(const XgboostApi* xgb, LoadXgboost());
  DMatrixHandle handle = nullptr;
  // NaN marks a missing value; LoadDataset never produces one.
  RETURN_IF_ERROR(XgbStatus(
      xgb->dmatrix_create_from_mat_omp(dataset.features.data(), dataset.rows,
                                       dataset.columns(), std::nanf(""),
                                       &handle, nthread),
      "XGBoost could not build the feature matrix"));
  DMatrix matrix(handle);
  RETURN_IF_ERROR(XgbStatus(
      xgb->dmatrix_set_float_info(handle, "label", dataset.labels.data(),
                                  dataset.labels.size()),
      "XGBoost could not set the labels"));
  return matrix;
}

Result<Booster> MakeBooster(DMatrixHandle matrix) {
  ASSIGN_OR_RETURN(const XgboostApi* xgb, LoadXgboost());
  BoosterHandle handle = nullptr;
  const DMatrixHandle matrices[] = {matrix};
  RETURN_IF_ERROR(
      XgbStatus(xgb->booster_create(matrices, matrix ? 1 : 0, &handle),
                "XGBoost could not create a booster"));
  return Booster(handle);
}

}  // namespace lockstep::ml
