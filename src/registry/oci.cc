// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "registry/oci.h"

#include <cerrno>
#include <cstring>
#include <limits>
#include <regex>

#include "core/ascii.h"
#include "core/canonical_json.h"

namespace lockstep::registry {
namespace {

ApiError Make(int status, const char* code, const std::string& message) {
  return ApiError{status, code, message};
}

// A descriptor's size: a whole number of bytes. Each refusal says what
// is wrong ("10.0" used to be called "missing or negative").
Result<int64_t> ParseSize(const Json& size, const std::string& where) {
  if (!size.is_number_integer()) {
    return Status::InvalidArgument(where + ".size: must be a whole number "
                                   "of bytes, not " + size.dump());
  }
  // Above INT64_MAX the parser keeps it unsigned; read as int64 it
  // would turn negative.
  if (size.is_number_unsigned() &&
      size.get<uint64_t>() >
          static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return Status::InvalidArgument(where + ".size: " + size.dump() +
                                   " is too large");
  }
  if (size.get<int64_t>() < 0) {
    return Status::InvalidArgument(where + ".size: must not be negative, "
                                   "not " + size.dump());
  }
  return size.get<int64_t>();
}

// A descriptor's `urls`: a list of strings, empty when absent. Anything
// else is refused, since whether the registry must hold the layer
// depends on it.
Result<std::vector<std::string>> ParseUrls(const Json& descriptor,
                                           const std::string& where) {
  std::vector<std::string> urls;
  auto found = descriptor.find("urls");
  if (found == descriptor.end()) return urls;
  auto refuse = [&] {
    return Status::InvalidArgument(where + ".urls: must be a list of "
                                   "strings, not " + found->dump());
  };
  if (!found->is_array()) return refuse();
  for (const Json& url : *found) {
    if (!url.is_string()) return refuse();
    urls.push_back(url.get<std::string>());
  }
  return urls;
}

// Reads one descriptor at `where` (e.g. "layers[2]").
Result<Descriptor> ParseDescriptor(const Json& value,
                                   const std::string& where) {
  if (!value.is_object()) {
    return Status::InvalidArgument(where + ": not an object");
  }
  Descriptor descriptor;
  descriptor.where = where;
  auto media = value.find("mediaType");
  if (media != value.end() && media->is_string()) {
    descriptor.media_type = media->get<std::string>();
  }
  auto digest = value.find("digest");
  if (digest == value.end() || !digest->is_string()) {
    return Status::InvalidArgument(where + ".digest: missing");
  }
  Result<Digest> parsed = Digest::Parse(digest->get<std::string>());
  if (!parsed.ok()) {
    return Status::InvalidArgument(where + ".digest: " +
                                   parsed.status().message());
  }
  descriptor.digest = *parsed;
  auto size = value.find("size");
  if (size == value.end()) {
    return Status::InvalidArgument(where + ".size: missing");
  }
  ASSIGN_OR_RETURN(descriptor.size, ParseSize(*size, where));
  auto artifact = value.find("artifactType");
  if (artifact != value.end() && artifact->is_string()) {
    descriptor.artifact_type = artifact->get<std::string>();
  }
  auto annotations = value.find("annotations");
  if (annotations != value.end() && annotations->is_object()) {
    descriptor.annotations = *annotations;
  }
  ASSIGN_OR_RETURN(descriptor.urls, ParseUrls(value, where));
  return descriptor;
}

// A foreign (Docker) or non-distributable (OCI) layer that says where
// else it lives: the registry need not hold it, and a client fetches it
// from its `urls`. Without `urls` nothing else can serve it.
bool IsFetchedElsewhere(const Descriptor& layer) {
  bool foreign =
      layer.media_type.find("foreign") != std::string::npos ||
      layer.media_type.find("nondistributable") != std::string::npos;
  return foreign && !layer.urls.empty();
}

// Reads the descriptors of the array `field`. With `layers` true, the
// layers fetched elsewhere are left out.
Status ParseDescriptorList(const Json& root, const char* field, bool layers,
                           std::vector<Descriptor>* out) {
  auto list = root.find(field);
  if (list == root.end()) {
    return Status::Ok();
  }
  if (!list->is_array()) {
    return Status::InvalidArgument(std::string(field) + ": not an array");
  }
  for (size_t i = 0; i < list->size(); ++i) {
    std::string where = std::string(field) + "[" + std::to_string(i) + "]";
    ASSIGN_OR_RETURN(Descriptor descriptor, ParseDescriptor((*list)[i], where));
    if (!layers || !IsFetchedElsewhere(descriptor)) {
      out->push_back(std::move(descriptor));
    }
  }
  return Status::Ok();
}

}  // namespace

std::string ApiError::ToJson() const {
  nlohmann::json error = {{"code", code}, {"message", message},
                          {"detail", nlohmann::json::object()}};
  return nlohmann::json{{"errors", {error}}}.dump();
}

ApiError BlobUnknown(const std::string& m) {
  return Make(404, "BLOB_UNKNOWN", m);
}
ApiError BlobUploadInvalid(const std::string& m) {
  return Make(400, "BLOB_UPLOAD_INVALID", m);
}
ApiError BlobUploadUnknown(const std::string& m) {
  return Make(404, "BLOB_UPLOAD_UNKNOWN", m);
}
ApiError DigestInvalid(const std::string& m) {
  return Make(400, "DIGEST_INVALID", m);
}
ApiError ManifestBlobUnknown(const std::string& m) {
  return Make(400, "MANIFEST_BLOB_UNKNOWN", m);
}
ApiError ManifestInvalid(const std::string& m) {
  return Make(400, "MANIFEST_INVALID", m);
}
ApiError ManifestUnknown(const std::string& m) {
  return Make(404, "MANIFEST_UNKNOWN", m);
}
ApiError NameInvalid(const std::string& m) {
  return Make(400, "NAME_INVALID", m);
}
ApiError NameUnknown(const std::string& m) {
  return Make(404, "NAME_UNKNOWN", m);
}
ApiError SizeInvalid(const std::string& m) {
  return Make(400, "SIZE_INVALID", m);
}
ApiError TagInvalid(const std::string& m) {
  return Make(400, "TAG_INVALID", m);
}
ApiError Denied(const std::string& m) { return Make(403, "DENIED", m); }
ApiError StillReferenced(const std::string& m) {
  return Make(405, "DENIED", m);
}
ApiError Unsupported(const std::string& m) {
  return Make(405, "UNSUPPORTED", m);
}
ApiError Unauthorized(const std::string& m) {
  return Make(401, "UNAUTHORIZED", m);
}
ApiError TooManyRequests(const std::string& m) {
  return Make(429, "TOOMANYREQUESTS", m);
}
ApiError Unavailable(const std::string& m) {
  return Make(503, "UNAVAILABLE", m);
}
ApiError InternalError(const Status& status) {
  const std::string& cause = status.message();
  auto says = [&](const char* text) {
    return cause.find(text) != std::string::npos;
  };
  // The text of ENOSPC and EROFS (ErrnoStatus) and of SQLite's
  // SQLITE_FULL and SQLITE_READONLY.
  std::string message =
      says(std::strerror(ENOSPC)) || says("database or disk is full")
          ? "the registry's disk is full"
      : says(std::strerror(EROFS)) || says("readonly database")
          ? "the registry's store is on a read-only file system"
          : "the registry failed to answer; its log says why";
  return ApiError{500, "UNKNOWN", message, cause};
}

bool IsValidRepositoryName(std::string_view name) {
  static const std::regex kPattern(
      "[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*"
      "(/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*");
  if (name.empty() || name.size() > 255) {
    return false;
  }
  return std::regex_match(name.begin(), name.end(), kPattern);
}

bool IsValidTag(std::string_view tag) {
  static const std::regex kPattern("[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}");
  return std::regex_match(tag.begin(), tag.end(), kPattern);
}

bool IsManifestMediaType(std::string_view media_type) {
  return media_type == kOciManifest || media_type == kOciIndex ||
         media_type == kDockerManifest || media_type == kDockerManifestList;
}

std::string CanonicalMediaType(std::string_view value) {
  std::string_view type = value.substr(0, value.find(';'));
  size_t first = type.find_first_not_of(" \t");
  size_t last = type.find_last_not_of(" \t");
  if (first == std::string_view::npos) return "";
  return AsciiLowercase(type.substr(first, last - first + 1));
}

Result<ParsedManifest> ParseManifest(std::string_view body,
                                     std::string_view content_type) {
  // A key given twice is read one way by one client and another way by
  // the next: with "layers" twice, this parser kept the last list, and
  // a client keeping the first pulled a layer never checked to exist.
  ASSIGN_OR_RETURN(Json root, ParseJsonWithUniqueKeys(body, "manifest",
                                                      KeyCase::kIgnored));
  if (!root.is_object()) {
    return Status::InvalidArgument("manifest: not a JSON object");
  }
  ParsedManifest parsed;
  auto version = root.find("schemaVersion");
  if (version != root.end() && version->is_number_integer()) {
    parsed.schema_version = version->get<int64_t>();
  }
  std::string declared;
  auto media = root.find("mediaType");
  if (media != root.end() && media->is_string()) {
    declared = CanonicalMediaType(media->get<std::string>());
  }
  std::string header = CanonicalMediaType(content_type);
  if (!declared.empty() && !header.empty() && declared != header) {
    return Status::InvalidArgument(
        "manifest: mediaType " + media->get<std::string>() +
        " differs from Content-Type " + std::string(content_type));
  }
  parsed.media_type = !header.empty() ? header : declared;
  if (parsed.media_type.empty()) {
    parsed.media_type = root.contains("manifests") ? std::string(kOciIndex)
                                                   : std::string(kOciManifest);
  }
  if (!IsManifestMediaType(parsed.media_type)) {
    return Status::InvalidArgument("manifest: unsupported media type " +
                                   parsed.media_type);
  }

  bool is_index = parsed.media_type == kOciIndex ||
                  parsed.media_type == kDockerManifestList;
  if (is_index) {
    auto list = root.find("manifests");
    if (list == root.end() || !list->is_array()) {
      return Status::InvalidArgument("manifest: index without manifests[]");
    }
    RETURN_IF_ERROR(
        ParseDescriptorList(root, "manifests", /*layers=*/false,
                            &parsed.children));
  } else {
    auto config = root.find("config");
    if (config == root.end()) {
      return Status::InvalidArgument("manifest: config: missing");
    }
    ASSIGN_OR_RETURN(Descriptor descriptor, ParseDescriptor(*config, "config"));
    parsed.artifact_type = descriptor.media_type;
    parsed.blobs.push_back(std::move(descriptor));
    auto layers = root.find("layers");
    if (layers == root.end() || !layers->is_array()) {
      return Status::InvalidArgument("manifest: layers: missing");
    }
    RETURN_IF_ERROR(
        ParseDescriptorList(root, "layers", /*layers=*/true, &parsed.blobs));
  }

  // An empty artifactType falls back to the config's media type, as a
  // missing one does (distribution-spec, "Listing Referrers").
  auto artifact = root.find("artifactType");
  if (artifact != root.end() && !artifact->is_string()) {
    return Status::InvalidArgument("manifest: artifactType: not a string");
  }
  if (artifact != root.end() && !artifact->get<std::string>().empty()) {
    parsed.artifact_type = artifact->get<std::string>();
  }
  auto subject = root.find("subject");
  if (subject != root.end()) {
    ASSIGN_OR_RETURN(Descriptor descriptor,
                     ParseDescriptor(*subject, "subject"));
    parsed.subject = descriptor.digest;
  }
  auto annotations = root.find("annotations");
  if (annotations != root.end() && annotations->is_object()) {
    parsed.annotations = *annotations;
  }
  return parsed;
}

}  // namespace lockstep::registry
