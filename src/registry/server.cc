// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "registry/server.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <charconv>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>

#include <httplib.h>

#include "core/ascii.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/utf8.h"
#include "registry/byte_range.h"
#include "registry/connection_pool.h"
#include "registry/deadline_server.h"
#include "registry/header_deadline.h"

namespace lockstep::registry {
namespace {

// The parts of a /v2/... path.
struct Route {
  enum Kind {
    kBase, kCatalog, kTags, kManifest, kUploadStart, kUpload, kBlob,
    kReferrers, kUnknown
  } kind = kUnknown;
  std::string repo;
  std::string rest;  // reference, digest or session id
};

Route ParseRoute(const std::string& path) {
  Route route;
  std::string tail = path.substr(4);  // after "/v2/"
  if (tail.empty()) {
    route.kind = Route::kBase;
    return route;
  }
  if (tail == "_catalog") {
    route.kind = Route::kCatalog;
    return route;
  }
  if (tail.size() > 10 && tail.ends_with("/tags/list")) {
    route.kind = Route::kTags;
    route.repo = tail.substr(0, tail.size() - 10);
    return route;
  }
  if (tail.ends_with("/blobs/uploads")) {
    route.kind = Route::kUploadStart;
    route.repo = tail.substr(0, tail.size() - 14);
    return route;
  }
  // A reference, digest or upload id holds no '/', so the last part is
  // it and the marker ends what is left: a repository may itself be
  // named "a/manifests/x" or "a/blobs/uploads" (found by a tester).
  struct Marker {
    std::string_view text;
    Route::Kind kind;
  };
  const Marker markers[] = {
      {"/blobs/uploads", Route::kUpload}, {"/manifests", Route::kManifest},
      {"/blobs", Route::kBlob},           {"/referrers", Route::kReferrers},
  };
  size_t last = tail.rfind('/');
  if (last == std::string::npos) return route;
  std::string_view head(tail.data(), last);
  for (const Marker& marker : markers) {
    if (head.size() <= marker.text.size() || !head.ends_with(marker.text)) {
      continue;
    }
    route.kind = marker.kind;
    route.repo = head.substr(0, head.size() - marker.text.size());
    route.rest = tail.substr(last + 1);
    if (route.kind == Route::kUpload && route.rest.empty()) {
      route.kind = Route::kUploadStart;
    }
    return route;
  }
  return route;
}

// JSON bodies go out as distribution sends them. httplib 0.11 gzips a
// body whose type is exactly "application/json" for any client that
// accepts gzip, as Go's all do: a fresh deflate state per response, even
// for the 404 of every blob HEAD in a push (whose body is never sent),
// and the 2-byte "{}" of /v2/ grew to 22.
constexpr char kJson[] = "application/json; charset=utf-8";

// Whether a 4xx is one of the protocol's everyday answers (a login
// asked for, a blob HEAD that finds nothing, a chunk to resend), logged
// only with -v; any other refusal is logged as it is sent.
bool IsRoutineRefusal(int http_status) {
  return http_status == 401 || http_status == 404 || http_status == 416;
}

// A 500 is the registry's own failure, which its client cannot see the
// cause of: the operator reads it here, as distribution logs every 5xx.
// A refused request is logged too (found by a tester: why a push failed
// showed nowhere on the server).
// `routine` puts a refusal of another status among the everyday ones.
void LogRefusal(const httplib::Request& req, const ApiError& error,
                bool routine = false) {
  LogLevel level = error.http_status == 500 ? LogLevel::kError
                   : routine || IsRoutineRefusal(error.http_status)
                       ? LogLevel::kDebug
                       : LogLevel::kInfo;
  if (GetLogLevel() <= level) {
    const std::string& why =
        error.cause.empty() ? error.message : error.cause;
    // Control bytes escaped: a request must not forge a log line.
    LogMessage(level, fmt::format("registry: {} {}: {} {}: {}", req.method,
                                  DisplayPath(req.path), error.http_status,
                                  error.code, DisplayPath(why)));
  }
}

// An answer that is no refusal, with -v only (as an access log): a
// tester could not see from the server that a mount was answered 201.
// Refusals are logged as they are sent (LogRefusal).
void LogAnswer(const httplib::Request& req, const httplib::Response& res) {
  if (res.status >= 400 || GetLogLevel() > LogLevel::kDebug) return;
  LogDebug("registry: {} {}: {} (from {}:{})", req.method,
           DisplayPath(req.path), res.status, req.remote_addr,
           req.remote_port);
}

void SendError(const httplib::Request& req, httplib::Response& res,
               const ApiError& error) {
  LogRefusal(req, error);
  res.status = error.http_status;
  // Busy, not wrong: a client may ask again in a second.
  if (error.http_status == 429 || error.http_status == 503) {
    res.set_header("Retry-After", "1");
  }
  res.set_content(error.ToJson(), kJson);
}

// httplib 0.11 adds "Accept-Ranges: bytes" to every HEAD response that
// has no such header, yet only blob GETs honour Range, and a HEAD must
// say what its GET says (RFC 9110 section 9.3.2). So each GET and HEAD
// says it itself: "none" unless it is a blob's.
void SetAcceptRanges(httplib::Response& res, const char* value) {
  res.headers.erase("Accept-Ranges");
  res.set_header("Accept-Ranges", value);
}

std::string UploadLocation(const std::string& repo, const std::string& id) {
  return "/v2/" + repo + "/blobs/uploads/" + id;
}

std::string RangeValue(uint64_t size) {
  return "0-" + std::to_string(size == 0 ? 0 : size - 1);
}

void SendUploadState(httplib::Response& res, const std::string& repo,
                     const UploadState& state, int status) {
  res.status = status;
  res.set_header("Location", UploadLocation(repo, state.id));
  res.set_header("Range", RangeValue(state.size));
  res.set_header("Docker-Upload-UUID", state.id);
}

// The page size `n`: a whole decimal number, all of it ("2abc", "0x2"
// and "2.5" are not, as distribution says too). Unset when not given
// or empty.
// Each refusal says what is wrong: all used to be "n must be >= 0".
ApiResult<std::optional<int64_t>> ParseN(const httplib::Request& req) {
  std::string text = req.get_param_value("n");
  // "?n=" is no page size, as for distribution (it was refused).
  if (text.empty()) return std::optional<int64_t>();
  auto invalid = [](const std::string& message) {
    return ApiError{400, "PAGINATION_NUMBER_INVALID", message};
  };
  int64_t n = 0;
  const char* end = text.data() + text.size();
  auto [stop, error] = std::from_chars(text.data(), end, n);
  bool whole = stop == end && (error == std::errc() ||
                                error == std::errc::result_out_of_range);
  if (!whole) {
    return invalid("n must be a whole number, not '" + text + "'");
  }
  bool huge = error == std::errc::result_out_of_range;
  if (n < 0 || (huge && text[0] == '-')) {
    return invalid("n must be >= 0, not " + text);
  }
  if (huge) {
    return invalid("n=" + text + " is too large (at most " +
                   std::to_string(INT64_MAX) + ")");
  }
  return std::optional<int64_t>(n);
}

// The span a chunk's Content-Range claims, checked against the body's
// Content-Length when both are given: a chunk that says it is 16 bytes
// but carries 10 must not be stored as if it were whole. A chunked body
// has no length to check before it is read; AppendChunk checks it after.
// Unset when the request has no Content-Range; an error when it is
// malformed or disagrees.
ApiResult<std::optional<ByteSpan>> ChunkSpan(const httplib::Request& req) {
  if (!req.has_header("Content-Range")) return std::optional<ByteSpan>();
  std::string value = req.get_header_value("Content-Range");
  std::optional<ByteSpan> span = ParseChunkRange(value);
  if (!span) {
    return ApiError{416, "BLOB_UPLOAD_INVALID",
                    "malformed Content-Range '" + value + "'"};
  }
  std::string length = req.get_header_value("Content-Length");
  if (!length.empty() && length != std::to_string(span->length())) {
    return ApiError{416, "BLOB_UPLOAD_INVALID",
                    "Content-Range " + value + " covers " +
                        std::to_string(span->length()) +
                        " bytes but the body has " + length};
  }
  return span;
}

// True when the request carries a body to read. httplib would wait for the
// connection to close on a bodiless request without Content-Length.
bool HasBody(const httplib::Request& req) {
  // Transfer codings are named in any case (RFC 9112 section 7).
  if (AsciiLowercase(req.get_header_value("Transfer-Encoding"))
          .find("chunked") != std::string::npos) {
    return true;
  }
  std::string length = req.get_header_value("Content-Length");
  return !length.empty() && length != "0";
}

// httplib 0.11 reads a request body only for POST, PUT, PATCH and
// DELETE. The body of any other request stayed on the connection and was
// read as the next request, which httplib answered with a bare 400 the
// client never asked for (the OCI conformance suite's GET with a chunked
// body got one; a client then takes it as the answer to its next
// request). Such a request is routed as a POST, so that httplib reads its
// body, and refused once the body is read; this header, which no client
// can set, keeps its real method.
constexpr char kUnreadMethodHeader[] = "Lockstep-Unread-Method";

bool HasUnreadBody(const httplib::Request& req) {
  bool read = req.method == "POST" || req.method == "PUT" ||
              req.method == "PATCH" || req.method == "DELETE";
  return !read && HasBody(req);
}

// Two Content-Length headers that differ leave the body's end in doubt:
// httplib takes the first, a proxy in front may take the last, and the
// rest is then read as a request (RFC 9112 section 6.3: an error).
bool HasConflictingLengths(const httplib::Request& req) {
  size_t count = req.get_header_value_count("Content-Length");
  for (size_t i = 1; i < count; ++i) {
    if (req.get_header_value("Content-Length", i) !=
        req.get_header_value("Content-Length", 0)) {
      return true;
    }
  }
  return false;
}

const ApiError kUnreadBody{
    400, "UNSUPPORTED", "a request body is not accepted with this method"};
const ApiError kConflictingLengths{
    400, "UNSUPPORTED", "Content-Length is given twice, with two values"};
const ApiError kUnreadableRequest{
    400, "UNSUPPORTED", "the request could not be read as HTTP/1.1"};

// Answers a request that leaves the connection's next bytes in doubt (a
// body that will not be read, a request httplib could not parse), and
// ends the connection so that nothing is taken for a request. httplib
// keeps a connection open whatever the response's Connection header
// says; it closes one whose body could not be written, so the body's
// provider, once it has written all of it, reports a failure.
void RefuseAndClose(httplib::Response& res, const ApiError& error) {
  res = httplib::Response();
  res.status = error.http_status;
  res.set_header("Docker-Distribution-API-Version", "registry/2.0");
  res.set_header("Connection", "close");
  std::string body = error.ToJson();
  size_t size = body.size();
  res.set_content_provider(
      size, kJson,
      [body = std::move(body)](size_t offset, size_t length,
                               httplib::DataSink& sink) {
        sink.write(body.data() + offset, length);
        return false;
      });
}

// An answer httplib sends before routing (from the 100-continue handler)
// went out without a Content-Length, so it ended only with a connection
// that stayed open, and the body the client sent anyway was read as the
// next request (a tester's finding). It is given its length, and the
// connection is closed after it.
void SendBeforeBody(httplib::Response& res) {
  std::string body = std::move(res.body);
  res.body.clear();
  std::string type = res.get_header_value("Content-Type");
  res.headers.erase("Content-Type");  // The provider names it again.
  res.set_header("Connection", "close");
  size_t size = body.size();
  res.set_header("Content-Length", std::to_string(size));
  res.set_content_provider(
      size, type.empty() ? kJson : type.c_str(),
      [body = std::move(body)](size_t offset, size_t length,
                               httplib::DataSink& sink) {
        sink.write(body.data() + offset, length);
        return true;
      });
  CloseAfterAnswer();
}

class Handlers {
 public:
  Handlers(Registry& registry, const ServeOptions& options)
      : registry_(registry), options_(options) {}

