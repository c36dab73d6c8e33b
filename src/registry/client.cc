// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "registry/client.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "core/ascii.h"
#include "core/base64.h"
#include "core/canonical_json.h"
#include "core/dynamic_library.h"
#include "core/files.h"
#include "core/progress.h"
#include "core/subprocess.h"
#include "registry/byte_range.h"
#include "registry/docker_config.h"
#include "registry/oci.h"

namespace lockstep::registry {
namespace {

constexpr int kMaxIndexDepth = 4;

// The libcurl functions the client calls, named after the C API without
// its curl_ prefix; opened by the first Client (core/dynamic_library.h
// says why). setopt and getinfo keep their variadic C signatures.
struct CurlApi {
  decltype(&curl_easy_init) easy_init;
  decltype(&curl_easy_cleanup) easy_cleanup;
  decltype(&curl_easy_reset) easy_reset;
  decltype(&curl_easy_setopt) easy_setopt;
  decltype(&curl_easy_perform) easy_perform;
  decltype(&curl_easy_getinfo) easy_getinfo;
  decltype(&curl_easy_strerror) easy_strerror;
  decltype(&curl_easy_escape) easy_escape;
  decltype(&curl_free) free;
  decltype(&curl_slist_append) slist_append;
  decltype(&curl_slist_free_all) slist_free_all;
  decltype(&curl_url) url;
  decltype(&curl_url_cleanup) url_cleanup;
  decltype(&curl_url_set) url_set;
  decltype(&curl_url_get) url_get;
};

Result<CurlApi> BindCurl() {
  ASSIGN_OR_RETURN(DynamicLibrary library,
                   DynamicLibrary::Open("libcurl.so.4", "libcurl4"));
  CurlApi api;
  library.Bind(api.easy_init, "curl_easy_init");
  library.Bind(api.easy_cleanup, "curl_easy_cleanup");
  library.Bind(api.easy_reset, "curl_easy_reset");
  library.Bind(api.easy_setopt, "curl_easy_setopt");
  library.Bind(api.easy_perform, "curl_easy_perform");
  library.Bind(api.easy_getinfo, "curl_easy_getinfo");
  library.Bind(api.easy_strerror, "curl_easy_strerror");
  library.Bind(api.easy_escape, "curl_easy_escape");
  library.Bind(api.free, "curl_free");
  library.Bind(api.slist_append, "curl_slist_append");
  library.Bind(api.slist_free_all, "curl_slist_free_all");
  library.Bind(api.url, "curl_url");
  library.Bind(api.url_cleanup, "curl_url_cleanup");
  library.Bind(api.url_set, "curl_url_set");
  library.Bind(api.url_get, "curl_url_get");
  RETURN_IF_ERROR(library.status());
  return api;
}

// Opens libcurl once per process; later calls return the same table or
// the same error.
Result<const CurlApi*> LoadCurl() {
  return LoadOnce<CurlApi, BindCurl>();
}

// The table, for code that runs only once Send has loaded it.
const CurlApi& Curl() { return RequireLoaded(LoadCurl()); }

// A handle from the Client's constructor: null when libcurl is missing,
// which Send then reports.
void* NewCurlHandle() {
  Result<const CurlApi*> api = LoadCurl();
  return api.ok() ? (*api)->easy_init() : nullptr;
}

// key="value" pairs of a WWW-Authenticate challenge after its scheme.
std::map<std::string, std::string> ChallengeParams(const std::string& text) {
  std::map<std::string, std::string> params;
  size_t at = text.find(' ');
  while (at != std::string::npos && at < text.size()) {
    size_t equals = text.find('=', at);
    if (equals == std::string::npos) break;
    std::string key = text.substr(at, equals - at);
    key.erase(0, key.find_first_not_of(" ,"));
    std::string value;
    size_t next = equals + 1;
    if (next < text.size() && text[next] == '"') {
      size_t close = text.find('"', next + 1);
      if (close == std::string::npos) break;
      value = text.substr(next + 1, close - next - 1);
      at = close + 1;
    } else {
      size_t comma = text.find(',', next);
      value = text.substr(next, comma - next);
      at = comma;
    }
    params[AsciiLowercase(key)] = value;
  }
  return params;
}

std::string Escape(CURL* curl, const std::string& text) {
  const CurlApi& api = Curl();
  char* escaped = api.easy_escape(curl, text.c_str(),
                                  static_cast<int>(text.size()));
  std::string out = escaped ? escaped : "";
  api.free(escaped);
  return out;
}

// A URL parsed by libcurl's URL API, the RFC 3986 parser libcurl itself
// follows redirects with.
class CurlUrl {
 public:
  explicit CurlUrl(const CurlApi& api) : api_(api), handle_(api.url()) {}
  ~CurlUrl() {
    if (handle_ != nullptr) api_.url_cleanup(handle_);
  }
  CurlUrl(const CurlUrl&) = delete;
  CurlUrl& operator=(const CurlUrl&) = delete;

