// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "metadata/libpq_api.h"

#include "core/dynamic_library.h"

namespace lockstep::metadata {

namespace {

Result<LibpqApi> BindLibpq() {
  ASSIGN_OR_RETURN(DynamicLibrary library,
                   DynamicLibrary::Open("libpq.so.5", "libpq5"));
  LibpqApi api;
  library.Bind(api.connectdb, "PQconnectdb");
  library.Bind(api.status, "PQstatus");
  library.Bind(api.error_message, "PQerrorMessage");
  library.Bind(api.finish, "PQfinish");
  library.Bind(api.set_notice_processor, "PQsetNoticeProcessor");
  library.Bind(api.exec, "PQexec");
  library.Bind(api.exec_params, "PQexecParams");
  library.Bind(api.prepare, "PQprepare");
  library.Bind(api.exec_prepared, "PQexecPrepared");
  library.Bind(api.send_query, "PQsendQuery");
  library.Bind(api.set_single_row_mode, "PQsetSingleRowMode");
  library.Bind(api.get_result, "PQgetResult");
  library.Bind(api.put_copy_data, "PQputCopyData");
  library.Bind(api.put_copy_end, "PQputCopyEnd");
  library.Bind(api.result_status, "PQresultStatus");
  library.Bind(api.result_error_field, "PQresultErrorField");
  library.Bind(api.result_error_message, "PQresultErrorMessage");
  library.Bind(api.ntuples, "PQntuples");
  library.Bind(api.nfields, "PQnfields");
  library.Bind(api.fname, "PQfname");
  library.Bind(api.ftype, "PQftype");
  library.Bind(api.getisnull, "PQgetisnull");
  library.Bind(api.getvalue, "PQgetvalue");
  library.Bind(api.getlength, "PQgetlength");
  library.Bind(api.clear, "PQclear");
  RETURN_IF_ERROR(library.status());
  return api;
}

}  // namespace

Result<const LibpqApi*> LoadLibpq() {
  return LoadOnce<LibpqApi, BindLibpq>();
}

const LibpqApi& Libpq() { return RequireLoaded(LoadLibpq()); }

}  // namespace lockstep::metadata
