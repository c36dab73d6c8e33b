// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// libFuzzer target for the CSV reader, parser and streaming counter. Any
// input must parse or fail cleanly, and when the parser accepts it the
// counter, fed in uneven chunks, must report the same records and header.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "data/csv.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using lockstep::data::CsvRecordCounter;
  using lockstep::data::CsvTable;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  // Chunk sizes derived from the input so boundaries move around.
  CsvRecordCounter counter;
  size_t chunk = size == 0 ? 1 : 1 + data[0] % 7;
  for (size_t i = 0; i < size;) {
    counter.Feed(text.substr(i, chunk));
    i += chunk;
    chunk = chunk % 5 + 1;
  }
  lockstep::Status counted = counter.Finish();

  lockstep::Result<CsvTable> table = lockstep::data::ParseCsv(text, "fuzz");
  if (!table.ok()) return 0;
  if (!counted.ok()) std::abort();
  if (counter.records() != table->rows.size()) std::abort();
  if (counter.columns() != table->columns) std::abort();

  // The canonical form must parse back to the same table.
  std::string canonical =
      lockstep::data::WriteCsv(table->columns, table->rows);
  lockstep::Result<CsvTable> again =
      lockstep::data::ParseCsv(canonical, "canonical");
  if (!again.ok() || again->rows != table->rows) std::abort();
  return 0;
}