  // Sets the whole URL; a relative reference is resolved against the URL
  // set before (RFC 3986 section 5). False when it does not parse.
  bool Set(const std::string& url) {
    return handle_ != nullptr &&
           api_.url_set(handle_, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK;
  }

  std::optional<std::string> Get(CURLUPart part, unsigned flags = 0) const {
    char* text = nullptr;
    if (handle_ == nullptr ||
        api_.url_get(handle_, part, &text, flags) != CURLUE_OK) {
      return std::nullopt;
    }
    std::string out = text;
    api_.free(text);
    return out;
  }

 private:
  const CurlApi& api_;
  CURLU* handle_;
};

}  // namespace

Result<std::string> ResolveLocation(const std::string& base,
                                    const std::string& location) {
  ASSIGN_OR_RETURN(const CurlApi* api, LoadCurl());
  CurlUrl url(*api);
  if (!url.Set(base)) {
    return Status::InvalidArgument("'" + base + "' is not a URL");
  }
  // An empty reference would name the base itself; no registry means
  // that by an empty Location.
  if (location.empty() || !url.Set(location)) {
    return Status::InvalidArgument("'" + location +
                                   "' is not a URL reference");
  }
  std::optional<std::string> resolved = url.Get(CURLUPART_URL);
  if (!resolved) {
    return Status::InvalidArgument("'" + location + "' relative to '" + base +
                                   "' is not a URL");
  }
  return *resolved;
}

Result<std::string> UrlOrigin(const std::string& url) {
  ASSIGN_OR_RETURN(const CurlApi* api, LoadCurl());
  CurlUrl parsed(*api);
  std::optional<std::string> scheme, host, port;
  if (parsed.Set(url)) {
    scheme = parsed.Get(CURLUPART_SCHEME);
    host = parsed.Get(CURLUPART_HOST);
    port = parsed.Get(CURLUPART_PORT, CURLU_DEFAULT_PORT);
  }
  if (scheme) scheme = AsciiLowercase(*scheme);
  if (!scheme || !host || !port || (*scheme != "http" && *scheme != "https")) {
    return Status::InvalidArgument("'" + url +
                                   "' is not an http or https URL");
  }
  return *scheme + "://" + AsciiLowercase(*host) + ":" + *port;
}

namespace {

// Where `location`, a URL reference in the answer to METHOD `from`,
// points, resolved against `from`: an upload's next URL or a redirect's
// target (`field` "Location"), or a token realm. Unavailable (the
// registry breaks the protocol) when it is not an http or https URL, or
// when it leaves https for plain http, where the bytes, and any
// credentials the other end asks for, could be read and changed on the
// way.
Result<std::string> FollowLocation(const std::string& method,
                                   const std::string& from,
                                   const std::string& location,
                                   const std::string& field = "Location") {
  std::string what = method + " " + from + " answered with " + field;
  Result<std::string> resolved = ResolveLocation(from, location);
  Result<std::string> to =
      resolved.ok() ? UrlOrigin(*resolved) : resolved.status();
  if (!to.ok()) {
    return Status::Unavailable(what + " '" + location +
                               "', which is not an http or https URL");
  }
  ASSIGN_OR_RETURN(std::string origin, UrlOrigin(from));
  if (origin.starts_with("https:") && to->starts_with("http:")) {
    return Status::Unavailable(what + " " + *resolved +
                               ", which leaves https for plain http; "
                               "refused");
  }
  return *resolved;
}

}  // namespace

struct Client::Response {
  std::string url;  // that answered, after any redirect
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;

  std::string Header(const std::string& name) const {
    auto found = headers.find(name);
    return found == headers.end() ? "" : found->second;
  }
};

std::string Reference::ToString() const {
  std::string text = registry + "/" + repository;
  if (!tag.empty()) text += ":" + tag;
  if (!digest.empty()) text += "@" + digest;
  return text;
}

std::string Reference::PinnedTo(const Digest& manifest) const {
  return digest.empty() ? ToString() + "@" + manifest.ToString()
                        : ToString();
}

Result<Reference> ParseReference(const std::string& text, bool insecure) {
  Reference ref;
  std::string rest = text;
  ref.scheme = insecure ? "http" : "https";
  for (const char* scheme : {"http://", "https://"}) {
    if (rest.rfind(scheme, 0) == 0) {
      ref.scheme = std::string(scheme).substr(0, std::strlen(scheme) - 3);
      rest = rest.substr(std::strlen(scheme));
    }
  }
  size_t slash = rest.find('/');
  if (slash == std::string::npos || slash == 0) {
    return Status::InvalidArgument(text + ": want REGISTRY/REPOSITORY[:TAG]");
  }
  ref.registry = rest.substr(0, slash);
  rest = rest.substr(slash + 1);
  size_t at = rest.find('@');
  if (at != std::string::npos) {
    ref.digest = rest.substr(at + 1);
    if (!Digest::Parse(ref.digest).ok()) {
      return Status::InvalidArgument(text + ": bad digest " + ref.digest);
    }
    rest = rest.substr(0, at);
  }
  size_t colon = rest.rfind(':');
  if (colon != std::string::npos &&
      rest.find('/', colon) == std::string::npos) {
    ref.tag = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
    if (!IsValidTag(ref.tag)) {
      return Status::InvalidArgument(text + ": bad tag " + ref.tag);
    }
  }
  if (!IsValidRepositoryName(rest)) {
    return Status::InvalidArgument(text + ": bad repository name " + rest);
  }
  ref.repository = rest;
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  return ref;
}

Client::Client(store::BlobStore& blobs, ClientOptions options)
    : blobs_(blobs), options_(std::move(options)), curl_(NewCurlHandle()) {
  if (options_.docker_config.empty()) {
    const char* dir = std::getenv("DOCKER_CONFIG");
    const char* home = std::getenv("HOME");
    if (dir != nullptr) {
      options_.docker_config = std::filesystem::path(dir) / "config.json";
    } else if (home != nullptr) {
      options_.docker_config =
          std::filesystem::path(home) / ".docker" / "config.json";
    }
  }
}

Client::~Client() {
  if (curl_ != nullptr) Curl().easy_cleanup(static_cast<CURL*>(curl_));
}

Result<std::optional<std::string>> Client::Credentials(
    const std::string& registry) {
  auto known = credentials_.find(registry);
  if (known != credentials_.end()) return known->second;
  ASSIGN_OR_RETURN(std::optional<RegistryLogin> login,
                   FindDockerLogin(options_.docker_config, registry,
                                   options_.timeout_seconds * 1000));
  std::optional<std::string> credentials;
  if (login) credentials = login->username + ":" + login->password;
  credentials_[registry] = credentials;
  return credentials;
}

std::string Client::DescribeLogin(const std::string& registry) const {
  if (options_.docker_config.empty()) {
    return "no login for " + registry + ": no Docker config file "
           "($DOCKER_CONFIG and $HOME are unset)";
  }
  auto known = credentials_.find(registry);
  if (known == credentials_.end() || !known->second) {
    return "no login for " + registry + " in " +
           options_.docker_config.string();
  }
  std::string user = known->second->substr(0, known->second->find(':'));
  return "user " + user + " from " + options_.docker_config.string();
}

Status Client::Authenticate(const Reference& ref, const std::string& challenge,
                            const std::string& challenged, bool push_scope) {
  std::string key = ref.registry + "|" + ref.repository + "|" +
                    (push_scope ? "push" : "pull");
  ASSIGN_OR_RETURN(std::optional<std::string> credentials,
                   Credentials(ref.registry));
  std::string scheme = AsciiLowercase(challenge.substr(0, challenge.find(' ')));
  if (scheme == "basic") {
    if (!credentials) {
      return Status::FailedPrecondition(
          ref.registry + " wants a user name and password; " +
          DescribeLogin(ref.registry));
    }
    authorization_[key] = "Basic " + Base64Encode(*credentials);
    return Status::Ok();
  }
  if (scheme != "bearer") {
    return Status::Unavailable(ref.registry + ": unknown auth scheme " +
                               scheme);
  }
  auto params = ChallengeParams(challenge);
  CURL* curl = static_cast<CURL*>(curl_);
  ASSIGN_OR_RETURN(std::string url,
                   FollowLocation("GET", challenged, params["realm"],
                                  "the token realm"));
  url += (url.find('?') == std::string::npos ? "?" : "&");
  url += "service=" + Escape(curl, params["service"]);
  url += "&scope=" + Escape(curl, "repository:" + ref.repository +
                                      (push_scope ? ":pull,push" : ":pull"));
  if (push_scope && !mount_scope_.empty()) {
    url += "&scope=" + Escape(curl, "repository:" + mount_scope_ + ":pull");
  }
  // The token server is asked with the login itself (Docker's token
  // flow), which goes to the realm's origin only.
  Credential login;
  ASSIGN_OR_RETURN(login.origin, UrlOrigin(url));
  if (credentials) login.authorization = "Basic " + Base64Encode(*credentials);
  authorization_.erase(key);
  ASSIGN_OR_RETURN(Response response,
                   Fetch("GET", url, {}, "", login, nullptr,
                         kMaxManifestBytes));
  if (response.status != 200) {
    return Status::FailedPrecondition(
        "token request to " + params["realm"] + " answered " +
        std::to_string(response.status) + " (" +
        DescribeLogin(ref.registry) + ")");
  }
  Json body = ParseJsonOrDiscarded(response.body);
  std::string token;
  if (body.is_object()) {
    token = body.value("token", body.value("access_token", ""));
  }
  if (token.empty()) {
    return Status::Unavailable("token endpoint " + params["realm"] +
                               " returned no token");
  }
  authorization_[key] = "Bearer " + token;
  return Status::Ok();
}

namespace {

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* headers = static_cast<std::map<std::string, std::string>*>(user);
  std::string line(data, size * count);
  size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) {
      value.pop_back();
    }
    (*headers)[AsciiLowercase(line.substr(0, colon))] = value;
  } else if (line.rfind("HTTP/", 0) == 0) {
    headers->clear();  // a new response (after a redirect or 100)
  }
  return size * count;
}

