// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "cli/metadata_access.h"

#include <cstdlib>

namespace lockstep::cli {

Result<std::string> MetadataUrl(const GlobalOptions& globals) {
  if (!globals.metadata.empty()) {
    return globals.metadata;
  }
  if (const char* env = std::getenv("LOCKSTEP_METADATA");
      env != nullptr && *env != '\0') {
    return std::string(env);
  }
  ASSIGN_OR_RETURN(store::StoreLocation location,
                   OpenStore(globals, store::CreateIfMissing::kNo));
  return metadata::MetadataStore::DefaultUrl(location.root, "");
}

std::string RedactedUrl(const std::string& url) {
  if (!metadata::IsPostgresqlUrl(url)) {
    return url;
  }
  size_t scheme = url.find("://") + 3;
  size_t at = url.find('@', scheme);
  size_t colon = url.find(':', scheme);
  if (at == std::string::npos || colon == std::string::npos || colon > at) {
    return url;
  }
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

Status RequireStoreDatabase(const std::string& command,
                            const GlobalOptions& globals,
                            metadata::MetadataStore* metadata, bool trust,
                            bool deletes) {
  if (trust) return Status::Ok();
  ASSIGN_OR_RETURN(std::string url, MetadataUrl(globals));
  return metadata->CheckStoreDatabase(command, RedactedUrl(url), deletes);
}

Result<std::unique_ptr<metadata::MetadataStore>> OpenMetadata(
    const GlobalOptions& globals, metadata::OpenOptions options) {
  ASSIGN_OR_RETURN(std::string url, MetadataUrl(globals));
  ASSIGN_OR_RETURN(auto metadata, metadata::MetadataStore::Open(url, options));

  // Runs' manifests live in the store folder; with --metadata naming a
  // server there may be none here, and then only their recorded paths
  // are known.
  Result<store::StoreLocation> location =
      OpenStore(globals, store::CreateIfMissing::kNo);
  if (location.ok()) {
    metadata->SetStoreRoot(location->root);
  }
  return metadata;
}

}  // namespace lockstep::cli
