// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "image/build.h"

#include "core/canonical_json.h"
#include "core/clock.h"
#include "core/files.h"
#include "image/reference.h"
#include "image/rootfs.h"
#include "registry/oci.h"
#include "registry/registry.h"
#include "store/tar.h"

namespace lockstep::image {

namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

// The config of an image with no base.
Json ScratchConfig() {
  return Json{{"architecture", HostArchitecture()},
              {"os", "linux"},
              {"config", Json::object()},
              {"rootfs", {{"type", "layers"}, {"diff_ids", Json::array()}}}};
}

// Packs `added.source` as it should appear at `added.destination`.
Result<Digest> MakeLayer(store::BlobStore& blobs, const AddedFolder& added) {
  std::error_code error;
  if (!fs::is_directory(added.source, error)) {
    return Status::InvalidArgument("--add " + added.source.string() +
                                   ": not a folder");
  }
  fs::create_directories(blobs.TempDirectory(), error);
  ASSIGN_OR_RETURN(fs::path staging,
                   MakeTempDirectory(blobs.TempDirectory(), "image-add-"));
  fs::path target = staging / fs::path(added.destination).relative_path();
  fs::create_directories(target, error);
  if (!error) {
    fs::copy(added.source, target,
             fs::copy_options::recursive | fs::copy_options::copy_symlinks,
             error);
  }
  fs::path tar = UniqueTempPath(blobs.TempDirectory(), "layer-");
  Status written = error ? Status::Internal("cannot copy " +
                                            added.source.string() + ": " +
                                            error.message())
                         : store::WriteReproducibleTar(staging, tar);
  RemoveAllQuietly(staging);
  if (!written.ok()) {
    RemoveAllQuietly(tar);
    return written.WithContext("--add " + added.source.string());
  }
  return blobs.AdoptFile(tar);
}

void SetEnv(Json* config, const std::string& entry) {
  std::string name = entry.substr(0, entry.find('='));
  Json& env = (*config)["Env"];
  if (!env.is_array()) env = Json::array();
  for (Json& existing : env) {
    if (existing.is_string() &&
        existing.get<std::string>().starts_with(name + "=")) {
      existing = entry;
      return;
    }
  }
  env.push_back(entry);
}

Result<std::pair<std::string, std::string>> SplitRepoTag(
    const std::string& text) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos ||
      text.find('/', colon) != std::string::npos) {
    return Status::InvalidArgument("--tag " + text + ": want REPO:TAG");
  }
  std::string repo = text.substr(0, colon);
  std::string tag = text.substr(colon + 1);
  if (!registry::IsValidRepositoryName(repo)) {
    return Status::InvalidArgument("--tag " + text +
                                   ": bad repository name " + repo);
  }
  if (!registry::IsValidTag(tag)) {
    return Status::InvalidArgument("--tag " + text + ": bad tag " + tag);
  }
  return std::make_pair(repo, tag);
}

}  // namespace

Result<AddedFolder> ParseAddedFolder(const std::string& text) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Status::InvalidArgument("--add " + text +
                                   ": want FOLDER:/PATH/IN/IMAGE");
  }
  AddedFolder added{text.substr(0, colon), text.substr(colon + 1)};
  if (!added.destination.starts_with("/")) {
    return Status::InvalidArgument("--add " + text +
                                   ": the image path must be absolute");
  }
  for (const auto& part : fs::path(added.destination)) {
    if (part == "..") {
      return Status::InvalidArgument("--add " + text +
                                     ": the image path may not hold '..'");
    }
  }
  return added;
}