// When the bytes moved last, for a transfer that must not stall longer
// than `limit`.
struct StallWatch {
  explicit StallWatch(long limit_seconds)
      : limit(std::chrono::seconds(limit_seconds)),
        last_move(std::chrono::steady_clock::now()) {}

  std::chrono::steady_clock::duration limit;
  std::chrono::steady_clock::time_point last_move;
  curl_off_t downloaded = 0;
  curl_off_t uploaded = 0;
  bool stalled = false;
};

// libcurl's transfer callback (at least once a second): non-zero aborts.
int OnTransferProgress(void* user, curl_off_t, curl_off_t downloaded,
                       curl_off_t, curl_off_t uploaded) {
  auto* watch = static_cast<StallWatch*>(user);
  // A safe point (core/subprocess.h): the transfer is given up, and the
  // pull's temp file with it.
  if (!CancellationStatus().ok()) return 1;
  auto now = std::chrono::steady_clock::now();
  if (downloaded != watch->downloaded || uploaded != watch->uploaded) {
    watch->downloaded = downloaded;
    watch->uploaded = uploaded;
    watch->last_move = now;
    return 0;
  }
  watch->stalled = now - watch->last_move >= watch->limit;
  return watch->stalled ? 1 : 0;
}

// The most bytes kept of an answer that is not content (an error, a
// redirect, an upload's acknowledgement): enough for any error message.
constexpr uint64_t kMaxAnswerBytes = 1 << 20;

struct BodyTarget {
  CURL* curl;
  std::string* body;
  store::BlobWriter* sink;
  Status status;
  uint64_t limit = 0;  // the most bytes content (200, 206) may have
  uint64_t received = 0;
  std::string what;    // "GET URL", for the message
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* target = static_cast<BodyTarget*>(user);
  // The status first: only content is held to the size expected of it.
  // A 404's error body is longer than a 2-byte config, and is read for
  // its message.
  long code = 0;
  Curl().easy_getinfo(target->curl, CURLINFO_RESPONSE_CODE, &code);
  bool content = code == 200 || code == 206;
  // A registry that sends more than it declared (or forever) would fill
  // the disk or memory; returning 0 makes libcurl abort the transfer.
  target->received += size * count;
  if (content && target->received > target->limit) {
    target->status = Status::DataLoss(
        target->what + ": the registry sent more than the " +
        std::to_string(target->limit) + " bytes expected; refused");
    return 0;
  }
  if (!content && target->received > kMaxAnswerBytes) {
    target->status = Status::Unavailable(
        target->what + ": the registry's HTTP " + std::to_string(code) +
        " answer has more than " + std::to_string(kMaxAnswerBytes) +
        " bytes; refused");
    return 0;
  }
  if (target->sink != nullptr && content) {
    target->status = target->sink->Append(std::string_view(data, size * count));
    return target->status.ok() ? size * count : 0;
  }
  target->body->append(data, size * count);
  return size * count;
}

// The answers whose Location a GET follows (RFC 9110 section 15.4).
bool IsRedirect(long status) {
  return status == 301 || status == 302 || status == 303 || status == 307 ||
         status == 308;
}

constexpr int kMaxRedirects = 10;

// "GET URL", or, when the answer came from where a redirect led,
// "GET TARGET (reached by a redirect from URL)": an error names the
// server that gave it. A blob GET the registry sent to offloaded
// storage that refused it was reported as the registry's URL, which
// pointed at the registry and its login (found by a tester).
std::string Requested(const std::string& method, const std::string& url,
                      const std::string& answered) {
  if (answered == url) return method + " " + url;
  return method + " " + answered + " (reached by a redirect from " + url +
         ")";
}

// Why a 3xx answer to `method` is not followed, said in words: the
// answer has no body to quote, and "answered HTTP 302: " said nothing
// (found by a tester). Empty for an answer that is not a 3xx, and for
// a HEAD, whose callers read any answer but 200 as "not there".
std::string UnfollowedRedirect(const std::string& method, long status,
                               const std::string& location) {
  if (status < 300 || status > 399 || method == "HEAD") return "";
  std::string answered = " answered HTTP " + std::to_string(status);
  if (method != "GET") {
    return answered + ", a redirect; Lockstep follows the redirects of a "
                      "GET only";
  }
  if (!IsRedirect(status)) {
    return answered + ", which is no redirect Lockstep follows (only 301, "
                      "302, 303, 307 and 308)";
  }
  if (location.empty()) {
    return answered + ", a redirect without a Location to follow";
  }
  return "";
}

}  // namespace

