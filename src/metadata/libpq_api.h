// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// libpq, opened at run time (core/dynamic_library.h says why): the
// PostgreSQL metadata backend and `data snapshot` of a PostgreSQL table
// load it when they connect; stores on SQLite never do.

#ifndef LOCKSTEP_METADATA_LIBPQ_API_H_
#define LOCKSTEP_METADATA_LIBPQ_API_H_

#include <libpq-fe.h>

#include "core/status.h"

namespace lockstep::metadata {

// The libpq functions Lockstep calls, named after the C API without its
// PQ prefix.
struct LibpqApi {
  decltype(&PQconnectdb) connectdb;
  decltype(&PQstatus) status;
  decltype(&PQerrorMessage) error_message;
  decltype(&PQfinish) finish;
  decltype(&PQsetNoticeProcessor) set_notice_processor;
  decltype(&PQexec) exec;
  decltype(&PQexecParams) exec_params;
  decltype(&PQprepare) prepare;
  decltype(&PQexecPrepared) exec_prepared;
  decltype(&PQsendQuery) send_query;
  decltype(&PQsetSingleRowMode) set_single_row_mode;
  decltype(&PQgetResult) get_result;
  decltype(&PQputCopyData) put_copy_data;
  decltype(&PQputCopyEnd) put_copy_end;
  decltype(&PQresultStatus) result_status;
  decltype(&PQresultErrorField) result_error_field;
  decltype(&PQresultErrorMessage) result_error_message;
  decltype(&PQntuples) ntuples;
  decltype(&PQnfields) nfields;
  decltype(&PQfname) fname;
  decltype(&PQftype) ftype;
  decltype(&PQgetisnull) getisnull;
  decltype(&PQgetvalue) getvalue;
  decltype(&PQgetlength) getlength;
  decltype(&PQclear) clear;
};

// Opens libpq.so.5 once per process; later calls return the same table
// or the same error (FailedPrecondition naming the package).
Result<const LibpqApi*> LoadLibpq();

// The table, for code holding a connection or result: whoever connected
// loaded it first.
const LibpqApi& Libpq();

}  // namespace lockstep::metadata

#endif  // LOCKSTEP_METADATA_LIBPQ_API_H_
