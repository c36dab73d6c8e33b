// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "registry/auth.h"

#include <crypt.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <sstream>

#include "core/ascii.h"
#include "core/base64.h"
#include "core/canonical_json.h"
#include "core/files.h"
#include "core/json_keys.h"
#include "core/log.h"

namespace lockstep::registry {
namespace {

bool Matches(const std::string& pattern, const std::string& repo) {
  if (!pattern.empty() && pattern.back() == '*') {
    return repo.compare(0, pattern.size() - 1, pattern, 0,
                        pattern.size() - 1) == 0;
  }
  return pattern == repo;
}

bool Lists(const std::vector<std::string>& users, const std::string& user) {
  for (const std::string& entry : users) {
    if (entry == user || (entry == "*" && !user.empty())) return true;
  }
  return false;
}

Result<std::vector<std::string>> StringList(const Json& value,
                                            const std::string& where) {
  std::vector<std::string> out;
  if (value.is_null()) return out;
  if (!value.is_array()) {
    return Status::InvalidArgument(where + ": not a list of strings");
  }
  for (const Json& item : value) {
    if (!item.is_string()) {
      return Status::InvalidArgument(where + ": not a list of strings");
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

AuthFiles::Stamp StampOf(const std::filesystem::path& path) {
  AuthFiles::Stamp stamp;
  if (path.empty()) return stamp;
  struct stat info;
  if (::stat(path.c_str(), &info) != 0) {
    stamp.error = errno;
    return stamp;
  }
  constexpr int64_t kNs = 1000000000;
  stamp.device = info.st_dev;
  stamp.inode = info.st_ino;
  stamp.size = static_cast<uint64_t>(info.st_size);
  stamp.mtime_ns = info.st_mtim.tv_sec * kNs + info.st_mtim.tv_nsec;
  stamp.ctime_ns = info.st_ctim.tv_sec * kNs + info.st_ctim.tv_nsec;
  return stamp;
}

}  // namespace

std::optional<std::string> CredentialsOf(std::string_view header,
                                         std::string_view scheme) {
  if (header.size() <= scheme.size() || header[scheme.size()] != ' ' ||
      !EqualsIgnoringAsciiCase(header.substr(0, scheme.size()), scheme)) {
    return std::nullopt;
  }
  std::string_view credentials = header.substr(scheme.size());
  credentials.remove_prefix(
      std::min(credentials.find_first_not_of(' '), credentials.size()));
  return std::string(credentials);
}

bool IsEmptyBasicLogin(std::string_view header) {
  std::optional<std::string> credentials = CredentialsOf(header, "Basic");
  if (!credentials) return false;
  std::optional<std::string> decoded = Base64Decode(*credentials);
  return decoded && *decoded == ":";
}

Result<Authenticator> Authenticator::FromText(
    const std::string& htpasswd, const std::string& htpasswd_source,
    const std::string& rules, const std::string& source) {
  // Checks name fields by path; their line is found in the text after.
  Result<Authenticator> loaded =
      FromTextUnlocated(htpasswd, htpasswd_source, rules, source);
  if (!loaded.ok()) return LocateJsonError(loaded.status(), rules, source);
  return loaded;
}

Result<Authenticator> Authenticator::FromTextUnlocated(
    const std::string& htpasswd, const std::string& htpasswd_source,
    const std::string& rules, const std::string& source) {
  Authenticator auth;
  std::istringstream lines(htpasswd);
  std::string line;
  int number = 0;
  while (std::getline(lines, line)) {
    ++number;
    // As distribution reads it: a file saved with CRLF line ends, or a
    // stray space, must not turn every password into a wrong one.
    size_t indent = line.find_first_not_of(" \t");
    size_t end = line.find_last_not_of(" \t\r");
    if (indent == std::string::npos || line[indent] == '#') continue;
    line = line.substr(indent, end + 1 - indent);
    size_t colon = line.find(':');
    std::string hash = colon == std::string::npos ? "" : line.substr(colon + 1);
    if (hash.rfind("$2", 0) != 0) {
      size_t column = indent + (colon == std::string::npos ? 0 : colon + 1);
      return Status::InvalidArgument(
          htpasswd_source + ":" + std::to_string(number) + ":" +
          std::to_string(column + 1) +
          ": only bcrypt entries (user:$2y$..., from htpasswd -B) are "
          "accepted");
    }
    auth.hashes_[line.substr(0, colon)] = hash;
  }
  if (rules.empty()) return auth;

  // A repeated "write" (the last one won) or a misspelt "wrte" would
  // grant or drop rights unseen, so both are refused where they are.
  ASSIGN_OR_RETURN(Json root, ParseJsonWithUniqueKeys(rules, source));
  if (!root.is_object()) {
    return Status::InvalidArgument(source + ": not a JSON object");
  }
  RETURN_IF_ERROR(RequireKnownKeys(root, rules, source, "", "the rules",
                                   {"anonymousPull", "rules"}));
  auth.has_rules_ = true;
  ASSIGN_OR_RETURN(auth.anonymous_pull_,
                   StringList(root.value("anonymousPull", Json()),
                              source + ": anonymousPull"));
  Json list = root.value("rules", Json::array());
  if (!list.is_array()) {
    return Status::InvalidArgument(source + ": rules: not a list");
  }
  for (size_t i = 0; i < list.size(); ++i) {
    std::string where = source + ": rules[" + std::to_string(i) + "]";
    const Json& item = list[i];
    if (!item.is_object() || !item.contains("repository") ||
        !item["repository"].is_string()) {
      return Status::InvalidArgument(where + ".repository: missing");
    }
    RETURN_IF_ERROR(RequireKnownKeys(
        item, rules, source, "/rules/" + std::to_string(i),
        "rules[" + std::to_string(i) + "]", {"repository", "read", "write"}));
    AccessRule rule;
    rule.repository = item["repository"].get<std::string>();
    ASSIGN_OR_RETURN(rule.read,
                     StringList(item.value("read", Json()), where + ".read"));
    ASSIGN_OR_RETURN(rule.write, StringList(item.value("write", Json()),
                                            where + ".write"));
    auth.rules_.push_back(std::move(rule));
  }
  return auth;
}

Result<Authenticator> Authenticator::Load(const std::filesystem::path& htpasswd,
                                          const std::filesystem::path& rules) {
  ASSIGN_OR_RETURN(std::string users, ReadFile(htpasswd));
  std::string rules_text;
  if (!rules.empty()) {
    ASSIGN_OR_RETURN(rules_text, ReadFile(rules));
  }
  return FromText(users, htpasswd.string(), rules_text, rules.string());
}

Result<std::unique_ptr<AuthFiles>> AuthFiles::Load(
    const std::filesystem::path& htpasswd, const std::filesystem::path& rules,
    std::chrono::milliseconds recheck) {
  std::unique_ptr<AuthFiles> files(new AuthFiles(htpasswd, rules, recheck));
  // Stamped before reading: a change made while the files are read then
  // shows as a change at the next look, and is read again.
  files->htpasswd_stamp_ = StampOf(htpasswd);
  files->rules_stamp_ = StampOf(rules);
  ASSIGN_OR_RETURN(Authenticator loaded, Authenticator::Load(htpasswd, rules));
  files->current_ = std::make_shared<const Authenticator>(std::move(loaded));
  files->checked_ = std::chrono::steady_clock::now();
  return files;
}

std::shared_ptr<const Authenticator> AuthFiles::Current() {
  std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(mutex_);
  if (now - checked_ >= recheck_) {
    checked_ = now;
    RefreshLocked();
  }
  return current_;
}

void AuthFiles::RefreshLocked() {
  Stamp htpasswd = StampOf(htpasswd_);
  Stamp rules = StampOf(rules_);
  if (htpasswd == htpasswd_stamp_ && rules == rules_stamp_) return;
  std::string changed = htpasswd == htpasswd_stamp_ ? "" : htpasswd_.string();
  if (rules != rules_stamp_) {
    changed += (changed.empty() ? "" : " and ") + rules_.string();
  }
  // Stamped whether or not the read succeeds: a broken file is reported
  // once, not on every request, and read again once it changes.
  htpasswd_stamp_ = htpasswd;
  rules_stamp_ = rules;
  Result<Authenticator> loaded = Authenticator::Load(htpasswd_, rules_);
  if (!loaded.ok()) {
    LogWarning("{}; keeping the users and rules read before until it is "
               "fixed",
               loaded.status().message());
    return;
  }
  current_ = std::make_shared<const Authenticator>(std::move(*loaded));
  LogInfo("{} changed: read again", changed);
}

std::optional<std::string> Authenticator::CheckBasic(
    const std::string& header) const {
  std::optional<std::string> credentials = CredentialsOf(header, "Basic");
  if (!credentials) return std::nullopt;
  std::optional<std::string> decoded = Base64Decode(*credentials);
  if (!decoded) return std::nullopt;
  size_t colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  std::string user = decoded->substr(0, colon);
  std::string password = decoded->substr(colon + 1);
  // crypt(3) stops at a NUL, so "pw\0anything" would pass as "pw".
  if (password.find('\0') != std::string::npos) return std::nullopt;
  auto found = hashes_.find(user);
  if (found == hashes_.end()) return std::nullopt;

  crypt_data data{};
  const char* computed = crypt_r(password.c_str(), found->second.c_str(),
                                 &data);
  if (computed == nullptr || computed[0] == '*' ||
      found->second != computed) {
    return std::nullopt;
  }
  return user;
}

bool Authenticator::Allowed(const std::string& user, const std::string& repo,
                            bool write) const {
  if (!write) {
    for (const std::string& pattern : anonymous_pull_) {
      if (!repo.empty() && Matches(pattern, repo)) return true;
    }
  }
  if (user.empty()) return false;
  if (!has_rules_) return true;
  if (repo.empty()) return !write;  // catalog and /v2/ for any user
  for (const AccessRule& rule : rules_) {
    if (Matches(rule.repository, repo)) {
      return Lists(write ? rule.write : rule.read, user);
    }
  }
  return false;
}

namespace {

std::string Hex(const unsigned char* bytes, size_t size) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < size; ++i) {
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 15];
  }
  return out;
}

std::optional<std::string> Unhex(const std::string& text) {
  if (text.size() % 2 != 0) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < text.size(); i += 2) {
    int value = 0;
    for (size_t j = i; j < i + 2; ++j) {
      char c = text[j];
      int digit = c >= '0' && c <= '9'   ? c - '0'
                  : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                         : -1;
      if (digit < 0) return std::nullopt;
      value = value * 16 + digit;
    }
    out += static_cast<char>(value);
  }
  return out;
}

}  // namespace

