// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "image/rootfs.h"

#include <sys/stat.h>
#include <sys/utsname.h>

#include "core/canonical_json.h"
#include "core/files.h"
#include "core/log.h"
#include "image/layer.h"

namespace lockstep::image {

namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

// The folders bubblewrap mounts over inside an image root; they must exist
// because the root is mounted read-only before them.
const char* const kMountPoints[] = {"proc", "dev", "tmp", "lockstep"};

Result<Json> ParseJsonBlob(const std::string& body, const Digest& digest) {
  Json json = ParseJsonOrDiscarded(body);
  if (!json.is_object()) {
    return Status::InvalidArgument("blob " + digest.ToString() +
                                   " is not a JSON object");
  }
  return json;
}

// Picks this machine's linux manifest from an image index.
Result<Digest> PickPlatform(const Json& index, const Digest& digest) {
  std::string arch = HostArchitecture();
  if (index.contains("manifests") && index["manifests"].is_array()) {
    for (const Json& entry : index["manifests"]) {
      Json platform = entry.value("platform", Json::object());
      if (platform.value("os", "") == "linux" &&
          platform.value("architecture", "") == arch) {
        return Digest::Parse(entry.value("digest", ""));
      }
    }
  }
  return Status::NotFound("image index " + digest.ToString() +
                          " has no linux/" + arch + " manifest");
}

}  // namespace

std::string HostArchitecture() {
  struct utsname host;
  ::uname(&host);
  std::string machine = host.machine;
  if (machine == "x86_64") return "amd64";
  if (machine == "aarch64") return "arm64";
  if (machine.starts_with("arm")) return "arm";
  return machine;
}

Result<ImageInfo> ReadImage(const store::BlobStore& blobs,
                            const Digest& digest) {
  ASSIGN_OR_RETURN(std::string body, blobs.ReadVerified(digest));
  ASSIGN_OR_RETURN(Json json, ParseJsonBlob(body, digest));
  std::string media_type = json.value("mediaType", "");
  if (media_type == registry::kOciIndex ||
      media_type == registry::kDockerManifestList ||
      (media_type.empty() && json.contains("manifests"))) {
    ASSIGN_OR_RETURN(Digest child, PickPlatform(json, digest));
    if (child == digest) {
      return Status::InvalidArgument("image index " + digest.ToString() +
                                     " names itself");
    }
    return ReadImage(blobs, child);
  }
  if (media_type.empty()) media_type = std::string(registry::kOciManifest);
  ASSIGN_OR_RETURN(registry::ParsedManifest parsed,
                   registry::ParseManifest(body, media_type));
  if (parsed.blobs.empty()) {
    return Status::InvalidArgument("manifest " + digest.ToString() +
                                   " has no config");
  }
  ImageInfo info;
  info.manifest = digest;
  info.manifest_body = body;
  info.config = parsed.blobs[0].digest;
  info.layers.assign(parsed.blobs.begin() + 1, parsed.blobs.end());
  ASSIGN_OR_RETURN(std::string config, blobs.ReadVerified(info.config));
  ASSIGN_OR_RETURN(info.config_json, ParseJsonBlob(config, info.config));
  return info;
}

Result<ImageInfo> FetchImage(store::BlobStore& blobs,
                             const registry::Reference& ref) {
  ASSIGN_OR_RETURN(Digest digest, Digest::Parse(ref.digest));
  Result<ImageInfo> local = ReadImage(blobs, digest);
  bool complete = local.ok();
  for (size_t i = 0; complete && i < local->layers.size(); ++i) {
    complete = blobs.Contains(local->layers[i].digest);
  }
  if (complete) return local;
  if (!local.ok() && !local.status().IsNotFound()) return local.status();

  registry::Client client(blobs, registry::ClientOptions{});
  registry::Reference by_digest = ref;
  by_digest.tag.clear();
  ASSIGN_OR_RETURN(registry::PullResult pulled, client.Pull(by_digest));
  if (pulled.manifest != digest) {
    return Status::DataLoss(ref.ToString() + ": registry sent manifest " +
                            pulled.manifest.ToString());
  }
  return ReadImage(blobs, digest);
}

Result<Digest> ResolveTag(store::BlobStore& blobs,
                          const registry::Reference& ref) {
  registry::Client client(blobs, registry::ClientOptions{});
  registry::Reference by_tag = ref;
  by_tag.digest.clear();
  if (by_tag.tag.empty()) by_tag.tag = "latest";
  ASSIGN_OR_RETURN(registry::PullResult pulled, client.Pull(by_tag));
  return pulled.manifest;
}

fs::path RootfsPath(const store::BlobStore& blobs, const Digest& digest) {
  return blobs.root() / "rootfs" / digest.hex();
}

Result<fs::path> PrepareRootfs(store::BlobStore& blobs,
                               const registry::Reference& ref) {
  ASSIGN_OR_RETURN(Digest requested, Digest::Parse(ref.digest));
  fs::path requested_path = RootfsPath(blobs, requested);
  std::error_code error;
  if (fs::is_directory(requested_path, error)) return requested_path;

  ASSIGN_OR_RETURN(ImageInfo info, FetchImage(blobs, ref));
  fs::path final_path = RootfsPath(blobs, info.manifest);
  if (fs::is_directory(final_path, error)) return final_path;
  // ApplyLayer reads a layer as a file: a layer whose bytes the store
  // only holds inside a pack gets a loose copy first.
  for (const registry::Descriptor& layer : info.layers) {
    RETURN_IF_ERROR(blobs.EnsureLoose(layer.digest)
                        .WithContext("layer " + layer.digest.ToString()));
    RETURN_IF_ERROR(blobs.Verify(layer.digest)
                        .WithContext("layer " + layer.digest.ToString()));
  }

  fs::create_directories(final_path.parent_path(), error);
  ASSIGN_OR_RETURN(fs::path temp,
                   MakeTempDirectory(final_path.parent_path(),
                                     ".tmp-" + info.manifest.hex() + "-"));
  Status status;
  for (const registry::Descriptor& layer : info.layers) {
    Result<LayerStats> applied = ApplyLayer(
        blobs.PathOf(layer.digest), layer.digest.ToString(), temp);
    status = applied.status();
    if (!status.ok()) break;
  }
  for (const char* mount_point : kMountPoints) {
    if (!status.ok()) break;
    fs::path path = temp / mount_point;
    if (!fs::exists(fs::symlink_status(path, error))) {
      fs::create_directories(path, error);
    }
  }
  if (status.ok() && ::chmod(temp.c_str(), 0755) != 0) {
    status = Status::Internal("cannot chmod " + temp.string());
  }
  if (status.ok() && ::rename(temp.c_str(), final_path.c_str()) != 0 &&
      !fs::is_directory(final_path, error)) {
    status = Status::Internal("cannot rename " + temp.string() + " to " +
                              final_path.string());
  }
  if (!status.ok() || fs::exists(temp, error)) RemoveAllQuietly(temp);
  RETURN_IF_ERROR(status.WithContext("image " + ref.ToString()));
  return final_path;
}

}  // namespace lockstep::image
