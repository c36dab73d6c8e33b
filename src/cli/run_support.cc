// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "cli/run_support.h"

#include <unistd.h>

#include <openssl/opensslv.h>
#include <sqlite3.h>

#include "core/files.h"
#include "core/utf8.h"
#include "env/capture.h"
#include "env/code_version.h"
#include "manifest/manifest.h"
#include "ml/train.h"
#include "pipeline/executor.h"
#include "store/location.h"

namespace lockstep::cli {

namespace {

// Libraries whose versions a run's results may depend on.
Json LibraryVersions() {
  return Json{{"openssl", OPENSSL_VERSION_TEXT},
              {"xgboost", ml::XgboostVersion()},
              {"sqlite", sqlite3_libversion()},
              {"compiler", std::string("gcc ") + __VERSION__}};
}

}  // namespace

Result<OpenedStore> OpenStoreAndMetadata(const GlobalOptions& globals,
                                         store::CreateIfMissing create,
                                         metadata::OpenOptions options) {
  ASSIGN_OR_RETURN(store::StoreLocation location, OpenStore(globals, create));
  std::string url =
      metadata::MetadataStore::DefaultUrl(location.root, globals.metadata);
  ASSIGN_OR_RETURN(auto metadata,
                   metadata::MetadataStore::Open(url, options));
  metadata->SetStoreRoot(location.root);
  return OpenedStore{location, store::BlobStore(location.root),
                     std::move(metadata)};
}

std::string SelfBinary() {
  char buffer[4096];
  ssize_t n = ::readlink("/proc/self/exe", buffer, sizeof(buffer) - 1);
  return n > 0 ? std::string(buffer, static_cast<size_t>(n)) : "lockstep";
}

std::string SandboxProblem(const std::string& sandbox) {
  if (sandbox == "bubblewrap" || sandbox == "bwrap" || sandbox == "none") {
    return "";
  }
  return "must be bubblewrap or none, not '" + sandbox + "'";
}

Status FillRunOptions(const GlobalOptions& globals,
                      const std::string& sandbox,
                      const std::vector<std::string>& labels,
                      pipeline::RunOptions* options) {
  if (sandbox == "bubblewrap" || sandbox == "bwrap") {
    // Bad input writes nothing, so a store is not created for the cache.
    Result<store::StoreLocation> location =
        store::LocateStore(globals.store, store::CreateIfMissing::kNo);
    std::filesystem::path cache_root =
        location.ok() ? location->root : std::filesystem::path();
    if (!pipeline::SandboxAvailable(cache_root)) {
      return Status::FailedPrecondition(
          "bubblewrap cannot create a sandbox on this machine (is the "
          "bubblewrap package installed, and are user namespaces "
          "enabled?); pass --sandbox none to run steps on the host");
    }
    options->sandbox = pipeline::SandboxMode::kBubblewrap;
  } else if (sandbox == "none") {
    options->sandbox = pipeline::SandboxMode::kNone;
  } else {
    return Status::InvalidArgument("--sandbox " + SandboxProblem(sandbox));
  }
  for (const std::string& label : labels) {
    size_t eq = label.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status::InvalidArgument("--label " + label +
                                     ": expected key=value");
    }
    // Labels are recorded as UTF-8 JSON with the run.
    RETURN_IF_ERROR(RequireUtf8("--label", label));
    options->labels[label.substr(0, eq)] = label.substr(eq + 1);
  }
  options->lockstep_binary = SelfBinary();
  options->builtin_versions["xgboost"] = ml::XgboostVersion();
  return Status::Ok();
}

Result<manifest::ManifestContext> CaptureManifestContext(
    const std::string& spec_text, const std::filesystem::path& spec_directory,
    const Json& toolchain, OpenedStore& opened) {
  manifest::ManifestContext context;
  ASSIGN_OR_RETURN(context.spec_blob, opened.blobs.PutBytes(spec_text));
  // A pipeline file named without a folder ("pipeline.yaml") has an empty
  // directory: that is the current folder, which libgit2 must be told.
  std::error_code error;
  std::filesystem::path directory =
      spec_directory.empty() ? std::filesystem::current_path(error)
                             : std::filesystem::absolute(spec_directory,
                                                         error);
  if (error) {
    return Status::Internal("cannot resolve the pipeline's folder: " +
                            error.message());
  }
  ASSIGN_OR_RETURN(env::CodeVersion code,
                   env::CaptureCodeVersion(directory, &opened.blobs));
  context.code = code.ToJson();
  if (code.in_git_work_tree) {
    // Where the pipeline sits in the repository, so that reproduce can
    // find its code files in a checkout of the commit.
    context.code["pipeline_directory"] =
        std::filesystem::relative(directory, code.work_tree, error)
            .generic_string();
  }
  ASSIGN_OR_RETURN(Json capture, env::CaptureEnvironment(
                                     {.cache_root = opened.location.root}));
  context.environment = {{"toolchain", toolchain},
                         {"libraries", LibraryVersions()},
                         {"capture", capture}};
  return context;
}

Result<std::string> WriteRunManifest(const pipeline::PipelineSpec& spec,
                                     const pipeline::RunReport& report,
                                     OpenedStore& opened, Json* sealed) {
  ASSIGN_OR_RETURN(manifest::ManifestContext context,
                   CaptureManifestContext(spec.text, spec.directory,
                                          report.toolchain, opened));
  ASSIGN_OR_RETURN(Json document,
                   manifest::BuildManifest(spec, report, context));
  ASSIGN_OR_RETURN(std::string text, manifest::SealManifest(&document));
  std::filesystem::path path =
      manifest::ManifestPath(opened.location.root, report.run_id);
  RETURN_IF_ERROR(WriteFileAtomically(path, text));
  RETURN_IF_ERROR(opened.metadata->FinishRun(
      report.run_id, report.status, path.string(),
      document["manifest_hash"].get<std::string>(), report.failure));
  if (report.lock) {
    report.lock->EndRecorded();
  }
  if (sealed != nullptr) {
    *sealed = std::move(document);
  }
  return path.string();
}

}  // namespace lockstep::cli