namespace {

// The *.crt files of `dir`, in name order, as one PEM text.
std::string CertificatesIn(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code error;
  for (fs::directory_iterator it(dir, error), end; !error && it != end;
       it.increment(error)) {
    if (it->path().extension() == ".crt") files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  std::string pem;
  for (const fs::path& file : files) {
    Result<std::string> text = ReadFile(file);
    if (text.ok()) pem += *text + "\n";
  }
  return pem;
}

// The certs.d folder names podman and docker give `url`'s server:
// HOST:PORT, and HOST alone on the scheme's default port.
std::vector<std::string> CertsDirNames(const std::string& url) {
  Result<const CurlApi*> api = LoadCurl();
  if (!api.ok()) return {};
  CurlUrl parsed(**api);
  if (!parsed.Set(url)) return {};
  std::optional<std::string> host = parsed.Get(CURLUPART_HOST);
  std::optional<std::string> port = parsed.Get(CURLUPART_PORT);
  if (!host) return {};
  if (!port) return {*host};
  return {*host + ":" + *port};
}

}  // namespace

const std::string& Client::ExtraCasFor(const std::string& url) {
  Result<std::string> origin = UrlOrigin(url);
  std::string key = origin.ok() ? *origin : url;
  auto known = extra_cas_.find(key);
  if (known != extra_cas_.end()) return known->second;

  std::string pem;
  if (!options_.cert_dir.empty()) {
    pem = CertificatesIn(options_.cert_dir);
  } else {
    for (const char* root :
         {"/etc/containers/certs.d", "/etc/docker/certs.d"}) {
      for (const std::string& name : CertsDirNames(url)) {
        pem += CertificatesIn(fs::path(root) / name);
      }
    }
  }
  return extra_cas_.emplace(key, std::move(pem)).first->second;
}

Result<Client::Response> Client::Exchange(
    const std::string& method, const std::string& url,
    const std::vector<std::string>& headers, std::string_view body,
    store::BlobWriter* sink, uint64_t max_body) {
  RETURN_IF_ERROR(CancellationStatus());  // A safe point: no new request.
  ASSIGN_OR_RETURN(const CurlApi* loaded, LoadCurl());
  const CurlApi& api = *loaded;
  if (curl_ == nullptr) {
    return Status::Unavailable("libcurl could not create a handle");
  }
  CURL* curl = static_cast<CURL*>(curl_);
  api.easy_reset(curl);
  Response response;
  response.url = url;
  BodyTarget target{curl, &response.body, sink, Status::Ok(), max_body,
                    0, method + " " + url};
  curl_slist* list = nullptr;
  for (const std::string& header : headers) {
    list = api.slist_append(list, header.c_str());
  }
  list = api.slist_append(list, "Expect:");
  api.easy_setopt(curl, CURLOPT_URL, url.c_str());
  api.easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  api.easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  api.easy_setopt(curl, CURLOPT_HEADERDATA, &response.headers);
  api.easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  api.easy_setopt(curl, CURLOPT_WRITEDATA, &target);
  api.easy_setopt(curl, CURLOPT_USERAGENT, "lockstep/0.1");
  // A registry that stops answering (or never does) must not hang
  // the push or pull: a transfer in which no byte moves either way for
  // the timeout aborts. (libcurl's low-speed check averages over a
  // window, and fired seconds late.)
  StallWatch watch(options_.timeout_seconds);
  api.easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, options_.timeout_seconds);
  api.easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  api.easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, OnTransferProgress);
  api.easy_setopt(curl, CURLOPT_XFERINFODATA, &watch);
  if (!options_.verify_tls) {
    api.easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
    api.easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  // A private CA is trusted beside the system's: the blob replaces the
  // system bundle file, and the system's hashed folder stays.
  const std::string& extra_cas = ExtraCasFor(url);
  curl_blob cas{const_cast<char*>(extra_cas.data()), extra_cas.size(),
                CURL_BLOB_NOCOPY};
  if (options_.verify_tls && !extra_cas.empty()) {
    api.easy_setopt(curl, CURLOPT_CAINFO_BLOB, &cas);
    api.easy_setopt(curl, CURLOPT_CAPATH, "/etc/ssl/certs");
  }
  if (method == "HEAD") {
    api.easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (method != "GET") {
    api.easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
    api.easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    api.easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                    static_cast<curl_off_t>(body.size()));
  }
  CURLcode code = api.easy_perform(curl);
  api.slist_free_all(list);
  if (!target.status.ok()) return target.status;
  RETURN_IF_ERROR(CancellationStatus());
  if (code == CURLE_OPERATION_TIMEDOUT ||
      (code == CURLE_ABORTED_BY_CALLBACK && watch.stalled)) {
    return Status::Unavailable(
        method + " " + url + ": no progress for " +
        std::to_string(options_.timeout_seconds) +
        " seconds; the registry stopped answering (--timeout)");
  }
  if (code != CURLE_OK) {
    // The usual cause: a plain-HTTP registry (a local one) asked for
    // TLS.
    bool plain_http_likely = code == CURLE_SSL_CONNECT_ERROR &&
                             url.starts_with("https://");
    std::string hint =
        plain_http_likely
            ? "; if the registry serves plain HTTP, give --insecure"
        : code == CURLE_PEER_FAILED_VERIFICATION
            ? "; to trust a private CA, put it in "
              "/etc/containers/certs.d/HOST:PORT/ca.crt or give --cert-dir "
              "DIR (DIR/*.crt)"
            : "";
    return Status::Unavailable(method + " " + url + ": " +
                               api.easy_strerror(code) + hint);
  }
  api.easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

Result<Client::Response> Client::Fetch(const std::string& method,
                                       const std::string& url,
                                       const std::vector<std::string>& headers,
                                       std::string_view body,
                                       const Credential& credential,
                                       store::BlobWriter* sink,
                                       uint64_t max_body) {
  std::string at = url;
  for (int redirects = 0;; ++redirects) {
    // Upload URLs and redirects may lead to other servers (offloaded
    // storage), which must not learn the registry's login.
    ASSIGN_OR_RETURN(std::string origin, UrlOrigin(at));
    std::vector<std::string> sent = headers;
    if (!credential.authorization.empty() && origin == credential.origin) {
      sent.push_back("Authorization: " + credential.authorization);
    }
    ASSIGN_OR_RETURN(Response response,
                     Exchange(method, at, sent, body, sink, max_body));
    std::string location = response.Header("location");
    std::string unfollowed =
        UnfollowedRedirect(method, response.status, location);
    if (!unfollowed.empty()) {
      // The registry breaks the protocol: exit 6, as before.
      return Status::Unavailable(Requested(method, url, at) + unfollowed);
    }
    if (method != "GET" || !IsRedirect(response.status)) {
      return response;
    }
    if (redirects == kMaxRedirects) {
      return Status::Unavailable("GET " + url + ": more than " +
                                 std::to_string(kMaxRedirects) +
                                 " redirects; refused");
    }
    ASSIGN_OR_RETURN(at, FollowLocation(method, at, location));
  }
}

Result<Client::Response> Client::Send(const Reference& ref,
                                      const std::string& method,
                                      const std::string& url,
                                      std::vector<std::string> headers,
                                      std::string_view body, bool push_scope,
                                      store::BlobWriter* sink,
                                      uint64_t max_body) {
  std::string key = ref.registry + "|" + ref.repository + "|" +
                    (push_scope ? "push" : "pull");
  Credential credential;
  ASSIGN_OR_RETURN(credential.origin,
                   UrlOrigin(ref.scheme + "://" + ref.registry + "/"));
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto auth = authorization_.find(key);
    credential.authorization =
        auth == authorization_.end() ? "" : auth->second;
    ASSIGN_OR_RETURN(Response response,
                     Fetch(method, url, headers, body, credential, sink,
                           max_body));
    // Only the registry's own challenge is answered with its login.
    ASSIGN_OR_RETURN(std::string answered, UrlOrigin(response.url));
    if (response.status != 401 || answered != credential.origin) {
      return response;
    }
    if (attempt == 1) {
      // Missing or refused credentials, whether Basic or a token's: the
      // same exit code in both modes (the machine lacks a usable login).
      return Status::FailedPrecondition(
          method + " " + url + " answered 401 after authenticating (" +
          DescribeLogin(ref.registry) + ")");
    }
    std::string challenge = response.Header("www-authenticate");
    if (challenge.empty()) return response;
    RETURN_IF_ERROR(Authenticate(ref, challenge, response.url, push_scope));
  }
  return Status::Internal("unreachable");
}