  void Install(httplib::Server& server) {
    server.set_pre_routing_handler(
        [](const httplib::Request& req, httplib::Response& res) {
          // The headers are in: their deadline no longer applies.
          HeaderDeadlines::HeadersReceived();
          ForgetParsedRanges(req);
          KeepBodyAsSent(req);
          if (req.method == "GET" || req.method == "HEAD") {
            SetAcceptRanges(res, "none");
          }
          RouteUnreadBodyAsPost(req);
          if (HasConflictingLengths(req)) {
            LogRefusal(req, kConflictingLengths);
            RefuseAndClose(res, kConflictingLengths);
            return httplib::Server::HandlerResponse::Handled;
          }
          return httplib::Server::HandlerResponse::Unhandled;
        });
    server.set_logger(LogAnswer);
    server.set_error_handler(httplib::Server::HandlerWithResponse(
        [this](const httplib::Request& req, httplib::Response& res) {
          return AnswerUnroutedError(req, res);
        }));
    // httplib answers "100 Continue" before routing; a request whose body
    // will not be read must not be asked for it. Any status but 100
    // and 417 makes httplib send `res` as the final answer, unrouted (a
    // 417 it sends as well as routing the request: two answers).
    server.set_expect_100_continue_handler(
        [this](const httplib::Request& req, httplib::Response& res) {
          if (HasConflictingLengths(req)) {
            LogRefusal(req, kConflictingLengths);
            RefuseAndClose(res, kConflictingLengths);
            return res.status;
          }
          return RefusedBeforeBody(req, res) ? res.status : 100;
        });
    if (options_.tokens != nullptr && options_.auth != nullptr) {
      server.Get("/token", [this](const httplib::Request& req,
                                  httplib::Response& res) {
        IssueToken(req, res);
      });
    }
    server.Get(R"(/v2/.*)", [this](const httplib::Request& req,
                                   httplib::Response& res) { Get(req, res); });
    auto with_body = [this](const httplib::Request& req,
                            httplib::Response& res,
                            const httplib::ContentReader& reader) {
      if (RefuseReadBody(req, res, reader)) return;
      Write(req, res, reader);
    };
    server.Put(R"(/v2/.*)", with_body);
    server.Post(R"(/v2/.*)", with_body);
    server.Patch(R"(/v2/.*)", with_body);
    server.Delete(R"(/v2/.*)", with_body);
    // Outside /v2/ nothing is served. Without a handler that takes a
    // content reader, httplib reads a bodiless POST or PUT to such a path
    // until the client hangs up (RFC 9112 says its body is empty).
    auto outside = [](const httplib::Request& req, httplib::Response& res,
                      const httplib::ContentReader& reader) {
      if (RefuseReadBody(req, res, reader)) return;
      if (HasBody(req)) Drain(reader);
      SendError(req, res, ApiError{404, "NOT_FOUND", "no such endpoint"});
    };
    server.Put(R"(/.*)", outside);
    server.Post(R"(/.*)", outside);
    server.Patch(R"(/.*)", outside);
    server.Delete(R"(/.*)", outside);
  }

