// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// `lockstep ml split`: a stratified, seeded train/test split of a CSV. The
// shuffle is our own Fisher-Yates over std::mt19937_64 (whose output the
// C++ standard fixes), because std::shuffle and the standard distributions
// differ between library implementations.

#ifndef LOCKSTEP_ML_SPLIT_H_
#define LOCKSTEP_ML_SPLIT_H_

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "core/status.h"

namespace lockstep::ml {

// Returns a uniform integer in [0, bound) by rejection, using only the
// engine's raw output. REQUIRES: bound > 0.
uint64_t UniformBelow(std::mt19937_64& engine, uint64_t bound);

// Shuffles `items` in place: for i from the end, swap i with a uniform
// index in [0, i].
void FisherYatesShuffle(std::vector<size_t>* items, std::mt19937_64& engine);

// Row indices of each side, in ascending order.
struct SplitIndices {
  std::vector<size_t> train;
  std::vector<size_t> test;
};

// Splits rows stratified by `labels`: within each label value (taken in
// sorted order, all from one engine seeded with `seed`) the rows are
// shuffled and round(fraction * count) go to the test side.
// InvalidArgument unless 0 < fraction < 1.
Result<SplitIndices> StratifiedSplit(const std::vector<std::string>& labels,
                                     double test_fraction, uint64_t seed);

struct SplitOptions {
  std::string label_column;
  double test_fraction = 0.2;
  uint64_t seed = 0;
};

struct SplitCounts {
  size_t train = 0;
  size_t test = 0;
};

// Reads the CSV at `input` and writes the two sides, each with the header
// and the rows' original field text in their original order, as canonical
// CSV. Writes are atomic.
Result<SplitCounts> SplitCsvFile(const std::filesystem::path& input,
                                 const SplitOptions& options,
                                 const std::filesystem::path& train_path,
                                 const std::filesystem::path& test_path);

}  // namespace lockstep::ml

#endif  // LOCKSTEP_ML_SPLIT_H_