TokenIssuer TokenIssuer::WithRandomKey() {
  unsigned char key[32];
  RAND_bytes(key, sizeof(key));
  return TokenIssuer(std::string(reinterpret_cast<char*>(key), sizeof(key)));
}

Result<TokenIssuer> TokenIssuer::KeyFromFile(
    const std::filesystem::path& path) {
  constexpr size_t kKeyBytes = 32;
  if (!std::filesystem::exists(path)) {
    // Written to a private temp file and linked into place: link fails
    // when another server made the key first, and then that key is used.
    unsigned char key[kKeyBytes];
    RAND_bytes(key, sizeof(key));
    std::filesystem::path temp = UniqueTempPath(path.parent_path(), ".key-");
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                    0600);
    if (fd < 0) return ErrnoStatus(temp, errno);
    bool written = ::write(fd, key, sizeof(key)) ==
                       static_cast<ssize_t>(sizeof(key)) &&
                   ::fsync(fd) == 0;
    int error = errno;
    ::close(fd);
    if (written && ::link(temp.c_str(), path.c_str()) != 0 &&
        errno != EEXIST) {
      written = false;
      error = errno;
    }
    ::unlink(temp.c_str());
    if (!written) return ErrnoStatus(path, error);
  }
  ASSIGN_OR_RETURN(std::string key, ReadFile(path));
  if (key.size() != kKeyBytes) {
    return Status::InvalidArgument(
        path.string() + ": token key must be " + std::to_string(kKeyBytes) +
        " bytes, found " + std::to_string(key.size()) +
        " (delete it to make a new one)");
  }
  return TokenIssuer(std::move(key));
}

