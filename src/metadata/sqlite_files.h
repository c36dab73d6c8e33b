// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Opening a SQLite file that cannot be written beside. SQLite in WAL mode
// writes its log and shared-memory index next to a database even to read
// it, so a store on a read-only mount, another user's store or a full
// disk could not be read at all. Shared by the lineage database and the
// registry's index.

#ifndef LOCKSTEP_METADATA_SQLITE_FILES_H_
#define LOCKSTEP_METADATA_SQLITE_FILES_H_

#include <string>

#include "core/status.h"

struct sqlite3;

namespace lockstep::metadata {

// Opens the SQLite file `path` read-only, writing nothing beside it:
// through its write-ahead log when SQLite can use the log as it is (its
// index file there and readable), else as immutable, the file as it is
// without locks (transactions only in the log are then not seen, and a
// warning says so). `mutex_flag` is SQLITE_OPEN_NOMUTEX or
// SQLITE_OPEN_FULLMUTEX. The handle is checked by reading the schema.
// Unavailable when neither way opens it.
//
// Immutable promises SQLite that nobody changes the file: SQLite may
// then answer from pages it read before, or report corruption, if
// someone does. A short command takes that risk (it is documented); a
// long-running reader asks for kOnlyOnReadOnlyFileSystem, where no one
// writes through this mount (a tester's read-only server on another
// user's store showed its tags as they were at its start for ever).
enum class Immutable { kAllowed, kOnlyOnReadOnlyFileSystem };
Result<sqlite3*> OpenSqliteToRead(const std::string& path, int mutex_flag,
                                  Immutable immutable = Immutable::kAllowed);

}  // namespace lockstep::metadata

#endif  // LOCKSTEP_METADATA_SQLITE_FILES_H_
