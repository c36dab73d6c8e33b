// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "ml/xgboost_handles.h"

#include <cmath>

#include <fmt/core.h>

namespace lockstep::ml {

Status XgbStatus(int result, std::string_view what, StatusCode code) {
  if (result == 0) return Status::Ok();
  std::string message = XGBGetLastError();
  message = message.substr(0, message.find('\n'));
  // XGBoost prefixes "[hh:mm:ss] file:line: "; the time is noise here.
  if (message.starts_with("[")) {
    size_t close = message.find("] ");
    if (close != std::string::npos) message = message.substr(close + 2);
  }
  return Status(code, fmt::format("{}: {}", what, message));
}

Result<DMatrix> MakeDMatrix(const Dataset& dataset, int nthread) {
  DMatrixHandle handle = nullptr;
  // NaN marks a missing value; LoadDataset never produces one.
  RETURN_IF_ERROR(XgbStatus(
      XGDMatrixCreateFromMat_omp(dataset.features.data(), dataset.rows,
                                 dataset.columns(), std::nanf(""), &handle,
                                 nthread),
      "XGBoost could not build the feature matrix"));
  DMatrix matrix(handle);
  RETURN_IF_ERROR(XgbStatus(
      XGDMatrixSetFloatInfo(handle, "label", dataset.labels.data(),
                            dataset.labels.size()),
      "XGBoost could not set the labels"));
  return matrix;
}

Result<Booster> MakeBooster(DMatrixHandle matrix) {
  BoosterHandle handle = nullptr;
  const DMatrixHandle matrices[] = {matrix};
  RETURN_IF_ERROR(XgbStatus(XGBoosterCreate(matrices, matrix ? 1 : 0, &handle),
                            "XGBoost could not create a booster"));
  return Booster(handle);
}

}  // namespace lockstep::ml
