// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "ml/train.h"

#include <charconv>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <xgboost/version_config.h>

#include "core/canonical_json.h"
#include "ml/xgboost_handles.h"

namespace lockstep::ml {
namespace {

using nlohmann::json;

// Names XGBoost accepts but stores under another name in its config.
const std::pair<std::string_view, std::string_view> kAliases[] = {
    {"learning_rate", "eta"},     {"min_split_loss", "gamma"},
    {"reg_lambda", "lambda"},     {"reg_alpha", "alpha"},
};

// Names XGBoost accepts that its saved config does not list.
const std::string_view kUnlisted[] = {"verbosity", "eval_metric"};

Result<int> ParseRounds(const std::string& text) {
  int rounds = 0;
  auto [ptr, error] =
      std::from_chars(text.data(), text.data() + text.size(), rounds);
  if (error != std::errc() || ptr != text.data() + text.size() ||
      rounds < 1) {
    return Status::InvalidArgument(fmt::format(
        "--n_estimators must be a positive integer, not '{}'", text));
  }
  return rounds;
}

void CollectKeys(const json& value, std::set<std::string>* keys) {
  if (!value.is_object()) return;
  for (const auto& [key, child] : value.items()) {
    keys->insert(key);
    CollectKeys(child, keys);
  }
}

// XGBoost only warns about parameters it does not use; a typo should fail
// instead, so every name must appear in the booster's configuration.
Status CheckParamsKnown(BoosterHandle booster, const TrainParams& params) {
  bst_ulong length = 0;
  const char* text = nullptr;
  RETURN_IF_ERROR(
      XgbStatus(Xgb().booster_save_json_config(booster, &length, &text),
                "XGBoost could not report its configuration"));
  json config = ParseJsonOrDiscarded(std::string_view(text, length));
  std::set<std::string> keys;
  CollectKeys(config, &keys);

  for (const auto& [name, value] : params) {
    if (name == "n_estimators") continue;  // Ours, not XGBoost's.
    std::string_view stored = name;
    for (const auto& [alias, canonical] : kAliases) {
      if (name == alias) stored = canonical;
    }
    bool unlisted = false;
    for (std::string_view known : kUnlisted) unlisted |= name == known;
    if (!unlisted && !keys.contains(std::string(stored))) {
      return Status::InvalidArgument(fmt::format(
          "XGBoost {} does not know the parameter --{}", XgboostVersion(),
          name));
    }
  }
  return Status::Ok();
}

Status SetAttributes(BoosterHandle booster, const Dataset& dataset,
                     const std::string& label_column) {
  const std::string features = json(dataset.feature_names).dump();
  const std::pair<const char*, const std::string*> attributes[] = {
      {"lockstep_label_column", &label_column},
      {"lockstep_positive_label", &dataset.positive_label},
      {"lockstep_features", &features},
  };
  for (const auto& [key, value] : attributes) {
    RETURN_IF_ERROR(
        XgbStatus(Xgb().booster_set_attr(booster, key, value->c_str()),
                  "XGBoost could not set a model attribute"));
  }
  return Status::Ok();
}

}  // namespace

TrainParams DefaultTrainParams() {
  return {{"objective", "binary:logistic"},
          {"tree_method", "hist"},
          {"nthread", "1"},
          {"seed", "0"},
          {"learning_rate", "0.3"},
          {"max_depth", "6"},
          {"n_estimators", "100"}};
}

Result<std::string> TrainModel(const Dataset& dataset,
                               const std::string& label_column,
                               const TrainParams& params) {
  if (dataset.rows == 0) {
    return Status::InvalidArgument("no training rows");
  }

  // Defaults first, then the user's values; rounds are not an XGBoost
  // parameter.
  TrainParams effective = DefaultTrainParams();
  effective.insert(effective.end(), params.begin(), params.end());
  int rounds = 0;
  int nthread = 1;
  TrainParams xgb_params;
  for (const auto& [name, value] : effective) {
    if (name == "n_estimators") {
      ASSIGN_OR_RETURN(rounds, ParseRounds(value));
      continue;
    }
    if (name == "nthread") nthread = std::atoi(value.c_str());
    xgb_params.emplace_back(name, value);
  }

  ASSIGN_OR_RETURN(DMatrix matrix, MakeDMatrix(dataset, nthread));
  ASSIGN_OR_RETURN(Booster booster, MakeBooster(matrix.get()));
  for (const auto& [name, value] : xgb_params) {
    RETURN_IF_ERROR(XgbStatus(
        Xgb().booster_set_param(booster.get(), name.c_str(), value.c_str()),
        fmt::format("XGBoost rejected --{} {}", name, value),
        StatusCode::kInvalidArgument));
  }

  // XGBoost checks parameter values when the first round configures it.
  for (int round = 0; round < rounds; ++round) {
    RETURN_IF_ERROR(XgbStatus(
        Xgb().booster_update_one_iter(booster.get(), round, matrix.get()),
        round == 0 ? "XGBoost rejected the parameters"
                   : "XGBoost failed in a boosting round",
        round == 0 ? StatusCode::kInvalidArgument : StatusCode::kInternal));
    if (round == 0) RETURN_IF_ERROR(CheckParamsKnown(booster.get(), params));
  }

  RETURN_IF_ERROR(SetAttributes(booster.get(), dataset, label_column));
  bst_ulong length = 0;
  const char* bytes = nullptr;
  RETURN_IF_ERROR(XgbStatus(
      Xgb().booster_save_model_to_buffer(booster.get(),
                                         R"({"format": "json"})", &length,
                                         &bytes),
      "XGBoost could not save the model"));
  return std::string(bytes, length);
}

std::string XgboostVersion() {
  // The headers' version: LoadXgboost refuses a library of any other, so
  // `lockstep run` can key built-in steps on it without opening XGBoost.
  return fmt::format("{}.{}.{}", XGBOOST_VER_MAJOR, XGBOOST_VER_MINOR,
                     XGBOOST_VER_PATCH);
}

}  // namespace lockstep::ml
