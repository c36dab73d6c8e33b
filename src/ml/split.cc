// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "ml/split.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include <fmt/core.h>

#include "core/files.h"
#include "data/csv.h"

namespace lockstep::ml {

uint64_t UniformBelow(std::mt19937_64& engine, uint64_t bound) {
  // Accept only draws below the largest multiple of `bound`, so every
  // remainder is equally likely.
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  const uint64_t limit = max - (max % bound + 1) % bound;
  for (;;) {
    uint64_t draw = engine();
    if (draw <= limit) return draw % bound;
  }
}

void FisherYatesShuffle(std::vector<size_t>* items, std::mt19937_64& engine) {
  for (size_t i = items->size(); i > 1; --i) {
    size_t j = UniformBelow(engine, i);
    std::swap((*items)[i - 1], (*items)[j]);
  }
}

Result<SplitIndices> StratifiedSplit(const std::vector<std::string>& labels,
                                     double test_fraction, uint64_t seed) {
  if (!(test_fraction > 0 && test_fraction < 1)) {
    return Status::InvalidArgument(fmt::format(
        "the test fraction must be between 0 and 1 (exclusive), not {}",
        test_fraction));
  }
  std::map<std::string, std::vector<size_t>> strata;
  for (size_t i = 0; i < labels.size(); ++i) strata[labels[i]].push_back(i);

  std::mt19937_64 engine(seed);
  SplitIndices split;
  for (auto& [label, rows] : strata) {
    FisherYatesShuffle(&rows, engine);
    const size_t test_count = static_cast<size_t>(
        std::floor(test_fraction * static_cast<double>(rows.size()) + 0.5));
    split.test.insert(split.test.end(), rows.begin(),
                      rows.begin() + test_count);
    split.train.insert(split.train.end(), rows.begin() + test_count,
                       rows.end());
  }
  std::sort(split.train.begin(), split.train.end());
  std::sort(split.test.begin(), split.test.end());
  return split;
}

Result<SplitCounts> SplitCsvFile(const std::filesystem::path& input,
                                 const SplitOptions& options,
                                 const std::filesystem::path& train_path,
                                 const std::filesystem::path& test_path) {
  ASSIGN_OR_RETURN(data::CsvTable table, data::ReadCsvFile(input));
  ASSIGN_OR_RETURN(size_t label_index,
                   table.ColumnIndex(options.label_column, input.string()));
  std::vector<std::string> labels;
  labels.reserve(table.rows.size());
  for (const auto& row : table.rows) labels.push_back(row[label_index]);

  ASSIGN_OR_RETURN(SplitIndices split,
                   StratifiedSplit(labels, options.test_fraction,
                                   options.seed));
  auto write = [&](const std::vector<size_t>& rows,
                   const std::filesystem::path& path) {
    std::vector<std::vector<std::string>> side;
    side.reserve(rows.size());
    for (size_t row : rows) side.push_back(table.rows[row]);
    return WriteFileAtomically(path, data::WriteCsv(table.columns, side));
  };
  RETURN_IF_ERROR(write(split.train, train_path));
  RETURN_IF_ERROR(write(split.test, test_path));
  return SplitCounts{split.train.size(), split.test.size()};
}

}  // namespace lockstep::ml