 private:
  // A GET, HEAD or other method with a body goes on as a POST (see
  // kUnreadMethodHeader). httplib built `req` as a mutable local.
  static void RouteUnreadBodyAsPost(const httplib::Request& req) {
    auto& request = const_cast<httplib::Request&>(req);
    request.headers.erase(kUnreadMethodHeader);
    if (!HasUnreadBody(req)) return;
    request.set_header(kUnreadMethodHeader, req.method);
    request.method = "POST";
  }

  // For a request RouteUnreadBodyAsPost rerouted: reads its body, gives
  // it its method back (a HEAD's answer has no body) and refuses it.
  static bool RefuseReadBody(const httplib::Request& req,
                             httplib::Response& res,
                             const httplib::ContentReader& reader) {
    if (!req.has_header(kUnreadMethodHeader)) return false;
    Drain(reader);
    const_cast<httplib::Request&>(req).method =
        req.get_header_value(kUnreadMethodHeader);
    res.set_header("Docker-Distribution-API-Version", "registry/2.0");
    SendError(req, res, kUnreadBody);
    return true;
  }

  // httplib decodes a request body by its Content-Encoding (gzip,
  // deflate, br), each failing its own way (a bad br body read as empty).
  // A registry hashes and stores the bytes as sent, as distribution
  // does: a digest is of what the client sent. `req` is httplib's
  // mutable local, as above.
  static void KeepBodyAsSent(const httplib::Request& req) {
    const_cast<httplib::Request&>(req).headers.erase("Content-Encoding");
  }

  // httplib 0.11 slices every body by the Range it parsed (a manifest, a
  // tag list or an error body came back truncated under status 200).
  // Only blob GETs answer Range, and they decide it themselves. httplib
  // built `req` as a mutable local, so emptying its ranges is sound.
  static void ForgetParsedRanges(const httplib::Request& req) {
    const_cast<httplib::Request&>(req).ranges.clear();
  }

  // An error response no handler wrote (every handler sets the API
  // version header first). A 400 is httplib's own for a request it could
  // not parse (an unknown or lower-case method, a bad request line or
  // header), after which the connection's bytes cannot be trusted to
  // start a request, so it is closed. A 416 may be answered as routing
  // would have (AnswerRangeRejection).
  httplib::Server::HandlerResponse AnswerUnroutedError(
      const httplib::Request& req, httplib::Response& res) {
    if (res.has_header("Docker-Distribution-API-Version")) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    if (res.status == 400) {
      // Unless the watchdog cut the request: its drop is logged, and
      // this answer reaches nobody. With -v only: most are clients that
      // hung up halfway through a request, whom this answer never
      // reaches either.
      if (!HeaderDeadlines::CurrentConnectionExpired()) {
        LogRefusal(req, kUnreadableRequest, /*routine=*/true);
      }
      RefuseAndClose(res, kUnreadableRequest);
      return httplib::Server::HandlerResponse::Handled;
    }
    if (res.status == 416) return AnswerRangeRejection(req, res);
    return httplib::Server::HandlerResponse::Unhandled;
  }