Result<BuiltImage> BuildImage(store::BlobStore& blobs,
                              const BuildRequest& request) {
  BuiltImage image;
  Json config = ScratchConfig();
  Json layers = Json::array();
  if (request.base != "scratch") {
    ASSIGN_OR_RETURN(registry::Reference base,
                     ParseImageRef(request.base, request.insecure));
    RETURN_IF_ERROR(RequirePinned(base, "--base: "));
    ASSIGN_OR_RETURN(ImageInfo info, FetchImage(blobs, base));
    config = info.config_json;
    for (const registry::Descriptor& layer : info.layers) {
      layers.push_back({{"mediaType", layer.media_type},
                        {"digest", layer.digest.ToString()},
                        {"size", layer.size}});
      image.layers.push_back(layer.digest);
    }
  }
  // Times of the base's build and history are not ours to repeat.
  config.erase("created");
  config.erase("history");
  if (!config["rootfs"].is_object() ||
      !config["rootfs"]["diff_ids"].is_array()) {
    return Status::InvalidArgument("base config has no rootfs.diff_ids");
  }

  for (const AddedFolder& added : request.added) {
    ASSIGN_OR_RETURN(Digest layer, MakeLayer(blobs, added));
    ASSIGN_OR_RETURN(uint64_t size, blobs.SizeOf(layer));
    // Uncompressed: the layer digest is its diff_id.
    layers.push_back({{"mediaType", kOciLayerTar},
                      {"digest", layer.ToString()},
                      {"size", size}});
    config["rootfs"]["diff_ids"].push_back(layer.ToString());
    image.layers.push_back(layer);
  }

  Json& runtime = config["config"];
  if (!runtime.is_object()) runtime = Json::object();
  for (const std::string& entry : request.env) {
    if (entry.find('=') == std::string::npos || entry.starts_with("=")) {
      return Status::InvalidArgument("--env " + entry + ": want NAME=VALUE");
    }
    SetEnv(&runtime, entry);
  }
  if (!request.workdir.empty()) runtime["WorkingDir"] = request.workdir;
  if (!request.entrypoint.empty()) runtime["Entrypoint"] = request.entrypoint;

  ASSIGN_OR_RETURN(std::string config_text, CanonicalJson(config));
  ASSIGN_OR_RETURN(image.config, blobs.PutBytes(config_text));
  Json manifest = {
      {"schemaVersion", 2},
      {"mediaType", std::string(registry::kOciManifest)},
      {"config", {{"mediaType", kOciImageConfig},
                  {"digest", image.config.ToString()},
                  {"size", config_text.size()}}},
      {"layers", layers}};
  ASSIGN_OR_RETURN(image.manifest_body, CanonicalJson(manifest));
  ASSIGN_OR_RETURN(image.manifest, blobs.PutBytes(image.manifest_body));
  image.blobs.push_back(image.config);
  image.blobs.insert(image.blobs.end(), image.layers.begin(),
                     image.layers.end());
  return image;
}

Status TagLocally(const fs::path& store_root, const BuiltImage& image,
                  const std::string& repo_tag) {
  ASSIGN_OR_RETURN(auto parts, SplitRepoTag(repo_tag));
  const auto& [repo, tag] = parts;
  ASSIGN_OR_RETURN(std::unique_ptr<registry::Registry> local,
                   registry::Registry::Open(store_root));
  RETURN_IF_ERROR(local->index().EnsureRepository(repo));
  for (const Digest& blob : image.blobs) {
    ASSIGN_OR_RETURN(uint64_t size, local->blobs().SizeOf(blob));
    RETURN_IF_ERROR(local->index().LinkBlob(
        repo, blob, static_cast<int64_t>(size), NowUnixMillis()));
  }
  registry::ApiResult<registry::PutManifestOutcome> put =
      local->PutManifest(repo, tag, std::string(registry::kOciManifest),
                         image.manifest_body);
  if (!put.ok()) {
    return Status::FailedPrecondition("tag " + repo_tag + ": " +
                                      put.error().message);
  }
  return Status::Ok();
}

Status PushImage(store::BlobStore& blobs, const BuiltImage& image,
                 const registry::Reference& target) {
  registry::Client client(blobs, registry::ClientOptions{});
  ASSIGN_OR_RETURN(Digest pushed,
                   client.PushManifest(target, image.blobs,
                                       std::string(registry::kOciManifest),
                                       image.manifest_body));
  if (pushed != image.manifest) {
    return Status::DataLoss("pushed manifest hashes to " + pushed.ToString());
  }
  return Status::Ok();
}

std::string CommitTag(const std::string& version, const std::string& commit) {
  return version + "-" + commit.substr(0, 8);
}

}  // namespace lockstep::image
