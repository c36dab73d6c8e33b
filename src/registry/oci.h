// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// The OCI Distribution vocabulary the registry speaks: the spec's name and
// tag patterns, its error codes, the manifest media types it accepts, and
// a parser that pulls out of a manifest or index everything the registry
// must check or index (referenced blobs, child manifests, subject,
// artifactType, annotations). Pure functions; no I/O.

#ifndef LOCKSTEP_REGISTRY_OCI_H_
#define LOCKSTEP_REGISTRY_OCI_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/digest.h"
#include "core/status.h"

namespace lockstep::registry {

inline constexpr std::string_view kOciManifest =
    "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex =
    "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kOciEmptyConfig =
    "application/vnd.oci.empty.v1+json";

// Manifests larger than this are refused, by the registry on push and by
// the client on pull (the spec suggests 4 MiB).
inline constexpr uint64_t kMaxManifestBytes = 4 << 20;

// An error as the API reports it: an HTTP status and one of the spec's
// codes (BLOB_UNKNOWN, DIGEST_INVALID, ...), with a message for people.
struct ApiError {
  int http_status = 500;
  std::string code;
  std::string message;
  // Why the registry failed, for its own log and never sent: it names
  // the server's files, which a client can do nothing with.
  std::string cause;

  // The spec's error body: {"errors":[{"code","message","detail"}]}.
  std::string ToJson() const;
};

// Either a value or an ApiError, like Result<T> but carrying the spec's
// code and HTTP status to the edge.
template <typename T>
class ApiResult {
 public:
  ApiResult(T value) : value_(std::move(value)) {}  // NOLINT
  ApiResult(ApiError error) : error_(std::move(error)) {}  // NOLINT

  bool ok() const { return value_.has_value(); }
  const ApiError& error() const { return error_; }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T& operator*() { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  std::optional<T> value_;
  ApiError error_;
};

struct Empty {};

// Named error constructors for the spec's codes.
ApiError BlobUnknown(const std::string& message);
ApiError BlobUploadInvalid(const std::string& message);
ApiError BlobUploadUnknown(const std::string& message);
ApiError DigestInvalid(const std::string& message);
ApiError ManifestBlobUnknown(const std::string& message);
ApiError ManifestInvalid(const std::string& message);
ApiError ManifestUnknown(const std::string& message);
ApiError NameInvalid(const std::string& message);
ApiError NameUnknown(const std::string& message);
ApiError SizeInvalid(const std::string& message);
ApiError TagInvalid(const std::string& message);
ApiError Denied(const std::string& message);
// 405 DENIED: a DELETE refused because a manifest still references the
// content. The OCI conformance suite accepts 405 for a blob DELETE a
// registry refuses, and deletes blobs before their manifests in one of
// its modes, so 409 would fail it.
ApiError StillReferenced(const std::string& message);
ApiError Unsupported(const std::string& message);
ApiError Unauthorized(const std::string& message);
ApiError TooManyRequests(const std::string& message);
// 503 UNAVAILABLE (distribution's code for it): the registry cannot
// answer now (out of open files, an I/O error) but the content may be
// there; never a 404 that would tell a client it is gone.
ApiError Unavailable(const std::string& message);
// Wraps an internal Status (I/O, database) as a 500. The client's
// message says what it can act on (a full disk, a read-only store) or
// that the registry's log has the cause; the Status goes to `cause`.
ApiError InternalError(const Status& status);

// The spec's repository name pattern, path components joined by '/'.
bool IsValidRepositoryName(std::string_view name);

// [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
bool IsValidTag(std::string_view tag);

// True for the four manifest media types the registry stores.
bool IsManifestMediaType(std::string_view media_type);

// A descriptor as manifests and indexes carry it.
struct Descriptor {
  std::string media_type;
  Digest digest;
  int64_t size = 0;
  std::string artifact_type;
  nlohmann::json annotations;  // null when absent
  std::string where;  // its place in the manifest: "config", "layers[2]"
  std::vector<std::string> urls;  // where else it may be fetched from
};

// What the registry needs from a manifest or index body.
struct ParsedManifest {
  std::string media_type;          // effective media type
  // Config and layers (must exist), but for foreign layers with `urls`.
  std::vector<Descriptor> blobs;
  std::vector<Descriptor> children;  // index entries (must exist)
  std::optional<Digest> subject;
  std::string artifact_type;       // artifactType, else config.mediaType
  nlohmann::json annotations;      // null when absent
  int64_t schema_version = 0;      // 0 when absent or not an integer
};

// `value` (a Content-Type or a mediaType field) without its parameters
// ("; charset=utf-8") and surrounding blanks, in lower case: media types
// are case-insensitive (RFC 9110 section 8.3.1), and the registry stores
// and serves this one spelling.
std::string CanonicalMediaType(std::string_view value);

// Parses `body` sent with Content-Type `content_type`. When the body names
// its own mediaType it must agree with the header, case aside. The
// effective media type is canonical (CanonicalMediaType). InvalidArgument
// naming the field on malformed input, and the key on a key repeated
// within one object. A foreign (non-distributable) layer that lists
// `urls` is fetched from there, so it is left out of `blobs`; one
// without `urls` can only come from the registry, like any other layer.
Result<ParsedManifest> ParseManifest(std::string_view body,
                                     std::string_view content_type);

}  // namespace lockstep::registry

#endif  // LOCKSTEP_REGISTRY_OCI_H_
