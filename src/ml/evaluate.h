// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// `lockstep ml evaluate`: predicts a test CSV with a trained model and
// computes binary-classification metrics, written as canonical JSON so the
// same model and data always give the same bytes.

#ifndef LOCKSTEP_ML_EVALUATE_H_
#define LOCKSTEP_ML_EVALUATE_H_

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace lockstep::ml {

// A class is predicted positive when its probability is at least this.
inline constexpr double kDecisionThreshold = 0.5;

struct BinaryMetrics {
  uint64_t n = 0;
  uint64_t tp = 0;
  uint64_t fp = 0;
  uint64_t tn = 0;
  uint64_t fn = 0;
  double accuracy = 0;
  double precision = 0;  // 0 when nothing is predicted positive.
  double recall = 0;     // 0 when there are no positives.
  double f1 = 0;         // 0 when precision + recall is 0.
  double log_loss = 0;   // Probabilities clipped to [1e-15, 1 - 1e-15].
  std::optional<double> roc_auc;  // Unset when only one class is present.
};

// Computes the metrics of `probabilities` (of the positive class) against
// 0/1 `labels`. ROC AUC is the Mann-Whitney statistic with tied scores
// given their average rank. REQUIRES: equal, non-zero sizes.
BinaryMetrics ComputeMetrics(const std::vector<float>& labels,
                             const std::vector<double>& probabilities);

// The metrics as a JSON object (roc_auc null when unset).
nlohmann::json MetricsToJson(const BinaryMetrics& metrics);

struct EvaluateOptions {
  std::string label_column;    // Empty: the one the model was trained on.
  std::string positive_label;  // Empty: the one the model was trained on.
};

// The result of EvaluateModel: the metrics and the canonical JSON bytes
// to write (with the label names and the XGBoost version).
struct Evaluation {
  BinaryMetrics metrics;
  std::string json;
};

// Loads the model at `model_path`, predicts the CSV at `test_path` and
// computes the metrics. The test CSV must hold the model's features.
Result<Evaluation> EvaluateModel(const std::filesystem::path& model_path,
                                 const std::filesystem::path& test_path,
                                 const EvaluateOptions& options);

}  // namespace lockstep::ml

#endif  // LOCKSTEP_ML_EVALUATE_H_