namespace {

std::string BaseUrl(const Reference& ref) {
  return ref.scheme + "://" + ref.registry + "/v2/" + ref.repository;
}

// The status an OCI error code stands for, from the client's side: what
// the registry says is missing is NotFound, what it refuses as sent is
// InvalidArgument, a login it refuses FailedPrecondition (as when none
// is found); other codes, and a body without one, are the network or the
// registry failing.
StatusCode CodeOfRegistryError(std::string_view code) {
  static constexpr std::string_view kMissing[] = {
      "BLOB_UNKNOWN", "BLOB_UPLOAD_UNKNOWN", "MANIFEST_UNKNOWN",
      "NAME_UNKNOWN"};
  static constexpr std::string_view kRefused[] = {
      "BLOB_UPLOAD_INVALID", "DIGEST_INVALID",        "MANIFEST_BLOB_UNKNOWN",
      "MANIFEST_INVALID",    "MANIFEST_UNVERIFIED",   "NAME_INVALID",
      "SIZE_INVALID",        "TAG_INVALID",           "UNSUPPORTED"};
  for (std::string_view missing : kMissing) {
    if (code == missing) return StatusCode::kNotFound;
  }
  for (std::string_view refused : kRefused) {
    if (code == refused) return StatusCode::kInvalidArgument;
  }
  if (code == "DENIED" || code == "UNAUTHORIZED") {
    return StatusCode::kFailedPrecondition;
  }
  return StatusCode::kUnavailable;
}

// An answer other than the one expected, named by the first OCI error
// code and message of its body when it has them.
Status Unexpected(const std::string& what, long status,
                  const std::string& body) {
  std::string message = what + " answered HTTP " + std::to_string(status);
  Json parsed = ParseJsonOrDiscarded(body);
  const Json* error = nullptr;
  if (parsed.is_object() && parsed.contains("errors") &&
      parsed["errors"].is_array() && !parsed["errors"].empty() &&
      parsed["errors"][0].is_object()) {
    error = &parsed["errors"][0];
  }
  if (error == nullptr || !error->contains("code") ||
      !(*error)["code"].is_string()) {
    return Status::Unavailable(message + ": " + body.substr(0, 300));
  }
  std::string code = (*error)["code"];
  message += " " + code;
  if (error->contains("message") && (*error)["message"].is_string()) {
    message += ": " + (*error)["message"].get<std::string>().substr(0, 300);
  }
  if (status >= 500) return Status::Unavailable(message);
  return Status(CodeOfRegistryError(code), message);
}

// Where to resume a chunked upload after a 416 whose Range header is
// `range` ("0-LAST", or absent when the registry has nothing), the refused
// chunk having started at `attempted`. Registries report an empty upload
// and a one-byte one alike as "0-0" (distribution does), so that case
// resumes at 0 unless 0 was just refused, and then at 1. Nullopt when the
// header is malformed.
std::optional<uint64_t> ResumeOffset(const std::string& range,
                                     uint64_t attempted) {
  if (range.empty()) return 0;
  std::string_view text = range;
  if (text.rfind("bytes=", 0) == 0) text.remove_prefix(6);
  std::optional<ByteSpan> held = ParseChunkRange(text);
  if (!held) return std::nullopt;
  uint64_t last = held->last;
  if (last == 0) return attempted == 0 ? 1 : 0;
  return last + 1;
}

}  // namespace

