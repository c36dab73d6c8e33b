// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "ml/evaluate.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "core/canonical_json.h"
#include "core/files.h"
#include "ml/dataset.h"
#include "ml/train.h"
#include "ml/xgboost_handles.h"

namespace lockstep::ml {
namespace {

using nlohmann::json;

double Ratio(uint64_t numerator, uint64_t denominator) {
  return denominator == 0 ? 0.0
                          : static_cast<double>(numerator) / denominator;
}

// Mann-Whitney U over average ranks: AUC = (R+ - P(P+1)/2) / (P N), where
// R+ is the rank sum of the positives.
std::optional<double> RocAuc(const std::vector<float>& labels,
                             const std::vector<double>& scores) {
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return scores[a] < scores[b]; });

  double positive_rank_sum = 0;
  uint64_t positives = 0;
  for (size_t i = 0; i < order.size();) {
    // A run of tied scores shares the mean of ranks i+1 .. j.
    size_t j = i;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) ++j;
    double average_rank = (static_cast<double>(i + 1) + j) / 2;
    for (size_t k = i; k < j; ++k) {
      if (labels[order[k]] == 1.0f) {
        positive_rank_sum += average_rank;
        ++positives;
      }
    }
    i = j;
  }
  const uint64_t negatives = labels.size() - positives;
  if (positives == 0 || negatives == 0) return std::nullopt;
  const double p = static_cast<double>(positives);
  return (positive_rank_sum - p * (p + 1) / 2) / (p * negatives);
}

Result<std::string> GetAttribute(BoosterHandle booster, const char* key,
                                 const std::string& source) {
  const char* value = nullptr;
  int found = 0;
  RETURN_IF_ERROR(
      XgbStatus(Xgb().booster_get_attr(booster, key, &value, &found),
                "XGBoost could not read a model attribute"));
  if (!found) {
    return Status::InvalidArgument(fmt::format(
        "{}: not a Lockstep model (no attribute {})", source, key));
  }
  return std::string(value);
}

Result<std::vector<double>> Predict(BoosterHandle booster,
                                    const Dataset& dataset) {
  ASSIGN_OR_RETURN(DMatrix matrix, MakeDMatrix(dataset, 1));
  bst_ulong length = 0;
  const float* output = nullptr;
  RETURN_IF_ERROR(XgbStatus(
      Xgb().booster_predict(booster, matrix.get(), 0, 0, 0, &length,
                            &output),
      "XGBoost could not predict"));
  if (length != dataset.rows) {
    return Status::Internal(fmt::format(
        "XGBoost returned {} predictions for {} rows", length, dataset.rows));
  }
  return std::vector<double>(output, output + length);
}

}  // namespace

BinaryMetrics ComputeMetrics(const std::vector<float>& labels,
                             const std::vector<double>& probabilities) {
  BinaryMetrics m;
  m.n = labels.size();
  double loss_sum = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    const bool actual = labels[i] == 1.0f;
    const bool predicted = probabilities[i] >= kDecisionThreshold;
    m.tp += actual && predicted;
    m.fp += !actual && predicted;
    m.tn += !actual && !predicted;
    m.fn += actual && !predicted;
    const double p = std::clamp(probabilities[i], 1e-15, 1 - 1e-15);
    loss_sum -= actual ? std::log(p) : std::log(1 - p);
  }

  m.accuracy = Ratio(m.tp + m.tn, m.n);
  m.precision = Ratio(m.tp, m.tp + m.fp);
  m.recall = Ratio(m.tp, m.tp + m.fn);
  const double sum = m.precision + m.recall;
  m.f1 = sum == 0 ? 0.0 : 2 * m.precision * m.recall / sum;
  m.log_loss = loss_sum / static_cast<double>(m.n);
  m.roc_auc = RocAuc(labels, probabilities);
  return m;
}

json MetricsToJson(const BinaryMetrics& m) {
  json out = {
      {"n", m.n},
      {"accuracy", m.accuracy},
      {"precision", m.precision},
      {"recall", m.recall},
      {"f1", m.f1},
      {"log_loss", m.log_loss},
      {"roc_auc", m.roc_auc ? json(*m.roc_auc) : json(nullptr)},
      {"threshold", kDecisionThreshold},
      {"confusion_matrix",
       {{"tp", m.tp}, {"fp", m.fp}, {"tn", m.tn}, {"fn", m.fn}}},
  };
  return out;
}

Result<Evaluation> EvaluateModel(const std::filesystem::path& model_path,
                                 const std::filesystem::path& test_path,
                                 const EvaluateOptions& options) {
  const std::string source = model_path.string();
  ASSIGN_OR_RETURN(std::string model, ReadFile(model_path));
  // Only JSON models (what TrainModel writes): XGBoost reads any other
  // bytes as its legacy binary format and trusts the lengths in them, so a
  // CSV given as the model asked for a 7 EiB string (ASan aborted).
  if (!model.starts_with("{\"")) {
    return Status::InvalidArgument(
        source + ": not an XGBoost model (expected the JSON model that "
                 "`lockstep ml train` writes)");
  }
  ASSIGN_OR_RETURN(Booster booster, MakeBooster(nullptr));
  RETURN_IF_ERROR(XgbStatus(
      Xgb().booster_load_model_from_buffer(booster.get(), model.data(),
                                           model.size()),
      source + ": not an XGBoost model", StatusCode::kInvalidArgument));
  RETURN_IF_ERROR(
      XgbStatus(Xgb().booster_set_param(booster.get(), "nthread", "1"),
                "XGBoost rejected nthread"));

  // The model says which column is the label and which value is positive;
  // a caller may restate them, but not contradict them.
  ASSIGN_OR_RETURN(std::string label_column,
                   GetAttribute(booster.get(), "lockstep_label_column",
                                source));
  ASSIGN_OR_RETURN(std::string positive,
                   GetAttribute(booster.get(), "lockstep_positive_label",
                                source));
  ASSIGN_OR_RETURN(std::string features_text,
                   GetAttribute(booster.get(), "lockstep_features", source));
  if (!options.label_column.empty() && options.label_column != label_column) {
    return Status::InvalidArgument(fmt::format(
        "{}: the model was trained with label column '{}', not '{}'", source,
        label_column, options.label_column));
  }
  if (!options.positive_label.empty() && options.positive_label != positive) {
    return Status::InvalidArgument(fmt::format(
        "{}: the model was trained with positive label '{}', not '{}'",
        source, positive, options.positive_label));
  }

  LabelOptions label_options{label_column, positive};
  ASSIGN_OR_RETURN(Dataset dataset, LoadDataset(test_path, label_options));
  json features = ParseJsonOrDiscarded(features_text);
  if (features != json(dataset.feature_names)) {
    return Status::InvalidArgument(fmt::format(
        "{}: its feature columns differ from those the model {} was trained "
        "on ({})",
        test_path.string(), source, features_text));
  }
  if (dataset.rows == 0) {
    return Status::InvalidArgument(test_path.string() + ": no rows");
  }

  ASSIGN_OR_RETURN(std::vector<double> probabilities,
                   Predict(booster.get(), dataset));
  Evaluation evaluation;
  evaluation.metrics = ComputeMetrics(dataset.labels, probabilities);
  json document = MetricsToJson(evaluation.metrics);
  document["label_column"] = label_column;
  document["positive_label"] = positive;
  document["xgboost_version"] = XgboostVersion();
  ASSIGN_OR_RETURN(evaluation.json, CanonicalJson(document));
  evaluation.json.push_back('\n');
  return evaluation;
}

}  // namespace lockstep::ml