  // httplib 0.11 answers 416 itself, before any handler, to a Range it
  // cannot parse, where RFC 9110 section 14.2 lets a server ignore it; a
  // range with an unknown unit it must ignore. Such a GET or HEAD is
  // served here as if routing had been reached (GetBlob ignores what it
  // cannot use). Other methods carry a body httplib has not read, so
  // their 416 stands.
  httplib::Server::HandlerResponse AnswerRangeRejection(
      const httplib::Request& req, httplib::Response& res) {
    if (!req.has_header("Range") ||
        (req.method != "GET" && req.method != "HEAD")) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    ForgetParsedRanges(req);
    res = httplib::Response();
    SetAcceptRanges(res, "none");
    RouteGet(req, res);
    return httplib::Server::HandlerResponse::Handled;
  }

  // What httplib's routing does with a GET, for requests that never
  // reached it. Outside routing no exception guard runs, and one escaping
  // here ends the whole server (a GET of "/" did, through ParseRoute).
  void RouteGet(const httplib::Request& req, httplib::Response& res) {
    try {
      if (req.path == "/token" && options_.tokens != nullptr &&
          options_.auth != nullptr) {
        return IssueToken(req, res);
      }
      if (req.path.starts_with("/v2/")) return Get(req, res);
      SendError(req, res, ApiError{404, "NOT_FOUND", "no such endpoint"});
    } catch (const std::exception& e) {
      res = httplib::Response();
      SetAcceptRanges(res, "none");
      SendError(req, res, InternalError(Status::Internal(e.what())));
    }
  }

  enum class Verdict {
    kAllowed,
    kNoCredentials,
    kBadCredentials,
    kInsufficientScope,  // a valid token, without this repository's action
    kDenied,
  };

  // Decides whether the request may read (or write) `repo` ("" for the
  // registry-wide endpoints), naming the user in `*user`.
  Verdict Check(const httplib::Request& req, const std::string& repo,
                bool write, std::string* user) const {
    if (options_.auth == nullptr) return Verdict::kAllowed;
    std::shared_ptr<const Authenticator> auth = options_.auth->Current();
    bool anonymous_pull =
        !write && !repo.empty() && auth->Allowed("", repo, false);
    std::string header = req.get_header_value("Authorization");
    if (header.empty() || IsEmptyBasicLogin(header)) {
      return anonymous_pull ? Verdict::kAllowed : Verdict::kNoCredentials;
    }
    // Credentials that are sent are checked even where none are needed,
    // as Docker Hub does: a mistyped or stale login is told so at once,
    // not found out at the first push.
    if (options_.tokens == nullptr) {
      std::optional<std::string> checked = auth->CheckBasic(header);
      if (!checked) return Verdict::kBadCredentials;
      *user = *checked;
      return auth->Allowed(*user, repo, write) ? Verdict::kAllowed
                                                : Verdict::kDenied;
    }
    std::optional<std::string> token = CredentialsOf(header, "Bearer");
    if (!token) return Verdict::kBadCredentials;
    auto claims = options_.tokens->Verify(*token, NowUnixMillis());
    if (!claims) return Verdict::kBadCredentials;
    *user = claims->user;
    // A token outlives its issue by minutes; a user removed from the
    // htpasswd file since (or a right taken away) must not keep it.
    if (!claims->user.empty() && !auth->HasUser(claims->user)) {
      return Verdict::kBadCredentials;
    }
    if (anonymous_pull) return Verdict::kAllowed;
    if (repo.empty()) return write ? Verdict::kDenied : Verdict::kAllowed;
    for (const TokenGrant& grant : claims->grants) {
      if (grant.repository == repo && (write ? grant.push : grant.pull) &&
          auth->Allowed(claims->user, repo, write)) {
        return Verdict::kAllowed;
      }
    }
    // A new token helps only if its user may have the action; one who
    // may not gets the same 403 as with basic auth (found by a tester:
    // a pull-only user was told to log in again).
    if (!claims->user.empty() && !auth->Allowed(claims->user, repo, write)) {
      return Verdict::kDenied;
    }
    return Verdict::kInsufficientScope;
  }

  // The repository a POST asks to mount a blob from (`from`), when it is
  // another valid repository than `repo`; else "".
  static std::string MountSource(const httplib::Request& req,
                                 const std::string& repo) {
    if (req.method != "POST" || !req.has_param("mount")) return "";
    std::string from = req.get_param_value("from");
    if (from == repo || !IsValidRepositoryName(from)) return "";
    return from;
  }

  std::string Challenge(const httplib::Request& req, const std::string& repo,
                        bool write, bool insufficient_scope = false) const {
    if (options_.tokens == nullptr) return "Basic realm=\"lockstep\"";
    std::string realm = options_.token_realm;
    if (realm.empty()) {
      std::string scheme = options_.tls_cert.empty() ? "http" : "https";
      realm = scheme + "://" + req.get_header_value("Host") + "/token";
    }
    std::string challenge =
        "Bearer realm=\"" + realm + "\",service=\"lockstep\"";
    if (!repo.empty()) {
      std::string scope =
          "repository:" + repo + (write ? ":pull,push" : ":pull");
      // A mount also reads its source: distribution asks for both, and a
      // client that asks for the scope challenged (the conformance
      // suite's) was otherwise never let mount (found by a tester).
      std::string source = MountSource(req, repo);
      if (!source.empty()) scope += " repository:" + source + ":pull";
      challenge += ",scope=\"" + scope + "\"";
    }
    // Docker's token spec: the token was good, its scope too narrow.
    if (insufficient_scope) challenge += ",error=\"insufficient_scope\"";
    return challenge;
  }

  // For a write that waits for "100 Continue": true, with the answer in
  // `res`, when it would be refused for want of a login or a right (or,
  // for a closing PUT, of a valid digest), so
  // that the client never sends a body only to be told so (curl sent a
  // whole layer before its 401). The connection then closes: a client
  // may send the body all the same, and it must not be read as a request.
  bool RefusedBeforeBody(const httplib::Request& req,
                         httplib::Response& res) {
    if (!req.path.starts_with("/v2/")) return false;
    res.set_header("Docker-Distribution-API-Version", "registry/2.0");
    Route route = ParseRoute(req.path);
    if (!Authorize(req, res, route.repo, /*write=*/true) ||
        !ClosingDigestValid(req, res, route) ||
        !ChunkFitsUpload(req, res, route)) {
      SendBeforeBody(res);
      return true;
    }
    res = httplib::Response();
    return false;
  }

