// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Pieces the run, reproduce and runs commands share: opening the store
// with its metadata, and writing a run's manifest.

#ifndef LOCKSTEP_CLI_RUN_SUPPORT_H_
#define LOCKSTEP_CLI_RUN_SUPPORT_H_

#include <memory>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "manifest/manifest.h"
#include "metadata/metadata_store.h"
#include "pipeline/runner.h"
#include "pipeline/spec.h"
#include "store/blob_store.h"

namespace lockstep::cli {

using Json = nlohmann::json;

struct OpenedStore {
  store::StoreLocation location;
  store::BlobStore blobs;
  std::unique_ptr<metadata::MetadataStore> metadata;
};

// Finds (or creates) the store and opens its metadata database.
Result<OpenedStore> OpenStoreAndMetadata(
    const GlobalOptions& globals, store::CreateIfMissing create,
    metadata::OpenOptions options = {});

// Why `sandbox` is not a --sandbox value (bubblewrap, also spelled bwrap,
// or none), or "" when it is one.
std::string SandboxProblem(const std::string& sandbox);

// Parses --sandbox and --label, and fills in what built-in components
// need (this binary's path, library versions). The sandbox probe's
// answer is cached in the store, when there is one already.
Status FillRunOptions(const GlobalOptions& globals,
                      const std::string& sandbox,
                      const std::vector<std::string>& labels,
                      pipeline::RunOptions* options);

// The path of the running lockstep binary.
std::string SelfBinary();

// Builds, seals and writes the run's manifest into the store, records its
// path and hash on the run, and returns the path.
// What a run's manifest holds beyond its report: the pipeline file's
// bytes put in the store, the code version of its folder (git) and the
// environment capture with `toolchain`.
Result<manifest::ManifestContext> CaptureManifestContext(
    const std::string& spec_text, const std::filesystem::path& directory,
    const Json& toolchain, OpenedStore& opened);

// Writes the manifest and records the run's end. `document`, when set,
// receives the sealed manifest.
Result<std::string> WriteRunManifest(const pipeline::PipelineSpec& spec,
                                     const pipeline::RunReport& report,
                                     OpenedStore& opened,
                                     Json* document = nullptr);

}  // namespace lockstep::cli

#endif  // LOCKSTEP_CLI_RUN_SUPPORT_H_
