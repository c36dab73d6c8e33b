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

Result<std::unique_ptr<metadata::MetadataStore>> OpenMetadata(
    const GlobalOptions& globals) {
  ASSIGN_OR_RETURN(std::string url, MetadataUrl(globals));
  return metadata::MetadataStore::Open(url);
}

}  // namespace lockstep::cli
