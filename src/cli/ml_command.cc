// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// `lockstep ml split|train|evaluate`: the built-in, deterministic ML
// components. The logic lives in src/ml; these handlers parse flags, call
// it, and print a short summary (or one JSON object with --json).

#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/core.h>

#include "cli/cli.h"
#include "core/digest.h"
#include "core/files.h"
#include "ml/dataset.h"
#include "ml/evaluate.h"
#include "ml/split.h"
#include "ml/train.h"

namespace lockstep::cli {
namespace {

// The XGBoost parameters that have flags of their own; any other
// `--name value` after `ml train` is passed through as well.
const char* const kNamedParams[] = {"learning_rate", "n_estimators",
                                    "max_depth", "seed", "nthread"};

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                       start)
      .count();
}

// A path a command reads or writes, and the flag that named it.
using FlaggedPath = std::pair<std::string_view, std::string>;

// Refuses, before anything is read or written, an output that is one of
// the inputs or another output: the write would replace that file (found
// by a tester: `ml split --train` naming its --input cut the data to the
// train rows, and the same --train and --test kept only a header).
Status RequireDistinctOutputs(const std::vector<FlaggedPath>& inputs,
                              const std::vector<FlaggedPath>& outputs) {
  for (size_t i = 0; i < outputs.size(); ++i) {
    std::vector<FlaggedPath> others = inputs;
    others.insert(others.end(), outputs.begin(), outputs.begin() + i);
    for (const auto& [flag, path] : others) {
      if (!SameFile(path, outputs[i].second)) continue;
      return Status::InvalidArgument(fmt::format(
          "{} {} and {} {} name the same file; writing it would replace "
          "it (give {} another path)",
          flag, path, outputs[i].first, outputs[i].second,
          outputs[i].first));
    }
  }
  return Status::Ok();
}

// Turns CLI11's leftovers ("--name value" or "--name=value") into params.
Result<ml::TrainParams> ParseExtraParams(std::vector<std::string> extras) {
  ml::TrainParams params;
  for (size_t i = 0; i < extras.size(); ++i) {
    const std::string& token = extras[i];
    if (!token.starts_with("--") || token.size() == 2) {
      return Status::InvalidArgument(fmt::format(
          "unexpected argument '{}' (XGBoost parameters are --name value)",
          token));
    }
    size_t equals = token.find('=');
    if (equals != std::string::npos) {
      params.emplace_back(token.substr(2, equals - 2),
                          token.substr(equals + 1));
    } else if (i + 1 < extras.size()) {
      params.emplace_back(token.substr(2), extras[++i]);
    } else {
      return Status::InvalidArgument(
          fmt::format("the parameter {} has no value", token));
    }
  }
  return params;
}

// The flags main.cc declares on the top level, bound to the same globals.
void AddGlobalFlags(CLI::App& command, GlobalOptions* globals) {
  command.add_option("--store", globals->store, "Store folder");
  command.add_option("--metadata", globals->metadata, "Metadata URL");
  command.add_flag("--json", globals->json, "Print one JSON document");
  command.add_flag("--quiet,-q", globals->quiet, "No progress, no notices");
  command.add_flag("--verbose,-v", globals->verbose, "Debug logging");
}

void AddSplit(CLI::App& ml, CommandContext context) {
  auto* command = ml.add_subcommand(
      "split", "Stratified, seeded train/test split of a CSV");
  auto options = std::make_shared<ml::SplitOptions>();
  auto input = std::make_shared<std::string>();
  auto train = std::make_shared<std::string>();
  auto test = std::make_shared<std::string>();
  command->add_option("--input", *input, "CSV to split")->required();
  command->add_option("--label", options->label_column, "Label column")
      ->required();
  command->add_option("--test-fraction", options->test_fraction,
                      "Share of each label's rows for the test side")
      ->default_val(0.2);
  command->add_option("--seed", options->seed, "Shuffle seed")
      ->default_val(0);
  command->add_option("--train", *train, "Train CSV to write")->required();
  command->add_option("--test", *test, "Test CSV to write")->required();

  command->callback([=] {
    *context.action = [=] {
      Status distinct = RequireDistinctOutputs(
          {{"--input", *input}}, {{"--train", *train}, {"--test", *test}});
      if (!distinct.ok()) return ReportError(distinct);
      Result<ml::SplitCounts> counts =
          ml::SplitCsvFile(*input, *options, *train, *test);
      if (!counts.ok()) return ReportError(counts.status());
      if (context.globals->json) {
        PrintJson({{"train", *train}, {"train_rows", counts->train},
                   {"test", *test}, {"test_rows", counts->test}});
      } else {
        std::cout << fmt::format("split {}: {} train rows -> {}, {} test "
                                 "rows -> {}\n",
                                 *input, counts->train, *train, counts->test,
                                 *test);
      }
      return static_cast<int>(kExitOk);
    };
  });
}

