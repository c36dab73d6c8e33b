// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "ml/dataset.h"

#include <charconv>
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "data/csv.h"

namespace lockstep::ml {
namespace {

using data::CsvReader;
using data::CsvRecord;

// Parses a whole field as a finite double; nothing else is accepted, not
// even surrounding spaces, so a malformed file is caught rather than read
// differently by another tool.
std::optional<double> ParseNumber(std::string_view text) {
  double value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, error] = std::from_chars(text.data(), end, value);
  if (error != std::errc() || ptr != end || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

// Tracks the label values seen and maps each to 0 or 1.
class LabelMapper {
 public:
  LabelMapper(std::string source, const LabelOptions& options)
      : source_(std::move(source)), options_(options) {}

  Result<float> Map(std::string_view value, uint64_t line) {
    if (value.empty()) {
      return Status::InvalidArgument(fmt::format(
          "{}:{}: column '{}': empty label", source_, line,
          options_.label_column));
    }
    if (options_.positive_label.empty()) {
      if (value == "1") return 1.0f;
      if (value == "0") return 0.0f;
      return Status::InvalidArgument(fmt::format(
          "{}:{}: column '{}': label '{}' is not 0 or 1; pass "
          "--positive-label to name the positive class (it is inferred "
          "only when the labels are 0 and 1)",
          source_, line, options_.label_column, value));
    }
    if (value == options_.positive_label) return 1.0f;
    if (negative_.empty()) {
      negative_ = value;
    } else if (value != negative_) {
      return Status::InvalidArgument(fmt::format(
          "{}:{}: column '{}': a third label value '{}' (after '{}' and "
          "'{}'); only binary classification is supported",
          source_, line, options_.label_column, value,
          options_.positive_label, negative_));
    }
    return 0.0f;
  }

 private:
  std::string source_;
  const LabelOptions& options_;
  std::string negative_;
};

}  // namespace

Result<Dataset> LoadDataset(const std::filesystem::path& path,
                            const LabelOptions& options) {
  const std::string source = path.string();
  ASSIGN_OR_RETURN(data::MappedFile file, data::MappedFile::Open(path));
  CsvReader reader(file.bytes(), source);
  CsvRecord record;

  // The header fixes the label's position and the feature names. Names
  // must be distinct, as for `ml split`: a second label column was read
  // as a feature that had no name (found by a tester: a crash).
  ASSIGN_OR_RETURN(bool has_header, reader.Next(&record));
  if (!has_header) {
    return Status::InvalidArgument(source + ": empty CSV (no header record)");
  }
  RETURN_IF_ERROR(data::CheckDistinctColumns(record, source));
  Dataset dataset;
  size_t label_index = record.fields.size();
  for (size_t i = 0; i < record.fields.size(); ++i) {
    if (record.fields[i] == options.label_column) {
      label_index = i;
    } else {
      dataset.feature_names.emplace_back(record.fields[i]);
    }
  }
  if (label_index == record.fields.size()) {
    return Status::InvalidArgument(fmt::format(
        "{}: no label column named '{}'", source, options.label_column));
  }
  if (dataset.feature_names.empty()) {
    return Status::InvalidArgument(fmt::format(
        "{}: no feature columns, only the label '{}'", source,
        options.label_column));
  }
  const size_t width = record.fields.size();
  dataset.features.reserve(file.bytes().size() / 8);

  // Rows: every cell but the label must be a number.
  LabelMapper labels(source, options);
  for (;;) {
    ASSIGN_OR_RETURN(bool more, reader.Next(&record));
    if (!more) break;
    if (record.fields.size() != width) {
      return Status::InvalidArgument(fmt::format(
          "{}:{}: expected {} fields as in the header, found {}", source,
          record.line, width, record.fields.size()));
    }
    for (size_t i = 0; i < width; ++i) {
      if (i == label_index) continue;
      std::optional<double> value = ParseNumber(record.fields[i]);
      if (!value) {
        size_t feature = i < label_index ? i : i - 1;
        return Status::InvalidArgument(fmt::format(
            "{}:{}: column '{}': not a finite number: '{}'", source,
            record.line, dataset.feature_names[feature], record.fields[i]));
      }
      dataset.features.push_back(static_cast<float>(*value));
    }
    ASSIGN_OR_RETURN(float label,
                     labels.Map(record.fields[label_index], record.line));
    dataset.labels.push_back(label);
  }

  dataset.rows = dataset.labels.size();
  dataset.positive_label =
      options.positive_label.empty() ? "1" : options.positive_label;
  return dataset;
}

}  // namespace lockstep::ml