std::string TokenIssuer::Sign(const std::string& payload) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(payload.data()), payload.size(),
       mac, &length);
  return Hex(mac, length);
}

std::string TokenIssuer::Issue(const std::string& user,
                               const std::vector<TokenGrant>& grants,
                               int64_t now_ms, int64_t ttl_ms) const {
  Json access = Json::array();
  for (const TokenGrant& grant : grants) {
    access.push_back({{"name", grant.repository},
                      {"pull", grant.pull},
                      {"push", grant.push}});
  }
  Json claims = {{"sub", user}, {"exp", now_ms + ttl_ms}, {"access", access}};
  std::string payload = claims.dump();
  std::string hex = Hex(reinterpret_cast<const unsigned char*>(payload.data()),
                        payload.size());
  return hex + "." + Sign(payload);
}

std::optional<TokenIssuer::Claims> TokenIssuer::Verify(
    const std::string& token, int64_t now_ms) const {
  size_t dot = token.find('.');
  if (dot == std::string::npos) return std::nullopt;
  std::optional<std::string> payload = Unhex(token.substr(0, dot));
  if (!payload) return std::nullopt;
  std::string expected = Sign(*payload);
  std::string given = token.substr(dot + 1);
  if (given.size() != expected.size() ||
      CRYPTO_memcmp(given.data(), expected.data(), given.size()) != 0) {
    return std::nullopt;
  }
  // Checked field by field: operator[] and value() throw on a missing
  // field or a wrong type (registry_http_fuzzer: a signed "{}" aborted).
  Json claims = ParseJsonOrDiscarded(*payload);
  if (!claims.is_object()) return std::nullopt;
  Json exp = claims.value("exp", Json());
  Json sub = claims.value("sub", Json(""));
  Json access = claims.value("access", Json::array());
  if (!exp.is_number_integer() || exp.get<int64_t>() <= now_ms ||
      !sub.is_string() || !access.is_array()) {
    return std::nullopt;
  }
  Claims out;
  out.user = sub.get<std::string>();
  for (const Json& entry : access) {
    if (!entry.is_object()) return std::nullopt;
    Json name = entry.value("name", Json(""));
    Json pull = entry.value("pull", Json(false));
    Json push = entry.value("push", Json(false));
    if (!name.is_string() || !pull.is_boolean() || !push.is_boolean()) {
      return std::nullopt;
    }
    out.grants.push_back(
        {name.get<std::string>(), pull.get<bool>(), push.get<bool>()});
  }
  return out;
}

std::vector<TokenGrant> ParseScopes(const std::vector<std::string>& scopes) {
  std::vector<TokenGrant> grants;
  for (const std::string& scope : scopes) {
    // Several scopes may also come space-separated in one parameter.
    std::istringstream words(scope);
    std::string word;
    while (words >> word) {
      size_t first = word.find(':');
      size_t last = word.rfind(':');
      if (first == std::string::npos || first == last) continue;
      if (word.substr(0, first) != "repository") continue;
      TokenGrant grant;
      grant.repository = word.substr(first + 1, last - first - 1);
      std::string actions = "," + word.substr(last + 1) + ",";
      grant.pull = actions.find(",pull,") != std::string::npos ||
                   actions.find(",*,") != std::string::npos;
      grant.push = actions.find(",push,") != std::string::npos ||
                   actions.find(",*,") != std::string::npos;
      grants.push_back(grant);
    }
  }
  return grants;
}

}  // namespace lockstep::registry