void AddTrain(CLI::App& ml, CommandContext context) {
  auto* command = ml.add_subcommand(
      "train", "Train gradient-boosted trees with XGBoost (any other "
               "--name value is passed to XGBoost)");
  // Unknown options must stay here as XGBoost parameters rather than fall
  // through to the top level, so this command takes the global flags
  // itself.
  command->allow_extras();
  command->fallthrough(false);
  AddGlobalFlags(*command, context.globals);
  auto train = std::make_shared<std::string>();
  auto model = std::make_shared<std::string>();
  auto labels = std::make_shared<ml::LabelOptions>();
  auto named = std::make_shared<std::map<std::string, std::string>>();
  auto timings = std::make_shared<bool>(false);
  command->add_option("--train", *train, "Training CSV")->required();
  command->add_option("--label", labels->label_column, "Label column")
      ->required();
  command->add_option("--model", *model, "Model file to write (JSON)")
      ->required();
  command->add_option("--positive-label", labels->positive_label,
                      "Label value of the positive class (required unless "
                      "the labels are 0 and 1)");
  for (const char* name : kNamedParams) {
    command->add_option(std::string("--") + name, (*named)[name],
                        "XGBoost parameter");
  }
  command->add_flag("--timings", *timings,
                    "Print the load and train times on stderr");

  command->callback([=] {
    std::vector<std::string> extras = command->remaining();
    *context.action = [=] {
      Status distinct =
          RequireDistinctOutputs({{"--train", *train}}, {{"--model", *model}});
      if (!distinct.ok()) return ReportError(distinct);
      ml::TrainParams params;
      for (const auto& [name, value] : *named) {
        if (!value.empty()) params.emplace_back(name, value);
      }
      Result<ml::TrainParams> passed = ParseExtraParams(extras);
      if (!passed.ok()) return ReportError(passed.status());
      params.insert(params.end(), passed->begin(), passed->end());

      auto start = std::chrono::steady_clock::now();
      Result<ml::Dataset> dataset = ml::LoadDataset(*train, *labels);
      if (!dataset.ok()) return ReportError(dataset.status());
      double load_seconds = SecondsSince(start);
      start = std::chrono::steady_clock::now();
      Result<std::string> bytes =
          ml::TrainModel(*dataset, labels->label_column, params);
      if (!bytes.ok()) return ReportError(bytes.status());
      double train_seconds = SecondsSince(start);

      Status written = WriteFileAtomically(*model, *bytes);
      if (!written.ok()) return ReportError(written);
      if (*timings) {
        std::cerr << fmt::format("lockstep: timings: load {:.3f} s, train "
                                 "{:.3f} s\n",
                                 load_seconds, train_seconds);
      }
      const std::string digest = Sha256Of(*bytes).ToString();
      if (context.globals->json) {
        nlohmann::json out = {{"model", *model},
                              {"model_digest", digest},
                              {"rows", dataset->rows},
                              {"features", dataset->columns()},
                              {"positive_label", dataset->positive_label},
                              {"xgboost_version", ml::XgboostVersion()}};
        if (*timings) {
          out["timings"] = {{"load_seconds", load_seconds},
                            {"train_seconds", train_seconds}};
        }
        PrintJson(out);
      } else {
        std::cout << fmt::format(
            "trained on {} rows x {} features (XGBoost {}) -> {} ({})\n",
            dataset->rows, dataset->columns(), ml::XgboostVersion(), *model,
            digest);
      }
      return static_cast<int>(kExitOk);
    };
  });
}

void AddEvaluate(CLI::App& ml, CommandContext context) {
  auto* command = ml.add_subcommand(
      "evaluate", "Predict a test CSV and write metrics as JSON");
  auto model = std::make_shared<std::string>();
  auto test = std::make_shared<std::string>();
  auto metrics = std::make_shared<std::string>();
  auto options = std::make_shared<ml::EvaluateOptions>();
  command->add_option("--model", *model, "Model from `ml train`")
      ->required();
  command->add_option("--test", *test, "Test CSV")->required();
  command->add_option("--label", options->label_column,
                      "Label column (default: the model's)");
  command->add_option("--positive-label", options->positive_label,
                      "Positive class (default: the model's)");
  command->add_option("--metrics", *metrics, "Metrics JSON to write")
      ->required();

  command->callback([=] {
    *context.action = [=] {
      Status distinct =
          RequireDistinctOutputs({{"--model", *model}, {"--test", *test}},
                                 {{"--metrics", *metrics}});
      if (!distinct.ok()) return ReportError(distinct);
      Result<ml::Evaluation> evaluation =
          ml::EvaluateModel(*model, *test, *options);
      if (!evaluation.ok()) return ReportError(evaluation.status());
      Status written = WriteFileAtomically(*metrics, evaluation->json);
      if (!written.ok()) return ReportError(written);
      const ml::BinaryMetrics& m = evaluation->metrics;
      if (context.globals->json) {
        PrintJson(nlohmann::json::parse(evaluation->json));
      } else {
        std::cout << fmt::format(
            "{} rows: accuracy {:.4f}, ROC AUC {}, log loss {:.4f}, "
            "precision {:.4f}, recall {:.4f}, F1 {:.4f} -> {}\n",
            m.n, m.accuracy,
            m.roc_auc ? fmt::format("{:.4f}", *m.roc_auc) : "n/a",
            m.log_loss, m.precision, m.recall, m.f1, *metrics);
      }
      return static_cast<int>(kExitOk);
    };
  });
}

}  // namespace

void AddMlCommands(CLI::App& app, CommandContext context) {
  auto* ml = app.add_subcommand("ml", "Built-in ML components");
  ml->require_subcommand(1);
  AddSplit(*ml, context);
  AddTrain(*ml, context);
  AddEvaluate(*ml, context);
}

}  // namespace lockstep::cli
