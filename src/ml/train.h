// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// `lockstep ml train`: gradient-boosted trees through XGBoost's C API. The
// model is saved as XGBoost JSON, whose bytes depend only on the data and
// the parameters: nthread defaults to 1 so they never depend on the
// machine's core count, and nothing reads the clock.

#ifndef LOCKSTEP_ML_TRAIN_H_
#define LOCKSTEP_ML_TRAIN_H_

#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "ml/dataset.h"

namespace lockstep::ml {

// Parameters as given by the user, in order: name and value text. Besides
// n_estimators (the number of boosting rounds) every name goes to
// XGBoosterSetParam, after the defaults, so a user value wins.
using TrainParams = std::vector<std::pair<std::string, std::string>>;

// The defaults Lockstep sets before the user's parameters.
TrainParams DefaultTrainParams();

// Trains on `dataset` and returns the model as XGBoost JSON bytes. The
// model also records the label column's name, the positive label and the
// feature names as attributes, so evaluation can check its input.
// InvalidArgument for a parameter XGBoost rejects or does not know.
Result<std::string> TrainModel(const Dataset& dataset,
                               const std::string& label_column,
                               const TrainParams& params);

// The XGBoost version Lockstep was built against and will load (see
// LoadXgboost), "major.minor.patch", for cache keys and manifests.
std::string XgboostVersion();

}  // namespace lockstep::ml

#endif  // LOCKSTEP_ML_TRAIN_H_
