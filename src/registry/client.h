// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// An OCI Distribution client over libcurl, for `lockstep push` and
// `lockstep pull` against any OCI registry. It pushes a list of store
// blobs as the layers of an OCI artifact manifest (with artifactType,
// per-layer media types and annotations, and an optional subject), and
// pulls a reference into the local BlobStore, verifying every digest.
//
// Authentication follows the registry's WWW-Authenticate challenge: Basic,
// or Docker's token flow (Bearer realm/service/scope), with credentials
// from the Docker config file (~/.docker/config.json "auths", or
// $DOCKER_CONFIG/config.json). The login goes only to the registry's own
// origin (scheme, host and port): an upload Location or a redirect to
// another server (offloaded storage) is followed without it, and one
// from https to plain http is refused. Blobs the registry already has
// (HEAD) are skipped; a mount is used only when the registry answers
// 201; uploads are chunked, and a 416 resumes from the Range the
// registry reports.

#ifndef LOCKSTEP_REGISTRY_CLIENT_H_
#define LOCKSTEP_REGISTRY_CLIENT_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/digest.h"
#include "core/status.h"
#include "registry/oci.h"
#include "store/blob_store.h"

namespace lockstep::registry {

// REGISTRY/REPO[:TAG][@DIGEST], optionally with an http:// or https://
// scheme in front.
struct Reference {
  std::string scheme;  // "http" or "https"
  std::string registry;  // host[:port]
  std::string repository;
  std::string tag;     // may be empty when digest is set
  std::string digest;  // may be empty

