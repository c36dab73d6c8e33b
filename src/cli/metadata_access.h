// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Opening the lineage store from the command line: --metadata, else
// $LOCKSTEP_METADATA, else <store>/metadata.db (SQLite).

#ifndef LOCKSTEP_CLI_METADATA_ACCESS_H_
#define LOCKSTEP_CLI_METADATA_ACCESS_H_

#include <memory>
#include <string>

#include "cli/cli.h"
#include "metadata/metadata_store.h"

namespace lockstep::cli {

// The metadata URL the flags and environment select. A SQLite store needs
// the store folder, so it is located (never created) first.
Result<std::string> MetadataUrl(const GlobalOptions& globals);

// `url` with a password hidden ("postgresql://user:***@host/db").
std::string RedactedUrl(const std::string& url);

// Before a command that deletes what the roots do not hold (gc, cleanup):
// OK when the lineage database is the store's own and not older than it
// (MetadataStore::CheckStoreDatabase), or when `trust` (--trust-metadata)
// says so.
Status RequireStoreDatabase(const std::string& command,
                            const GlobalOptions& globals,
                            metadata::MetadataStore* metadata, bool trust,
                            bool deletes = true);

// Opens the lineage store for a write command, or with `options.reader`
// for a command that only reads.
Result<std::unique_ptr<metadata::MetadataStore>> OpenMetadata(
    const GlobalOptions& globals, metadata::OpenOptions options = {});

}  // namespace lockstep::cli

#endif  // LOCKSTEP_CLI_METADATA_ACCESS_H_
