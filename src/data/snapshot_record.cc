// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "data/snapshot_record.h"

#include <cstdint>

#include "data/csv.h"
#include "data/tree_digest.h"

namespace lockstep::data {

namespace {

using Json = nlohmann::json;

bool IsCount(const Json& value) {
  return value.is_number_unsigned() ||
         (value.is_number_integer() && value.get<int64_t>() >= 0);
}

bool IsStringArray(const Json& value) {
  if (!value.is_array()) return false;
  for (const Json& item : value) {
    if (!item.is_string()) return false;
  }
  return true;
}

bool IsStringMap(const Json& value) {
  if (!value.is_object()) return false;
  for (const auto& [unused, item] : value.items()) {
    if (!item.is_string()) return false;
  }
  return true;
}

// The fields every reader of a snapshot's properties expects, each of the
// type it reads.
Status CheckTypes(const Json& properties, const std::string& where) {
  if (!properties.is_object()) {
    return Status::InvalidArgument(where + ": must be an object");
  }
  auto bad = [&](const std::string& field, const std::string& what) {
    return Status::InvalidArgument(where + "." + field + ": " + what);
  };
  std::string kind = properties.value("kind", Json("file")).is_string()
                         ? properties.value("kind", "file")
                         : "";
  if (kind != "file" && kind != "folder" && kind != "table") {
    return bad("kind", "must be \"file\", \"folder\" or \"table\"");
  }
  if (!properties.contains("size") || !IsCount(properties["size"])) {
    return bad("size", "must be a non-negative integer");
  }
  if (kind == "folder" && (!properties.contains("file_count") ||
                           !IsCount(properties["file_count"]))) {
    return bad("file_count", "must be a non-negative integer");
  }
  for (const char* count : {"row_count", "file_count"}) {
    if (properties.contains(count) && !properties[count].is_null() &&
        !IsCount(properties[count])) {
      return bad(count, "must be a non-negative integer or null");
    }
  }
  for (const char* list : {"columns", "column_types"}) {
    if (properties.contains(list) && !IsStringArray(properties[list])) {
      return bad(list, "must be a list of strings");
    }
  }
  for (const char* text : {"source", "creator", "description", "tree"}) {
    if (properties.contains(text) && !properties[text].is_string()) {
      return bad(text, "must be a string");
    }
  }
  for (const char* time : {"created_ms", "expires_ms"}) {
    if (properties.contains(time) && !IsCount(properties[time])) {
      return bad(time, "must be a non-negative integer (Unix milliseconds)");
    }
  }
  if (properties.contains("labels") && !IsStringMap(properties["labels"])) {
    return bad("labels", "must map names to strings");
  }
  return Status::Ok();
}

Status Mismatch(const std::string& where, const std::string& field,
                const Json& recorded, uint64_t actual) {
  return Status::InvalidArgument(where + "." + field + ": the record says " +
                                 recorded.dump() + ", the bytes hold " +
                                 std::to_string(actual));
}

Status CheckFolder(const store::BlobStore& blobs, const Digest& digest,
                   const Json& properties, const std::string& where) {
  if (properties.contains("tree") && properties["tree"] != digest.ToString()) {
    return Status::InvalidArgument(where + ".tree: is not the snapshot's "
                                   "digest " + digest.ToString());
  }
  ASSIGN_OR_RETURN(std::string bytes, blobs.ReadVerified(digest));
  Result<std::vector<TreeEntry>> entries = DecodeTree(bytes);
  if (!entries.ok()) {
    return Status::InvalidArgument(where + ".kind: \"folder\", but " +
                                   digest.ToString() + " is not a folder "
                                   "tree (" + entries.status().message() +
                                   ")");
  }
  // A folder has no records or columns of its own.
  if (properties.contains("row_count") && !properties["row_count"].is_null()) {
    return Status::InvalidArgument(where + ".row_count: a folder has none; "
                                   "it must be null");
  }
  if (!properties.value("columns", Json::array()).empty()) {
    return Status::InvalidArgument(where + ".columns: a folder has none");
  }
  uint64_t files = 0;
  uint64_t size = 0;
  for (const TreeEntry& entry : *entries) {
    if (entry.type != EntryType::kFile) continue;
    ++files;
    size += entry.size;
  }
  if (properties["file_count"].get<uint64_t>() != files) {
    return Mismatch(where, "file_count", properties["file_count"], files);
  }
  if (properties["size"].get<uint64_t>() != size) {
    return Mismatch(where, "size", properties["size"], size);
  }
  return Status::Ok();
}

// A file or table snapshot: one blob, its records counted when the record
// gives a count (a CSV file's, or a table's export).
Status CheckSingleBlob(const store::BlobStore& blobs, const Digest& digest,
                       const Json& properties, const std::string& where) {
  ASSIGN_OR_RETURN(uint64_t size, blobs.SizeOf(digest));
  if (properties["size"].get<uint64_t>() != size) {
    return Mismatch(where, "size", properties["size"], size);
  }
  if (!properties.contains("row_count") || properties["row_count"].is_null()) {
    return Status::Ok();
  }
  CsvRecordCounter counter;
  RETURN_IF_ERROR(blobs
                      .Stream(digest,
                              [&counter](std::string_view chunk) {
                                counter.Feed(chunk);
                                return Status::Ok();
                              })
                      .status());
  // A CSV that breaks RFC 4180 is still snapshotted, with the records
  // counted as far as they go, and so it is checked.
  (void)counter.Finish();
  if (properties["row_count"].get<uint64_t>() != counter.records()) {
    return Mismatch(where, "row_count", properties["row_count"],
                    counter.records());
  }
  if (properties.contains("columns") &&
      properties["columns"] != Json(counter.columns())) {
    return Status::InvalidArgument(
        where + ".columns: the record says " + properties["columns"].dump() +
        ", the header holds " + Json(counter.columns()).dump());
  }
  Json types = properties.value("column_types", Json::array());
  if (!types.empty() && types.size() != counter.columns().size()) {
    return Status::InvalidArgument(where + ".column_types: " +
                                   std::to_string(types.size()) +
                                   " types for " +
                                   std::to_string(counter.columns().size()) +
                                   " columns");
  }
  return Status::Ok();
}

}  // namespace

Status CheckSnapshotProperties(const store::BlobStore& blobs,
                               const Digest& digest, const Json& properties,
                               const std::string& what) {
  std::string where = what + ": properties";
  RETURN_IF_ERROR(CheckTypes(properties, where));
  if (properties.value("kind", "file") == "folder") {
    return CheckFolder(blobs, digest, properties, where);
  }
  return CheckSingleBlob(blobs, digest, properties, where);
}

}  // namespace lockstep::data