  // A closing PUT's ?digest= is known from its request line: one that is
  // no digest is refused before the body is asked for (a tester's 50 MB
  // went out only to be told DIGEST_INVALID).
  bool ClosingDigestValid(const httplib::Request& req,
                          httplib::Response& res, const Route& route) {
    if (route.kind != Route::kUpload || req.method != "PUT") return true;
    auto valid = ParseDigestParam(req.get_param_value("digest"));
    if (valid.ok()) return true;
    SendError(req, res, valid.error());
    return false;
  }

  // A chunk (PATCH, or a closing PUT's) for an upload that is not there,
  // or whose Content-Range does not start where the upload ends, is
  // refused from its headers: the 416 tells the client the upload's
  // Range before it sends a body that would be thrown away.
  bool ChunkFitsUpload(const httplib::Request& req,
                       httplib::Response& res, const Route& route) {
    if (route.kind != Route::kUpload) return true;
    if (req.method != "PATCH" && req.method != "PUT") return true;
    auto span = ChunkSpan(req);
    auto state = span.ok()
                     ? registry_.CheckChunkStart(route.repo, route.rest,
                                                 *span)
                     : ApiResult<UploadState>(span.error());
    if (state.ok()) return true;
    RefuseChunk(req, res, route, state.error());
    return false;
  }

  // Answers a refused chunk; a 416 carries the upload's Range, Location
  // and id, so the client can resume from it.
  void RefuseChunk(const httplib::Request& req, httplib::Response& res,
                   const Route& route, const ApiError& error) {
    if (error.http_status == 416) {
      auto current = registry_.UploadStatus(route.repo, route.rest);
      if (current.ok()) SendUploadState(res, route.repo, *current, 416);
    }
    SendError(req, res, error);
  }

  // Authenticates and authorizes; false (with the response set) if not.
  bool Authorize(const httplib::Request& req, httplib::Response& res,
                 const std::string& repo, bool write) {
    if (write && options_.read_only) {
      // As distribution's read-only mode: 405 naming the methods left.
      res.set_header("Allow", "GET, HEAD");
      SendError(req, res, Unsupported("this registry is read-only"));
      return false;
    }
    std::string user;
    switch (Check(req, repo, write, &user)) {
      case Verdict::kAllowed:
        return true;
      case Verdict::kDenied:
        SendError(req, res, Denied("user " + user + " may not " +
                                   (write ? "push to " : "pull from ") +
                                   (repo.empty() ? "this registry" : repo)));
        return false;
      case Verdict::kBadCredentials:
        res.set_header("WWW-Authenticate", Challenge(req, repo, write));
        SendError(req, res, Unauthorized("wrong user name, password or token"));
        return false;
      case Verdict::kNoCredentials:
        res.set_header("WWW-Authenticate", Challenge(req, repo, write));
        SendError(req, res, Unauthorized("authentication required"));
        return false;
      case Verdict::kInsufficientScope:
        res.set_header("WWW-Authenticate",
                       Challenge(req, repo, write, true));
        SendError(req, res, Unauthorized("the token does not grant " +
                                         std::string(write ? "push" : "pull") +
                                         " on " + repo));
        return false;
    }
    return false;
  }

  // GET /token: Docker's token endpoint. Basic credentials when given
  // must be right; the token grants the requested actions the user has.
  void IssueToken(const httplib::Request& req, httplib::Response& res) {
    std::shared_ptr<const Authenticator> auth = options_.auth->Current();
    std::string user;
    std::string header = req.get_header_value("Authorization");
    if (!header.empty() && !IsEmptyBasicLogin(header)) {
      std::optional<std::string> checked = auth->CheckBasic(header);
      if (!checked) {
        res.set_header("WWW-Authenticate", "Basic realm=\"lockstep\"");
        return SendError(req, res, Unauthorized("wrong user name or password"));
      }
      user = *checked;
    }
    std::vector<std::string> scopes;
    for (size_t i = 0; i < req.get_param_value_count("scope"); ++i) {
      scopes.push_back(req.get_param_value("scope", i));
    }
    std::vector<TokenGrant> grants;
    for (TokenGrant grant : ParseScopes(scopes)) {
      grant.pull = grant.pull && auth->Allowed(user, grant.repository, false);
      grant.push = grant.push && auth->Allowed(user, grant.repository, true);
      grants.push_back(grant);
    }
    constexpr int64_t kTtlMs = 5 * 60 * 1000;
    int64_t now = NowUnixMillis();
    std::string token = options_.tokens->Issue(user, grants, now, kTtlMs);
    nlohmann::json body = {{"token", token},
                           {"access_token", token},
                           {"expires_in", kTtlMs / 1000},
                           {"issued_at", FormatRfc3339(now)}};
    res.status = 200;
    res.set_content(body.dump(), kJson);
  }

  void Get(const httplib::Request& req, httplib::Response& res) {
    res.set_header("Docker-Distribution-API-Version", "registry/2.0");
    Route route = ParseRoute(req.path);
    if (!Authorize(req, res, route.repo, false)) return;
    switch (route.kind) {
      case Route::kBase:
        res.status = 200;
        res.set_content("{}", kJson);
        return;
      case Route::kCatalog:
        return GetCatalog(req, res);
      case Route::kTags:
        return GetTags(req, res, route);
      case Route::kManifest:
        return GetManifest(req, res, route);
      case Route::kBlob:
        return GetBlob(req, res, route);
      case Route::kUpload: {
        auto state = registry_.UploadStatus(route.repo, route.rest);
        if (!state.ok()) return SendError(req, res, state.error());
        return SendUploadState(res, route.repo, *state, 204);
      }
      case Route::kReferrers:
        return GetReferrers(req, res, route);
      default:
        return SendError(req, res,
                         ApiError{404, "NOT_FOUND", "no such endpoint"});
    }
  }

