// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// `lockstep image build` writes a reproducible OCI image without a daemon
// (image/build.h); `lockstep image pull` fetches a pinned image and
// unpacks its root filesystem into the store's cache (image/rootfs.h).

#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/cli.h"
#include "core/canonical_json.h"
#include "core/log.h"
#include "env/code_version.h"
#include "image/build.h"
#include "image/reference.h"
#include "image/rootfs.h"

namespace lockstep::cli {
namespace {

struct BuildFlags {
  std::string base;
  std::vector<std::string> add;
  std::vector<std::string> env;
  std::string workdir;
  std::string entrypoint;
  std::vector<std::string> tags;
  std::vector<std::string> push;
  bool tag_commit = false;
  std::string version;
  bool insecure = false;
};

// "[\"a\",\"b\"]" as JSON, else words split on spaces.
Result<std::vector<std::string>> ParseEntrypoint(const std::string& text) {
  std::vector<std::string> argv;
  if (text.starts_with("[")) {
    Json parsed = ParseJsonOrDiscarded(text);
    if (!parsed.is_array()) {
      return Status::InvalidArgument("--entrypoint: not a JSON array");
    }
    for (const Json& item : parsed) {
      if (!item.is_string()) {
        return Status::InvalidArgument("--entrypoint: strings only");
      }
      argv.push_back(item.get<std::string>());
    }
    return argv;
  }
  size_t start = 0;
  while (start < text.size()) {
    size_t space = text.find(' ', start);
    if (space == std::string::npos) space = text.size();
    if (space > start) argv.push_back(text.substr(start, space - start));
    start = space + 1;
  }
  return argv;
}

// Adds the commit tag to every REPO:TAG (local) and REGISTRY/REPO:TAG
// (push) target.
Status AddCommitTags(BuildFlags* flags) {
  if (flags->version.empty()) {
    return Status::InvalidArgument("--tag-commit needs --version V");
  }
  std::error_code error;
  std::filesystem::path here = std::filesystem::current_path(error);
  if (error) {
    return Status::Internal("cannot read the current folder: " +
                            error.message());
  }
  ASSIGN_OR_RETURN(env::CodeVersion code, env::CaptureCodeVersion(here));
  if (code.commit.empty()) {
    return Status::FailedPrecondition(
        "--tag-commit: no git commit here (" +
        (code.note.empty() ? std::string("no commits yet") : code.note) +
        ")");
  }
  std::string tag = image::CommitTag(flags->version, code.commit);
  for (std::vector<std::string>* targets : {&flags->tags, &flags->push}) {
    std::vector<std::string> added;
    for (const std::string& target : *targets) {
      size_t colon = target.rfind(':');
      std::string repo = colon != std::string::npos &&
                                 target.find('/', colon) == std::string::npos
                             ? target.substr(0, colon)
                             : target;
      added.push_back(repo + ":" + tag);
    }
    targets->insert(targets->end(), added.begin(), added.end());
  }
  if (flags->tags.empty() && flags->push.empty()) {
    return Status::InvalidArgument(
        "--tag-commit needs a --tag or --push to name the repository");
  }
  return Status::Ok();
}

int RunBuild(BuildFlags flags, const GlobalOptions& globals) {
  image::BuildRequest request;
  request.base = flags.base;
  request.insecure = flags.insecure;
  request.env = flags.env;
  request.workdir = flags.workdir;
  for (const std::string& text : flags.add) {
    auto added = image::ParseAddedFolder(text);
    if (!added.ok()) return ReportError(added.status());
    request.added.push_back(*added);
  }
  if (!flags.entrypoint.empty()) {
    auto argv = ParseEntrypoint(flags.entrypoint);
    if (!argv.ok()) return ReportError(argv.status());
    request.entrypoint = *argv;
  }
  if (flags.tag_commit) {
    Status tagged = AddCommitTags(&flags);
    if (!tagged.ok()) return ReportError(tagged);
  }
  std::vector<registry::Reference> pushes;
  for (const std::string& target : flags.push) {
    auto ref = image::ParseImageRef(target, flags.insecure);
    if (!ref.ok()) return ReportError(ref.status());
    if (ref->tag.empty()) ref->tag = "latest";
    pushes.push_back(*ref);
  }

  auto location = OpenStore(globals, store::CreateIfMissing::kYes);
  if (!location.ok()) return ReportError(location.status());
  store::BlobStore blobs(location->root);
  auto built = image::BuildImage(blobs, request);
  if (!built.ok()) return ReportError(built.status());
  for (const std::string& tag : flags.tags) {
    Status status = image::TagLocally(location->root, *built, tag);
    if (!status.ok()) return ReportError(status);
  }
  for (const registry::Reference& target : pushes) {
    Status status = image::PushImage(blobs, *built, target);
    if (!status.ok()) return ReportError(status.WithContext(
        "push " + target.ToString()));
  }

  if (globals.json) {
    Json layers = Json::array();
    for (const Digest& layer : built->layers) {
      layers.push_back(layer.ToString());
    }
    PrintJson({{"digest", built->manifest.ToString()},
               {"config", built->config.ToString()},
               {"layers", layers},
               {"tags", flags.tags},
               {"pushed", flags.push}});
  } else {
    std::cout << built->manifest.ToString() << "\n";
    for (const std::string& tag : flags.tags) {
      if (!globals.quiet) LogInfo("tagged {} in the local registry", tag);
    }
    for (const std::string& target : flags.push) {
      if (!globals.quiet) LogInfo("pushed {}", target);
    }
  }
  return kExitOk;
}

int RunPull(const std::string& text, bool insecure,
            const GlobalOptions& globals) {
  auto ref = image::ParseImageRef(text, insecure);
  if (!ref.ok()) return ReportError(ref.status());
  Status pinned = image::RequirePinned(*ref, "");
  if (!pinned.ok()) return ReportError(pinned);
  auto location = OpenStore(globals, store::CreateIfMissing::kYes);
  if (!location.ok()) return ReportError(location.status());
  store::BlobStore blobs(location->root);
  auto rootfs = image::PrepareRootfs(blobs, *ref);
  if (!rootfs.ok()) return ReportError(rootfs.status());
  if (globals.json) {
    PrintJson({{"reference", image::FormatImageRef(*ref)},
               {"rootfs", rootfs->string()}});
  } else {
    std::cout << rootfs->string() << "\n";
  }
  return kExitOk;
}

}  // namespace

void AddImageCommands(CLI::App& app, CommandContext context) {
  CLI::App* group = app.add_subcommand(
      "image", "Build and fetch OCI images for pipeline steps");
  group->require_subcommand(1);

  auto flags = std::make_shared<BuildFlags>();
  CLI::App* build = group->add_subcommand(
      "build", "Write a reproducible OCI image on a base pinned by digest");
  build->add_option("--base", flags->base,
                    "REGISTRY/REPO@sha256:... or scratch")
      ->required();
  build->add_option("--add", flags->add,
                    "FOLDER:/PATH, one reproducible layer each");
  build->add_option("--env", flags->env, "K=V in the image config");
  build->add_option("--workdir", flags->workdir, "Working folder");
  build->add_option("--entrypoint", flags->entrypoint,
                    "Entrypoint, as a JSON array or space-separated words");
  build->add_option("--tag", flags->tags, "REPO:TAG in the local registry");
  build->add_option("--push", flags->push, "REGISTRY/REPO:TAG to push to");
  build->add_flag("--tag-commit", flags->tag_commit,
                  "Also tag VERSION-<first 8 hex of the git commit>");
  build->add_option("--version", flags->version, "VERSION for --tag-commit");
  build->add_flag("--insecure", flags->insecure,
                  "Plain http for the base and push registries");
  build->callback([flags, context] {
    *context.action = [flags, globals = context.globals] {
      return RunBuild(*flags, *globals);
    };
  });

  auto reference = std::make_shared<std::string>();
  auto insecure = std::make_shared<bool>(false);
  CLI::App* pull = group->add_subcommand(
      "pull", "Fetch a pinned image and unpack its root filesystem");
  pull->add_option("reference", *reference, "REGISTRY/REPO@sha256:...")
      ->required();
  pull->add_flag("--insecure", *insecure, "Plain http for the registry");
  pull->callback([reference, insecure, context] {
    *context.action = [reference, insecure, globals = context.globals] {
      return RunPull(*reference, *insecure, *globals);
    };
  });
}

}  // namespace lockstep::cli