  std::string ManifestReference() const {
    return digest.empty() ? tag : digest;
  }
  std::string ToString() const;
  // ToString() pinned to `manifest`: REGISTRY/REPO[:TAG]@DIGEST (a
  // reference that names a digest already is left as it is).
  std::string PinnedTo(const Digest& manifest) const;
};

// Parses a reference; `insecure` picks http when no scheme is given.
Result<Reference> ParseReference(const std::string& text, bool insecure);

// `location` (a Location header, a token realm) resolved against `base`,
// the URL of the request answered with it, as RFC 3986 section 5 says:
// an absolute URL, `//host:port/path`, `/path` or a relative path, query
// kept. The one resolver for every URL the client is sent to.
// InvalidArgument when either does not parse.
Result<std::string> ResolveLocation(const std::string& base,
                                    const std::string& location);

// "scheme://host:port" of an http or https `url`, in lower case and with
// the scheme's port when it names none: two URLs with the same origin
// reach the same server the same way. InvalidArgument for another URL.
Result<std::string> UrlOrigin(const std::string& url);

struct PushLayer {
  Digest digest;
  std::string media_type = "application/octet-stream";
  nlohmann::json annotations;  // null or an object
};

struct PushRequest {
  std::vector<PushLayer> layers;
  std::string artifact_type = "application/vnd.lockstep.artifact.v1";
  // The manifest this one refers to (the referrers API), if any. With
  // media type or size unset, they are read from the target repository.
  std::optional<Digest> subject;
  std::string subject_media_type;
  int64_t subject_size = 0;
  nlohmann::json annotations;  // manifest annotations, null or object
  std::string mount_from;      // try a cross-repository mount from here
};

struct PushResult {
  Digest manifest;
  size_t uploaded = 0;  // blobs sent
  size_t skipped = 0;   // blobs the registry already had
  size_t mounted = 0;   // blobs mounted from mount_from
};

struct PullResult {
  Digest manifest;
  std::string media_type;
  std::string body;                  // the manifest's bytes
  std::vector<PushLayer> layers;     // of an image/artifact manifest
  size_t downloaded = 0;
  size_t present = 0;  // already in the local store
};

struct ClientOptions {
  std::filesystem::path docker_config;  // default: $DOCKER_CONFIG or ~/.docker
  uint64_t chunk_size = 16u << 20;      // PATCH size for chunked uploads
  bool verify_tls = true;
  // CA certificates (DIR/*.crt) trusted for every server besides the
  // system's, as skopeo's --cert-dir. Without it, those of
  // /etc/containers/certs.d/HOST:PORT and /etc/docker/certs.d/HOST:PORT
  // are trusted for that server, where podman and docker look.
  std::filesystem::path cert_dir;
  // A connection that takes longer, or a transfer in which nothing moves
  // for this long, fails (Unavailable) instead of hanging forever.
  long timeout_seconds = 60;
};

class Client {
 public:
  Client(store::BlobStore& blobs, ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Pushes `request`'s layers (which must be in the store), an empty
  // config, and the manifest, tagged `target.tag`.
  Result<PushResult> Push(const Reference& target, const PushRequest& request);

  // Uploads `blobs` (which must be in the store) and puts `body`, of
  // `media_type`, as the manifest tagged `target.tag` (by digest when the
  // tag is empty). Returns the manifest's digest. For images, whose config
  // is a real blob.
  Result<Digest> PushManifest(const Reference& target,
                              const std::vector<Digest>& blobs,
                              const std::string& media_type,
                              const std::string& body);

  // Pulls the manifest (and, for an index, every child manifest) and all
  // blobs they reference into the store, verifying every digest.
  Result<PullResult> Pull(const Reference& source);

 private:
  struct Response;
  // An Authorization header's value and the one origin it may go to.
  struct Credential {
    std::string origin;         // as UrlOrigin gives it
    std::string authorization;  // "Basic ...", "Bearer ..."; empty: none
  };
  // Sends one request to `url` for the registry of `ref` (authenticating
  // on the registry's 401), following a GET's redirects. A 200 or 206
  // body goes to `sink` when given; one longer than `max_body` is
  // DataLoss.
  Result<Response> Send(const Reference& ref, const std::string& method,
                        const std::string& url,
                        std::vector<std::string> headers,
                        std::string_view body, bool push_scope,
                        store::BlobWriter* sink = nullptr,
                        uint64_t max_body = kMaxManifestBytes);
  // Send without the registry's login: `credential` goes with the
  // request, and with each redirect, to its origin only.
  Result<Response> Fetch(const std::string& method, const std::string& url,
                         const std::vector<std::string>& headers,
                         std::string_view body, const Credential& credential,
                         store::BlobWriter* sink, uint64_t max_body);
  // One request and its answer, no redirect followed.
  Result<Response> Exchange(const std::string& method, const std::string& url,
                            const std::vector<std::string>& headers,
                            std::string_view body, store::BlobWriter* sink,
                            uint64_t max_body);
  // Answers the WWW-Authenticate `challenge` of the registry's answer to
  // `challenged` (a URL): a token realm is resolved against it.
  Status Authenticate(const Reference& ref, const std::string& challenge,
                      const std::string& challenged, bool push_scope);
  // Uploads `digests` (which must be in the store) to `target`, with a
  // progress bar, counting each as uploaded, mounted or skipped.
  Status UploadBlobs(const Reference& target,
                     const std::vector<Digest>& digests,
                     const std::string& mount_from, PushResult* counts);
  // PUTs `body` (hashing to `digest`) as the manifest `reference` of
  // `target`, and checks the digest the registry answers with.
  // `wrote_blobs` tells a refusal of the manifest from one of the login
  // (ManifestRefused).
  Result<Response> PutManifestBody(const Reference& target,
                                   const std::string& reference,
                                   const std::string& media_type,
                                   const std::string& body,
                                   const Digest& digest, bool wrote_blobs);
  // The OCI manifest body of an artifact push (the layers must be in the
  // store), with `config` as its config.
  Result<std::string> ArtifactManifest(const Reference& target,
                                       const PushRequest& request,
                                       const Digest& config);
  // The descriptor of `request.subject`, read from the registry unless
  // the request gives its media type and size.
  Result<nlohmann::json> SubjectDescriptor(const Reference& target,
                                           const PushRequest& request);
  // Lists `descriptor` in the referrers tag of `subject` (sha256-<hex>),
  // for a registry without the referrers API.
  Status AddToReferrersTag(const Reference& target, const Digest& subject,
                           nlohmann::json descriptor);
  // "user:password" for `registry` from the Docker config file (read, or
  // its credential helper asked, once per registry).
  Result<std::optional<std::string>> Credentials(const std::string& registry);
  // Whose login was used for `registry`, and from where, for messages.
  std::string DescribeLogin(const std::string& registry) const;
  Result<bool> UploadBlob(const Reference& ref, const Digest& digest,
                          const std::string& mount_from, bool* mounted);
  // Pulls the manifest `reference` and all it references. A child of an
  // index comes with `listed`, its descriptor in the index `index`, whose
  // size it must have; the manifest pulled has neither.
  Status PullManifestTree(const Reference& ref, const std::string& reference,
                          const Digest* index, const Descriptor* listed,
                          int depth, PullResult* result);
  // Pulls the blob `listed`, a descriptor of the manifest `manifest`,
  // unless the store has it; its bytes must be the size declared.
  Status PullBlob(const Reference& ref, const Digest& manifest,
                  const Descriptor& listed, PullResult* result);

  store::BlobStore& blobs_;
  // The PEM text of the extra CAs trusted for `url`'s server ("" for
  // none), read once per server.
  const std::string& ExtraCasFor(const std::string& url);

  ClientOptions options_;
  std::map<std::string, std::string> extra_cas_;  // by origin
  void* curl_;  // CURL*, reused so connections stay alive
  // A repository to ask pull access to along with the push scope (the
  // source of a cross-repository mount).
  std::string mount_scope_;
  std::map<std::string, std::optional<std::string>> credentials_;
  // Authorization header per registry and scope kind.
  std::map<std::string, std::string> authorization_;
};

}  // namespace lockstep::registry

#endif  // LOCKSTEP_REGISTRY_CLIENT_H_