  void GetCatalog(const httplib::Request& req, httplib::Response& res) {
    auto parsed_n = ParseN(req);
    if (!parsed_n.ok()) return SendError(req, res, parsed_n.error());
    std::optional<int64_t> n = *parsed_n;
    std::string last = req.get_param_value("last");
    // Only what the caller may read: names alone tell too much.
    std::string user;
    Check(req, "", false, &user);
    std::shared_ptr<const Authenticator> auth =
        options_.auth == nullptr ? nullptr : options_.auth->Current();
    auto page = registry_.Catalog(n, last, [&](const std::string& repo) {
      return auth == nullptr || auth->Allowed(user, repo, false);
    });
    if (!page.ok()) return SendError(req, res, page.error());
    if (page->more) {
      res.set_header("Link", "</v2/_catalog?n=" + std::to_string(*n) +
                                 "&last=" + page->tags.back() +
                                 ">; rel=\"next\"");
    }
    res.status = 200;
    res.set_content(nlohmann::json{{"repositories", page->tags}}.dump(), kJson);
  }

  void GetTags(const httplib::Request& req, httplib::Response& res,
               const Route& route) {
    auto parsed_n = ParseN(req);
    if (!parsed_n.ok()) return SendError(req, res, parsed_n.error());
    std::optional<int64_t> n = *parsed_n;
    auto page = registry_.ListTags(route.repo, n, req.get_param_value("last"));
    if (!page.ok()) return SendError(req, res, page.error());
    if (page->more) {
      res.set_header("Link", "</v2/" + route.repo + "/tags/list?n=" +
                                 std::to_string(*n) + "&last=" +
                                 page->tags.back() + ">; rel=\"next\"");
    }
    res.status = 200;
    nlohmann::json body = {{"name", route.repo}, {"tags", page->tags}};
    res.set_content(body.dump(), kJson);
  }

  void GetManifest(const httplib::Request& req, httplib::Response& res,
                   const Route& route) {
    auto manifest = registry_.GetManifest(route.repo, route.rest);
    if (!manifest.ok()) return SendError(req, res, manifest.error());
    res.status = 200;
    res.set_header("Docker-Content-Digest", manifest->digest.ToString());
    res.set_header("ETag", "\"" + manifest->digest.ToString() + "\"");
    res.set_content(manifest->body, manifest->media_type.c_str());
  }

  void GetBlob(const httplib::Request& req, httplib::Response& res,
               const Route& route) {
    auto blob = registry_.StatBlob(route.repo, route.rest);
    if (!blob.ok()) return SendError(req, res, blob.error());
    int fd = ::open(blob->path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
      return SendError(req, res,
                       BlobUnknown("blob " + route.rest + " vanished"));
    }
    if (fd < 0) {
      // Out of open files, say: the blob is there, this answer is not.
      return SendError(req, res, Unavailable("cannot open blob " + route.rest +
                                             ": " + std::strerror(errno)));
    }
    auto file = std::shared_ptr<int>(new int(fd), [](int* f) {
      ::close(*f);
      delete f;
    });
    res.set_header("Docker-Content-Digest", blob->digest.ToString());
    // A blob never changes under its digest: the digest is its strong
    // entity tag, as distribution sends it.
    std::string etag = "\"" + blob->digest.ToString() + "\"";
    res.set_header("ETag", etag);
    SetAcceptRanges(res, "bytes");

    // The range is answered here, not by httplib: 0.11 sends ranges past
    // the end with a Content-Length it never fills, which hangs clients.
    // GET is the only method with ranges (RFC 9110 section 14.2): a HEAD
    // describes the whole blob whatever its Range says. Under an If-Range
    // that names another validator (a date, another tag) the Range is
    // ignored (section 13.1.5): the client's copy is not this blob.
    std::string range_header =
        req.method == "GET" ? req.get_header_value("Range") : "";
    if (req.has_header("If-Range") &&
        req.get_header_value("If-Range") != etag) {
      range_header.clear();
    }
    RangeDecision range = DecideRange(range_header, blob->size);
    if (range.kind == RangeDecision::Kind::kUnsatisfiable) {
      res.set_header("Content-Range", ContentRangeValue(range, blob->size));
      // The spec has no error code for this; like distribution, the
      // answer is the bare status with the blob's size.
      res.status = 416;
      res.set_content("range not satisfiable\n", "text/plain");
      return;
    }
    ByteSpan span = {0, blob->size == 0 ? 0 : blob->size - 1};
    res.status = 200;
    if (range.kind == RangeDecision::Kind::kPartial) {
      span = range.span;
      res.status = 206;
      res.set_header("Content-Range", ContentRangeValue(range, blob->size));
    }
    if (blob->size == 0) {
      // httplib sends no Content-Length for an empty provider, and a
      // keep-alive GET without one has no end (found by a tester).
      res.set_header("Content-Type", "application/octet-stream");
      res.set_header("Content-Length", "0");
      return;
    }
    uint64_t length = span.length();
    res.set_content_provider(
        length, "application/octet-stream",
        [file, first = blob->offset + span.first](size_t offset,
                                                  size_t wanted,
                                   httplib::DataSink& sink) {
          std::string buffer(std::min<size_t>(wanted, 1 << 20), '\0');
          ssize_t got = ::pread(*file, buffer.data(), buffer.size(),
                                static_cast<off_t>(first + offset));
          if (got <= 0) return false;
          return sink.write(buffer.data(), static_cast<size_t>(got));
        });
  }

  void GetReferrers(const httplib::Request& req, httplib::Response& res,
                    const Route& route) {
    std::string filter = req.get_param_value("artifactType");
    auto index = registry_.Referrers(route.repo, route.rest, filter);
    if (!index.ok()) return SendError(req, res, index.error());
    if (!filter.empty()) {
      res.set_header("OCI-Filters-Applied", "artifactType");
    }
    res.status = 200;
    res.set_content(index->dump(), std::string(kOciIndex).c_str());
  }

  void Write(const httplib::Request& req, httplib::Response& res,
             const httplib::ContentReader& reader) {
    res.set_header("Docker-Distribution-API-Version", "registry/2.0");
    Route route = ParseRoute(req.path);
    httplib::ContentReader body = reader;
    if (!HasBody(req)) {
      body = httplib::ContentReader(
          [](httplib::ContentReceiver) { return true; },
          [](httplib::MultipartContentHeader, httplib::ContentReceiver) {
            return true;
          });
    }
    Dispatch(req, res, route, body);
  }

