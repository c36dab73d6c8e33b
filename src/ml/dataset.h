// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Loads a CSV into the dense float matrix XGBoost trains on: one label
// column mapped to 0/1, every other column a numeric feature. Shared by
// `lockstep ml train` and `lockstep ml evaluate`.

#ifndef LOCKSTEP_ML_DATASET_H_
#define LOCKSTEP_ML_DATASET_H_

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "core/status.h"

namespace lockstep::ml {

// Which column is the label and which of its two values is the positive
// class. With `positive_label` empty the labels must already be 0 and 1.
struct LabelOptions {
  std::string label_column;
  std::string positive_label;
};

// A dense, row-major feature matrix with binary labels.
struct Dataset {
  std::vector<std::string> feature_names;
  std::vector<float> features;  // rows x feature_names.size(), row-major.
  std::vector<float> labels;    // 1 for the positive class, else 0.
  std::string positive_label;   // The label text mapped to 1.
  size_t rows = 0;

  size_t columns() const { return feature_names.size(); }
};

// Reads the CSV at `path`. InvalidArgument for a header without the
// label column, with no other column, or with a name twice (the message
// `ml split` gives). Errors in the rows name the file, line and column: a
// non-numeric or non-finite feature cell, an empty label, more than two
// label values, or a positive label that cannot be determined.
Result<Dataset> LoadDataset(const std::filesystem::path& path,
                            const LabelOptions& options);

}  // namespace lockstep::ml

#endif  // LOCKSTEP_ML_DATASET_H_
