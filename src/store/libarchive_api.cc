// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "store/libarchive_api.h"

#include "core/dynamic_library.h"

namespace lockstep::store {

namespace {

Result<LibarchiveApi> BindLibarchive() {
  ASSIGN_OR_RETURN(DynamicLibrary library,
                   DynamicLibrary::Open("libarchive.so.13", "libarchive13"));
  LibarchiveApi api;
  library.Bind(api.entry_clear, "archive_entry_clear");
  library.Bind(api.entry_filetype, "archive_entry_filetype");
  library.Bind(api.entry_free, "archive_entry_free");
  library.Bind(api.entry_hardlink, "archive_entry_hardlink");
  library.Bind(api.entry_new, "archive_entry_new");
  library.Bind(api.entry_pathname, "archive_entry_pathname");
  library.Bind(api.entry_perm, "archive_entry_perm");
  library.Bind(api.entry_set_filetype, "archive_entry_set_filetype");
  library.Bind(api.entry_set_gid, "archive_entry_set_gid");
  library.Bind(api.entry_set_mtime, "archive_entry_set_mtime");
  library.Bind(api.entry_set_pathname, "archive_entry_set_pathname");
  library.Bind(api.entry_set_perm, "archive_entry_set_perm");
  library.Bind(api.entry_set_size, "archive_entry_set_size");
  library.Bind(api.entry_set_symlink, "archive_entry_set_symlink");
  library.Bind(api.entry_set_uid, "archive_entry_set_uid");
  library.Bind(api.entry_size, "archive_entry_size");
  library.Bind(api.entry_symlink, "archive_entry_symlink");
  library.Bind(api.error_string, "archive_error_string");
  library.Bind(api.read_data_block, "archive_read_data_block");
  library.Bind(api.read_data_into_fd, "archive_read_data_into_fd");
  library.Bind(api.read_free, "archive_read_free");
  library.Bind(api.read_new, "archive_read_new");
  library.Bind(api.read_next_header, "archive_read_next_header");
  library.Bind(api.read_open_filename, "archive_read_open_filename");
  library.Bind(api.read_support_filter_all, "archive_read_support_filter_all");
  library.Bind(api.read_support_format_tar, "archive_read_support_format_tar");
  library.Bind(api.write_close, "archive_write_close");
  library.Bind(api.write_data, "archive_write_data");
  library.Bind(api.write_free, "archive_write_free");
  library.Bind(api.write_header, "archive_write_header");
  library.Bind(api.write_new, "archive_write_new");
  library.Bind(api.write_open_filename, "archive_write_open_filename");
  library.Bind(api.write_set_format_pax_restricted,
               "archive_write_set_format_pax_restricted");
  library.Bind(api.write_set_options, "archive_write_set_options");
  RETURN_IF_ERROR(library.status());
  return api;
}

}  // namespace

Result<const LibarchiveApi*> LoadLibarchive() {
  return LoadOnce<LibarchiveApi, BindLibarchive>();
}

const LibarchiveApi& Libarchive() { return RequireLoaded(LoadLibarchive()); }

}  // namespace lockstep::store