  void Dispatch(const httplib::Request& req, httplib::Response& res,
                const Route& route, const httplib::ContentReader& reader) {
    if (!Authorize(req, res, route.repo, true)) {
      return Drain(reader);
    }
    if (route.kind == Route::kUploadStart && req.method == "POST") {
      return PostUpload(req, res, route, reader);
    }
    if (route.kind == Route::kUpload && req.method == "PATCH") {
      return PatchUpload(req, res, route, reader);
    }
    if (route.kind == Route::kUpload && req.method == "PUT") {
      return PutUpload(req, res, route, reader);
    }
    if (route.kind == Route::kManifest && req.method == "PUT") {
      return PutManifest(req, res, route, reader);
    }
    Drain(reader);
    if (req.method != "DELETE") {
      return SendError(req, res, ApiError{405, "UNSUPPORTED",
                                          "method not allowed here"});
    }
    ApiResult<Empty> done = Empty{};
    if (route.kind == Route::kUpload) {
      done = registry_.CancelUpload(route.repo, route.rest);
    } else if (route.kind == Route::kBlob) {
      done = registry_.DeleteBlob(route.repo, route.rest);
    } else if (route.kind == Route::kManifest) {
      done = registry_.DeleteManifest(route.repo, route.rest);
    } else {
      done = ApiError{404, "NOT_FOUND", "no such endpoint"};
    }
    if (!done.ok() && done.error().http_status == 405) {
      // RFC 9110 section 15.5.6: a 405 names the methods that remain.
      res.set_header("Allow", route.kind == Route::kBlob ? "GET, HEAD"
                                                         : "GET, HEAD, PUT");
    }
    if (!done.ok()) return SendError(req, res, done.error());
    res.status = route.kind == Route::kUpload ? 204 : 202;
  }

  static void Drain(const httplib::ContentReader& reader) {
    reader([](const char*, size_t) { return true; });
  }

  void PostUpload(const httplib::Request& req, httplib::Response& res,
                  const Route& route, const httplib::ContentReader& reader) {
    if (req.has_param("mount")) {
      Drain(reader);
      // Mounting needs read access to the source; without it the client
      // simply uploads. Without `from`, any source the caller may read,
      // when the operator turned that on.
      auto may_read = [&](const std::string& source) {
        std::string user;
        return Check(req, source, false, &user) == Verdict::kAllowed;
      };
      auto outcome = registry_.MountOrStart(
          route.repo, req.get_param_value("from"),
          req.get_param_value("mount"), options_.automatic_mount, may_read);
      if (!outcome.ok()) return SendError(req, res, outcome.error());
      if (outcome->mounted) {
        res.status = 201;
        res.set_header("Location", "/v2/" + route.repo + "/blobs/" +
                                       req.get_param_value("mount"));
        res.set_header("Docker-Content-Digest", req.get_param_value("mount"));
        return;
      }
      return SendUploadState(res, route.repo, outcome->upload, 202);
    }
    auto started = registry_.StartUpload(route.repo);
    if (!started.ok()) {
      Drain(reader);
      return SendError(req, res, started.error());
    }
    if (!req.has_param("digest")) {
      Drain(reader);
      return SendUploadState(res, route.repo, *started, 202);
    }
    // Single POST: the whole blob in this request.
    Route upload{Route::kUpload, route.repo, started->id};
    PutUpload(req, res, upload, reader);
  }

  // Streams the request body into the session. `*consumed` tells
  // whether the body was read (a body must be read exactly once).
  ApiResult<UploadState> Append(const Route& route,
                                std::optional<ByteSpan> range,
                                const httplib::ContentReader& reader,
                                bool* consumed) {
    *consumed = false;
    return registry_.AppendChunk(
        route.repo, route.rest, range,
        [&reader, consumed](const Registry::ChunkSink& sink) {
          *consumed = true;
          return reader(sink);
        });
  }

  // Appends the request's chunk (PATCH, or a final PUT's) to the upload;
  // on a refusal, answers it (RefuseChunk) and returns nothing.
  std::optional<UploadState> AppendOrRefuse(
      const httplib::Request& req, httplib::Response& res,
      const Route& route, const httplib::ContentReader& reader) {
    bool consumed = false;
    auto span = ChunkSpan(req);
    auto state = span.ok() ? Append(route, *span, reader, &consumed)
                           : ApiResult<UploadState>(span.error());
    if (state.ok()) return *state;
    if (!consumed) Drain(reader);
    RefuseChunk(req, res, route, state.error());
    return std::nullopt;
  }

  void PatchUpload(const httplib::Request& req, httplib::Response& res,
                   const Route& route, const httplib::ContentReader& reader) {
    std::optional<UploadState> state =
        AppendOrRefuse(req, res, route, reader);
    if (state) SendUploadState(res, route.repo, *state, 202);
  }

  void PutUpload(const httplib::Request& req, httplib::Response& res,
                 const Route& route, const httplib::ContentReader& reader) {
    // Refused before its body is appended: a refused PUT changes nothing.
    auto valid = ParseDigestParam(req.get_param_value("digest"));
    if (!valid.ok()) {
      Drain(reader);
      return SendError(req, res, valid.error());
    }
    if (!AppendOrRefuse(req, res, route, reader)) return;
    std::string digest = req.get_param_value("digest");
    auto finished = registry_.FinishUpload(route.repo, route.rest, digest);
    if (!finished.ok()) return SendError(req, res, finished.error());
    res.status = 201;
    res.set_header("Location", "/v2/" + route.repo + "/blobs/" + digest);
    res.set_header("Docker-Content-Digest", digest);
  }

  void PutManifest(const httplib::Request& req, httplib::Response& res,
                   const Route& route, const httplib::ContentReader& reader) {
    std::string body;
    reader([&body](const char* data, size_t length) {
      body.append(data, length);
      return body.size() <= (8u << 20);
    });
    auto outcome = registry_.PutManifest(
        route.repo, route.rest, req.get_header_value("Content-Type"), body);
    if (!outcome.ok()) return SendError(req, res, outcome.error());
    res.status = 201;
    std::string digest = outcome->digest.ToString();
    res.set_header("Location", "/v2/" + route.repo + "/manifests/" + digest);
    res.set_header("Docker-Content-Digest", digest);
    if (outcome->subject) {
      res.set_header("OCI-Subject", outcome->subject->ToString());
    }
  }

