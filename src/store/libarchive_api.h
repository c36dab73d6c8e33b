// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// libarchive, opened at run time (core/dynamic_library.h says why): packing
// and unpacking folders (store/tar.h) and applying image layers load it;
// commands that do neither never map it, nor libxml2, ICU, lzma, lz4,
// bzip2, zstd and libacl behind it.

#ifndef LOCKSTEP_STORE_LIBARCHIVE_API_H_
#define LOCKSTEP_STORE_LIBARCHIVE_API_H_

#include <archive.h>
#include <archive_entry.h>

#include "core/status.h"

namespace lockstep::store {

// The libarchive functions Lockstep calls, named after the C API without
// its archive_ prefix.
struct LibarchiveApi {
  decltype(&archive_entry_clear) entry_clear;
  decltype(&archive_entry_filetype) entry_filetype;
  decltype(&archive_entry_free) entry_free;
  decltype(&archive_entry_hardlink) entry_hardlink;
  decltype(&archive_entry_new) entry_new;
  decltype(&archive_entry_pathname) entry_pathname;
  decltype(&archive_entry_perm) entry_perm;
  decltype(&archive_entry_set_filetype) entry_set_filetype;
  decltype(&archive_entry_set_gid) entry_set_gid;
  decltype(&archive_entry_set_mtime) entry_set_mtime;
  decltype(&archive_entry_set_pathname) entry_set_pathname;
  decltype(&archive_entry_set_perm) entry_set_perm;
  decltype(&archive_entry_set_size) entry_set_size;
  decltype(&archive_entry_set_symlink) entry_set_symlink;
  decltype(&archive_entry_set_uid) entry_set_uid;
  decltype(&archive_entry_size) entry_size;
  decltype(&archive_entry_symlink) entry_symlink;
  decltype(&archive_error_string) error_string;
  decltype(&archive_read_data_block) read_data_block;
  decltype(&archive_read_data_into_fd) read_data_into_fd;
  decltype(&archive_read_free) read_free;
  decltype(&archive_read_new) read_new;
  decltype(&archive_read_next_header) read_next_header;
  decltype(&archive_read_open_filename) read_open_filename;
  decltype(&archive_read_support_filter_all) read_support_filter_all;
  decltype(&archive_read_support_format_tar) read_support_format_tar;
  decltype(&archive_write_close) write_close;
  decltype(&archive_write_data) write_data;
  decltype(&archive_write_free) write_free;
  decltype(&archive_write_header) write_header;
  decltype(&archive_write_new) write_new;
  decltype(&archive_write_open_filename) write_open_filename;
  decltype(&archive_write_set_format_pax_restricted)
      write_set_format_pax_restricted;
  decltype(&archive_write_set_options) write_set_options;
};

// Opens libarchive.so.13 once per process; later calls return the same
// table or the same error (FailedPrecondition naming the package).
Result<const LibarchiveApi*> LoadLibarchive();

// The table, for code holding an archive or entry: whoever made it loaded
// the library first.
const LibarchiveApi& Libarchive();

}  // namespace lockstep::store

#endif  // LOCKSTEP_STORE_LIBARCHIVE_API_H_