namespace {

// DataLoss when the bytes of `digest` at `where` (hashed while they were
// sent when `sent` is set, else read again) do not hash to it.
Status CheckSent(const Digest& digest,
                 const store::BlobStore::Location& where,
                 std::optional<Digest> sent) {
  if (!sent) {
    int fd = ::open(where.file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus(where.file, errno);
    Sha256 hasher;
    std::string buffer(kHashChunkSize, '\0');
    uint64_t done = 0;
    Status status;
    while (done < where.size) {
      size_t want = static_cast<size_t>(
          std::min<uint64_t>(buffer.size(), where.size - done));
      ssize_t got = ::pread(fd, buffer.data(), want,
                            static_cast<off_t>(where.offset + done));
      if (got <= 0) {
        status = got < 0 ? ErrnoStatus(where.file, errno)
                         : Status::DataLoss(where.file.string() +
                                            ": shorter than blob " +
                                            digest.ToString());
        break;
      }
      hasher.Update(buffer.data(), static_cast<size_t>(got));
      done += static_cast<uint64_t>(got);
    }
    ::close(fd);
    RETURN_IF_ERROR(status);
    sent = hasher.Finish();
  }
  if (*sent == digest) return Status::Ok();
  return Status::DataLoss("blob " + digest.ToString() + " in " +
                          where.file.string() + " is corrupt: its bytes "
                          "hash to " + sent->ToString() + "; not pushed");
}

}  // namespace

Result<bool> Client::UploadBlob(const Reference& ref, const Digest& digest,
                                const std::string& mount_from, bool* mounted) {
  *mounted = false;
  std::string blob_url = BaseUrl(ref) + "/blobs/" + digest.ToString();
  ASSIGN_OR_RETURN(Response head, Send(ref, "HEAD", blob_url, {}, "", true));
  if (head.status == 200) return false;

  std::string start = BaseUrl(ref) + "/blobs/uploads/";
  if (!mount_from.empty()) {
    start += "?mount=" + digest.ToString() + "&from=" + mount_from;
  }
  ASSIGN_OR_RETURN(Response post, Send(ref, "POST", start, {}, "", true));
  if (post.status == 201) {
    *mounted = true;  // only a 201 means the blob is there
    return true;
  }
  if (post.status != 202) return Unexpected("POST " + start, post.status,
                                            post.body);
  // The upload's URL is the last Location the registry gave, resolved
  // against the URL of the request that gave it.
  ASSIGN_OR_RETURN(std::string location,
                   FollowLocation("POST", start, post.Header("location")));

  // Loose or packed: the bytes are `size` bytes of `where.file`.
  ASSIGN_OR_RETURN(store::BlobStore::Location where, blobs_.Locate(digest));
  const uint64_t size = where.size;
  int fd = ::open(where.file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(where.file, errno);
  std::string chunk;
  uint64_t offset = 0;
  int resumes = 0;
  Status status;
  // The bytes sent are hashed as they go, so a blob that rotted in the
  // store is caught before the PUT would name it (a resume that goes
  // back makes a second read necessary).
  Sha256 sent;
  uint64_t hashed = 0;
  bool in_order = true;
  while (offset < size && status.ok()) {
    chunk.resize(std::min<uint64_t>(options_.chunk_size, size - offset));
    ssize_t got = ::pread(fd, chunk.data(), chunk.size(),
                          static_cast<off_t>(where.offset + offset));
    if (got <= 0) {
      status = ErrnoStatus(where.file, errno);
      break;
    }
    chunk.resize(static_cast<size_t>(got));
    std::string range = "Content-Range: " + std::to_string(offset) + "-" +
                        std::to_string(offset + chunk.size() - 1);
    Result<Response> patch = Send(
        ref, "PATCH", location,
        {range, "Content-Type: application/octet-stream"}, chunk, true);
    if (!patch.ok()) {
      status = patch.status();
      break;
    }
    if (patch->status == 416 && ++resumes < 5) {
      // Resume from where the registry says the upload ends.
      std::optional<uint64_t> resume =
          ResumeOffset(patch->Header("range"), offset);
      if (!resume || *resume > size) {
        status = Unexpected("PATCH " + location + " (Range '" +
                                patch->Header("range") + "')",
                            patch->status, patch->body);
        break;
      }
      if (*resume != hashed) in_order = false;
      offset = *resume;
    } else if (patch->status != 202) {
      status = Unexpected("PATCH " + location, patch->status, patch->body);
      break;
    } else {
      if (in_order && offset == hashed) {
        sent.Update(chunk);
        hashed += chunk.size();
      }
      offset += chunk.size();
    }
    if (!patch->Header("location").empty()) {
      Result<std::string> next =
          FollowLocation("PATCH", location, patch->Header("location"));
      if (!next.ok()) {
        status = next.status();
        break;
      }
      location = *next;
    }
  }
  ::close(fd);
  if (status.ok()) {
    status = CheckSent(digest, where,
                       in_order && hashed == size
                           ? std::optional<Digest>(sent.Finish())
                           : std::nullopt);
  }
  if (!status.ok()) {
    // Cancelled, so the registry drops what it holds of it now rather
    // than at its own cleanup (the answer changes nothing here).
    (void)Send(ref, "DELETE", location, {}, "", true);
    return status;
  }

  std::string put = location +
                    (location.find('?') == std::string::npos ? "?" : "&") +
                    "digest=" + digest.ToString();
  ASSIGN_OR_RETURN(Response done,
                   Send(ref, "PUT", put,
                        {"Content-Type: application/octet-stream"}, "", true));
  if (done.status != 201) {
    return Unexpected("PUT " + put, done.status, done.body);
  }
  return true;
}

namespace {

// A manifest PUT the registry did not accept. DENIED after blobs were
// written under the same login refuses the manifest itself (an
// immutable tag moved, a registry policy), not the login: InvalidArgument
// like the other refusals of what was pushed. Without blobs written it
// may be the login that may only pull, as before.
Status ManifestRefused(const std::string& what, long status,
                       const std::string& body, bool wrote_blobs) {
  Status refused = Unexpected(what, status, body);
  if (wrote_blobs && status == 403 &&
      refused.code() == StatusCode::kFailedPrecondition) {
    return Status::InvalidArgument(refused.message());
  }
  return refused;
}

// Where a manifest hashing to `digest` is put: under the target's tag, or
// its digest. A target that names another digest is refused: the
// registry would store the manifest under its own digest, and the one
// named would not exist.
Result<std::string> ManifestPutReference(const Reference& target,
                                         const Digest& digest) {
  if (!target.digest.empty() && target.digest != digest.ToString()) {
    return Status::InvalidArgument(
        target.ToString() + ": the manifest pushed hashes to " +
        digest.ToString() + ", not " + target.digest +
        "; push to a tag, or to the digest the manifest has");
  }
  return target.tag.empty() ? digest.ToString() : target.tag;
}

}  // namespace

Result<std::string> Client::ArtifactManifest(const Reference& target,
                                             const PushRequest& request,
                                             const Digest& config) {
  Json layers = Json::array();
  for (const PushLayer& layer : request.layers) {
    if (!blobs_.Contains(layer.digest)) {
      return Status::NotFound("blob " + layer.digest.ToString() +
                              " is not in the store");
    }
    Json entry = {{"mediaType", layer.media_type},
                  {"digest", layer.digest.ToString()},
                  {"size", *blobs_.SizeOf(layer.digest)}};
    if (layer.annotations.is_object()) entry["annotations"] = layer.annotations;
    layers.push_back(std::move(entry));
  }
  Json manifest = {{"schemaVersion", 2},
                   {"mediaType", std::string(kOciManifest)},
                   {"artifactType", request.artifact_type},
                   {"config", {{"mediaType", std::string(kOciEmptyConfig)},
                               {"digest", config.ToString()},
                               {"size", 2}}},
                   {"layers", layers}};
  if (request.subject) {
    ASSIGN_OR_RETURN(manifest["subject"], SubjectDescriptor(target, request));
  }
  if (request.annotations.is_object()) {
    manifest["annotations"] = request.annotations;
  }
  return manifest.dump();
}

Result<Json> Client::SubjectDescriptor(const Reference& target,
                                       const PushRequest& request) {
  std::string media_type = request.subject_media_type;
  int64_t size = request.subject_size;
  if (media_type.empty() || size == 0) {
    // Describe the subject as the registry holds it.
    std::string url = BaseUrl(target) + "/manifests/" +
                      request.subject->ToString();
    std::string accept = "Accept: " + std::string(kOciManifest) + ", " +
                         std::string(kOciIndex) + ", " +
                         std::string(kDockerManifest) + ", " +
                         std::string(kDockerManifestList);
    ASSIGN_OR_RETURN(Response head,
                     Send(target, "GET", url, {accept}, "", true));
    if (head.status == 404) {
      return Status::NotFound("--subject " + request.subject->ToString() +
                              " is not a manifest in " + target.repository);
    }
    if (head.status != 200) {
      return Unexpected("subject " + Requested("GET", url, head.url),
                        head.status, head.body);
    }
    if (Sha256Of(head.body) != *request.subject) {
      return Status::DataLoss(url + ": subject bytes do not match");
    }
    media_type = head.Header("content-type");
    size = static_cast<int64_t>(head.body.size());
  }
  return Json{{"mediaType", media_type},
              {"digest", request.subject->ToString()},
              {"size", size}};
}

Result<PushResult> Client::Push(const Reference& target,
                                const PushRequest& request) {
  PushResult result;
  mount_scope_ = request.mount_from;
  // Artifacts carry the spec's empty config.
  ASSIGN_OR_RETURN(Digest config, blobs_.PutBytes("{}"));
  // The manifest first: a target it cannot be put under is refused
  // before any blob goes up.
  ASSIGN_OR_RETURN(std::string body,
                   ArtifactManifest(target, request, config));
  result.manifest = Sha256Of(body);
  ASSIGN_OR_RETURN(std::string reference,
                   ManifestPutReference(target, result.manifest));

  std::vector<Digest> digests{config};
  for (const PushLayer& layer : request.layers) {
    digests.push_back(layer.digest);
  }
  RETURN_IF_ERROR(UploadBlobs(target, digests, request.mount_from, &result));
  ASSIGN_OR_RETURN(Response put,
                   PutManifestBody(target, reference, std::string(kOciManifest),
                                   body, result.manifest,
                                   result.uploaded + result.mounted > 0));
  // No OCI-Subject: the registry has no referrers API, and distribution
  // spec 1.1 has the client keep the referrers tag instead.
  if (request.subject && put.Header("oci-subject").empty()) {
    Json descriptor = {{"mediaType", std::string(kOciManifest)},
                       {"digest", result.manifest.ToString()},
                       {"size", body.size()},
                       {"artifactType", request.artifact_type}};
    if (request.annotations.is_object()) {
      descriptor["annotations"] = request.annotations;
    }
    RETURN_IF_ERROR(
        AddToReferrersTag(target, *request.subject, std::move(descriptor)));
  }
  return result;
}

Status Client::AddToReferrersTag(const Reference& target,
                                 const Digest& subject, Json descriptor) {
  // The tag is the subject's digest with ':' made '-' (spec 1.1).
  std::string url =
      BaseUrl(target) + "/manifests/sha256-" + subject.hex();
  std::string index_type(kOciIndex);
  ASSIGN_OR_RETURN(Response got,
                   Send(target, "GET", url, {"Accept: " + index_type}, "",
                        true));
  Json index = {{"schemaVersion", 2},
                {"mediaType", index_type},
                {"manifests", Json::array()}};
  if (got.status == 200) {
    Json known = ParseJsonOrDiscarded(got.body);
    if (!known.is_object() || !known.contains("manifests") ||
        !known["manifests"].is_array()) {
      return Status::InvalidArgument(url + ": the referrers tag holds no "
                                     "image index");
    }
    index = std::move(known);
  } else if (got.status != 404) {
    return Unexpected(Requested("GET", url, got.url), got.status,
                      got.body);
  }
  for (const Json& listed : index["manifests"]) {
    if (listed.value("digest", "") == descriptor["digest"]) {
      return Status::Ok();  // Listed already (a push repeated).
    }
  }
  index["manifests"].push_back(std::move(descriptor));
  std::string body = index.dump();
  ASSIGN_OR_RETURN(Response put,
                   Send(target, "PUT", url, {"Content-Type: " + index_type},
                        body, true));
  if (put.status != 201) return Unexpected("PUT " + url, put.status, put.body);
  return Status::Ok();
}

Result<Digest> Client::PushManifest(const Reference& target,
                                    const std::vector<Digest>& blobs,
                                    const std::string& media_type,
                                    const std::string& body) {
  mount_scope_.clear();
  // As for an artifact: a target the manifest cannot be put under is
  // refused before any blob goes up.
  Digest digest = Sha256Of(body);
  ASSIGN_OR_RETURN(std::string reference,
                   ManifestPutReference(target, digest));
  PushResult sent;
  RETURN_IF_ERROR(UploadBlobs(target, blobs, "", &sent));
  RETURN_IF_ERROR(PutManifestBody(target, reference, media_type, body, digest,
                                  sent.uploaded + sent.mounted > 0)
                      .status());
  return digest;
}

Status Client::UploadBlobs(const Reference& target,
                           const std::vector<Digest>& digests,
                           const std::string& mount_from,
                           PushResult* counts) {
  uint64_t total = 0;
  for (const Digest& digest : digests) {
    ASSIGN_OR_RETURN(uint64_t size, blobs_.SizeOf(digest));
    total += size;
  }
  Progress progress("pushing " + target.ToString(), total, "B");
  for (const Digest& digest : digests) {
    bool mounted = false;
    ASSIGN_OR_RETURN(bool sent,
                     UploadBlob(target, digest, mount_from, &mounted));
    if (mounted) {
      ++counts->mounted;
    } else if (sent) {
      ++counts->uploaded;
    } else {
      ++counts->skipped;
    }
    progress.Advance(*blobs_.SizeOf(digest));
  }
  progress.Finish();
  return Status::Ok();
}

Result<Client::Response> Client::PutManifestBody(
    const Reference& target, const std::string& reference,
    const std::string& media_type, const std::string& body,
    const Digest& digest, bool wrote_blobs) {
  std::string url = BaseUrl(target) + "/manifests/" + reference;
  ASSIGN_OR_RETURN(Response put,
                   Send(target, "PUT", url, {"Content-Type: " + media_type},
                        body, true));
  if (put.status != 201) {
    return ManifestRefused("PUT " + url, put.status, put.body, wrote_blobs);
  }
  std::string echoed = put.Header("docker-content-digest");
  if (!echoed.empty() && echoed != digest.ToString()) {
    return Status::DataLoss("registry stored the manifest as " + echoed +
                            ", not " + digest.ToString());
  }
  return put;
}

namespace {

// The size a descriptor declares, which its bytes must have.
uint64_t DeclaredSize(const Descriptor& descriptor) {
  return descriptor.size < 0 ? 0 : static_cast<uint64_t>(descriptor.size);
}

// DataLoss unless `bytes` is the size that `listed`, a descriptor of the
// manifest `manifest`, declares. The digest alone would accept content
// cut short under a descriptor that says it is longer: the image spec
// has such content not trusted, and Lockstep's registry refuses such a
// manifest.
Status CheckDeclaredSize(const Digest& manifest, const Descriptor& listed,
                         uint64_t bytes) {
  if (bytes == DeclaredSize(listed)) return Status::Ok();
  return Status::DataLoss("manifest " + manifest.ToString() + " " +
                          listed.where + ": " + listed.digest.ToString() +
                          " has " + std::to_string(bytes) +
                          " bytes, but its descriptor declares " +
                          std::to_string(listed.size) + "; refused");
}

}  // namespace

Status Client::PullBlob(const Reference& ref, const Digest& manifest,
                        const Descriptor& listed, PullResult* result) {
  if (blobs_.Contains(listed.digest)) {
    ASSIGN_OR_RETURN(uint64_t size, blobs_.SizeOf(listed.digest));
    RETURN_IF_ERROR(CheckDeclaredSize(manifest, listed, size));
    ++result->present;
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(std::unique_ptr<store::BlobWriter> writer,
                   blobs_.NewWriter());
  std::string url = BaseUrl(ref) + "/blobs/" + listed.digest.ToString();
  ASSIGN_OR_RETURN(Response response,
                   Send(ref, "GET", url, {}, "", false, writer.get(),
                        DeclaredSize(listed)));
  if (response.status != 200) {
    return Unexpected(Requested("GET", url, response.url), response.status,
                      response.body);
  }
  RETURN_IF_ERROR(CheckDeclaredSize(manifest, listed, writer->size()));
  Result<Digest> committed = writer->Commit(&listed.digest);
  if (!committed.ok()) {
    return Status::DataLoss(url + ": " + committed.status().message());
  }
  ++result->downloaded;
  return Status::Ok();
}

Status Client::PullManifestTree(const Reference& ref,
                                const std::string& reference,
                                const Digest* index, const Descriptor* listed,
                                int depth, PullResult* result) {
  if (depth > kMaxIndexDepth) {
    return Status::InvalidArgument(ref.ToString() + ": indexes nest too deep");
  }
  std::string url = BaseUrl(ref) + "/manifests/" + reference;
  std::string accept = "Accept: " + std::string(kOciManifest) + ", " +
                       std::string(kOciIndex) + ", " +
                       std::string(kDockerManifest) + ", " +
                       std::string(kDockerManifestList);
  // The top manifest's size is not declared anywhere; registries refuse
  // manifests above 4 MiB.
  uint64_t max_size =
      listed != nullptr ? DeclaredSize(*listed) : kMaxManifestBytes;
  ASSIGN_OR_RETURN(Response response,
                   Send(ref, "GET", url, {accept}, "", false, nullptr,
                        max_size));
  if (response.status == 404) {
    return Status::NotFound(ref.registry + "/" + ref.repository + ": no " +
                            (reference.find(':') == std::string::npos
                                 ? "tag "
                                 : "manifest ") +
                            reference + " (GET " + url + " answered 404)");
  }
  if (response.status != 200) {
    return Unexpected(Requested("GET", url, response.url), response.status,
                      response.body);
  }
  Digest digest = Sha256Of(response.body);
  std::string echoed = response.Header("docker-content-digest");
  bool by_digest = reference.find(':') != std::string::npos;
  if (by_digest && reference != digest.ToString()) {
    return Status::DataLoss(url + ": manifest hashes to " +
                            digest.ToString() + ", not " + reference);
  }
  // Said apart: by digest, the two would name the same digest twice.
  if (!echoed.empty() && echoed != digest.ToString()) {
    return Status::DataLoss(url + ": the registry names the manifest " +
                            echoed + " (Docker-Content-Digest), but its "
                            "bytes hash to " + digest.ToString());
  }
  if (listed != nullptr) {
    RETURN_IF_ERROR(CheckDeclaredSize(*index, *listed, response.body.size()));
  }
  RETURN_IF_ERROR(blobs_.PutBytes(response.body).status());
  ASSIGN_OR_RETURN(ParsedManifest parsed,
                   ParseManifest(response.body, response.Header(
                                                    "content-type")));
  for (const Descriptor& child : parsed.children) {
    RETURN_IF_ERROR(PullManifestTree(ref, child.digest.ToString(), &digest,
                                     &child, depth + 1, result));
  }
  Progress progress("pulling " + ref.repository + "@" + digest.Short(),
                    parsed.blobs.size(), "blobs");
  for (const Descriptor& blob : parsed.blobs) {
    RETURN_IF_ERROR(PullBlob(ref, digest, blob, result));
    progress.Advance(1);
  }
  progress.Finish();
  if (depth == 0) {
    result->manifest = digest;
    result->media_type = parsed.media_type;
    result->body = response.body;
    for (size_t i = 1; i < parsed.blobs.size(); ++i) {
      const Descriptor& layer = parsed.blobs[i];
      result->layers.push_back(
          {layer.digest, layer.media_type, layer.annotations});
    }
  }
  return Status::Ok();
}

Result<PullResult> Client::Pull(const Reference& source) {
  PullResult result;
  RETURN_IF_ERROR(PullManifestTree(source, source.ManifestReference(),
                                   nullptr, nullptr, 0, &result));
  return result;
}

}  // namespace lockstep::registry