  Registry& registry_;
  const ServeOptions& options_;
};

// Descriptors kept for the index, the store's files and the listener.
constexpr size_t kReservedFiles = 64;

// Raises the soft limit on open files to the hard one, as servers do
// (Go's runtime does it for distribution), and returns the limit.
// A client that speaks plain HTTP to the TLS port (http:// where
// https:// belongs) had its connection closed without a word. OpenSSL
// recognises a request line where a handshake belongs; the client is
// then told in plain HTTP, before httplib closes the connection.
void AnswerPlainHttpOnTls(const SSL* ssl, int where, int ret) {
  if ((where & SSL_CB_EXIT) == 0 || ret > 0) return;
  unsigned long error = ERR_peek_error();
  if (ERR_GET_LIB(error) != ERR_LIB_SSL ||
      ERR_GET_REASON(error) != SSL_R_HTTP_REQUEST) {
    return;
  }
  static constexpr std::string_view kBody =
      "this port speaks TLS: use https://\n";
  std::string answer = fmt::format(
      "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
      "Content-Length: {}\r\nConnection: close\r\n\r\n{}",
      kBody.size(), kBody);
  // Best effort on a connection about to close: a short write is left.
  (void)::send(SSL_get_fd(ssl), answer.data(), answer.size(),
               MSG_NOSIGNAL | MSG_DONTWAIT);
  LogInfo("registry: a plain HTTP request on the TLS port: 400");
}

size_t RaiseOpenFileLimit() {
  struct rlimit limit = {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    rlim_t wanted = limit.rlim_max;
    limit.rlim_cur = wanted;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
      ::getrlimit(RLIMIT_NOFILE, &limit);
    }
  }
  if (limit.rlim_cur == RLIM_INFINITY) return 1 << 20;
  return static_cast<size_t>(limit.rlim_cur);
}

}  // namespace

namespace {

// Stops `server` once `stop_requested` says so, polling ten times a
// second from a thread of its own (a signal handler may only set a
// flag). httplib ignores a stop that comes before it is listening, so
// the stop is asked for again until the watcher is destroyed, after the
// server returned.
class StopWatcher {
 public:
  StopWatcher(httplib::Server& server, std::function<bool()> stop_requested)
      : stop_requested_(std::move(stop_requested)) {
    if (!stop_requested_) return;
    thread_ = std::thread([this, &server] {
      while (!done_.load()) {
        if (stop_requested_()) {
          stopped_ = true;
          server.stop();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
  }
  ~StopWatcher() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
  }
  bool Stopped() const { return stopped_.load(); }

 private:
  std::function<bool()> stop_requested_;
  std::atomic<bool> done_{false};
  std::atomic<bool> stopped_{false};
  std::thread thread_;
};

}  // namespace

Status Serve(Registry& registry, const ServeOptions& options) {
  std::unique_ptr<httplib::Server> server;
  if (!options.tls_cert.empty() || !options.tls_key.empty()) {
    auto tls = std::make_unique<DeadlineSslServer>(
        options.tls_cert.c_str(), options.tls_key.c_str(),
        options.header_timeout);
    if (!tls->is_valid()) {
      return Status::InvalidArgument(
          "cannot load TLS certificate " + options.tls_cert.string() +
          " and key " + options.tls_key.string());
    }
    SSL_CTX_set_info_callback(tls->ssl_context(), AnswerPlainHttpOnTls);
    server = std::move(tls);
  } else {
    server = std::make_unique<DeadlineServer>(options.header_timeout);
  }
  Handlers handlers(registry, options);
  handlers.Install(*server);
  // Connections and upload sessions each hold a descriptor: share what
  // the process may open between them, leaving some for the store.
  size_t budget = RaiseOpenFileLimit();
  budget = budget > kReservedFiles ? budget - kReservedFiles : 16;
  UploadLimits limits;
  limits.max_sessions = std::clamp<size_t>(budget / 2, 8, 4096);
  registry.set_upload_limits(limits);
  size_t max_threads = std::clamp<size_t>(budget / 2, 8, 1024);
  server->new_task_queue = [max_threads] {
    return new ConnectionPool(max_threads, std::chrono::seconds(30));
  };
  server->set_keep_alive_max_count(100000);
  // Headers and body go out in separate writes; without TCP_NODELAY the
  // body of a small blob waits for the client's delayed ACK.
  server->set_tcp_nodelay(true);
  // A connection that sends nothing for this long is dropped, so one
  // that stalls mid-request gives its thread back. A request's headers
  // must also be in within options.header_timeout, however slowly they
  // trickle (registry/header_deadline.h).
  server->set_read_timeout(60, 0);
  server->set_write_timeout(300, 0);
  // httplib's default sets SO_REUSEPORT, with which a second server on
  // the same port starts too and the kernel splits clients between two
  // stores. SO_REUSEADDR alone still allows a restart at once.
  socket_t listener = INVALID_SOCKET;
  server->set_socket_options([&listener](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    listener = sock;
  });
  errno = 0;
  if (!server->bind_to_port(options.host, options.port)) {
    return Status::Unavailable(
        "cannot listen on " + options.host + ":" +
        std::to_string(options.port) +
        (errno == 0 ? "" : std::string(": ") + std::strerror(errno)));
  }
  // httplib 0.11 listens with a backlog of 5: a burst of new connections
  // (skopeo opens one per request, CI runners pull at once) overflowed
  // it and the dropped SYNs were retried a second later. Listening again
  // on the bound socket only raises the backlog (to net.core.somaxconn).
  if (listener != INVALID_SOCKET) ::listen(listener, SOMAXCONN);
  LogInfo("registry listening on {}://{}:{}",
          options.tls_cert.empty() ? "http" : "https", options.host,
          options.port);
  StopWatcher watcher(*server, options.stop_requested);
  bool listened = server->listen_after_bind();
  if (!listened && !watcher.Stopped()) {
    return Status::Unavailable("cannot listen on " + options.host + ":" +
                               std::to_string(options.port));
  }
  return Status::Ok();
}

}  // namespace lockstep::registry
