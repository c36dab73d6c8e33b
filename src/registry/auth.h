// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Who may read and write which repository. Users and bcrypt password
// hashes come from an htpasswd file (`htpasswd -B`), checked with
// crypt(3) from libxcrypt. Access rules come from a JSON file:
//   {"anonymousPull": ["public/*"],
//    "rules": [{"repository": "team/*", "read": ["*"], "write": ["ana"]}]}
// where "*" in read/write means any authenticated user and a repository
// pattern ending in "/*" or "*" matches by prefix. Without a rules file
// every authenticated user may read and write everything.

#ifndef LOCKSTEP_REGISTRY_AUTH_H_
#define LOCKSTEP_REGISTRY_AUTH_H_

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace lockstep::registry {

// The credentials of an Authorization header whose scheme is `scheme`
// ("Basic", "Bearer"), compared case-insensitively as RFC 9110 section
// 11.1 says ("basic" was refused); nullopt for another scheme.
std::optional<std::string> CredentialsOf(std::string_view header,
                                         std::string_view scheme);

// True for a "Basic" header whose user name and password are both empty
// ("Basic Og==", base64 of ":"): podman sends it when it has no login,
// so it is no credentials at all, not wrong ones.
bool IsEmptyBasicLogin(std::string_view header);

struct AccessRule {
  std::string repository;  // exact name, or a prefix pattern ending in '*'
  std::vector<std::string> read;
  std::vector<std::string> write;
};

class Authenticator {
 public:
  // Reads the htpasswd file and, when given, the rules file.
  static Result<Authenticator> Load(const std::filesystem::path& htpasswd,
                                    const std::filesystem::path& rules);

  // Parses htpasswd text and rules JSON text (also used by the fuzzer);
  // errors name `htpasswd_source` or `rules_source`.
  static Result<Authenticator> FromText(const std::string& htpasswd,
                                        const std::string& htpasswd_source,
                                        const std::string& rules,
                                        const std::string& source);

  // The user named by a "Basic base64(user:pass)" header (the scheme in
  // any case) whose password checks out; nullopt otherwise.
  std::optional<std::string> CheckBasic(const std::string& header) const;

  // True when `user` ("" for anonymous) may read (or write) `repo`.
  // Repository "" stands for registry-wide reads such as the catalog.
  bool Allowed(const std::string& user, const std::string& repo,
               bool write) const;

  // True when the htpasswd file lists `user`: a token names its user,
  // who may have been removed since it was issued.
  bool HasUser(const std::string& user) const {
    return hashes_.count(user) != 0;
  }

 private:
  // FromText, its errors naming fields by path alone.
  static Result<Authenticator> FromTextUnlocated(
      const std::string& htpasswd, const std::string& htpasswd_source,
      const std::string& rules, const std::string& source);

  std::map<std::string, std::string> hashes_;  // user -> bcrypt hash
  std::vector<AccessRule> rules_;
  std::vector<std::string> anonymous_pull_;
  bool has_rules_ = false;
};

// An Authenticator that follows its files, so that `htpasswd -D FILE
// carl` takes effect without a restart (distribution rereads its
// htpasswd file when it changes). A file is taken as changed when its
// device, inode, size, mtime or ctime (in ns) differ: htpasswd rewrites
// it in place (same inode) and other tools rename a new file over it.
// A reread that fails (a file missing, half written or invalid) keeps
// the users and rules read before, warning once per change, so that a
// slip while editing neither opens the registry nor locks everyone out.
class AuthFiles {
 public:
  // Reads both files (`rules` may be empty: no rules file); an error
  // here stops the start. The files are looked at again at most once
  // per `recheck` (zero: on every Current()).
  static Result<std::unique_ptr<AuthFiles>> Load(
      const std::filesystem::path& htpasswd,
      const std::filesystem::path& rules,
      std::chrono::milliseconds recheck);

  // The users and rules to decide one request with; callers keep the
  // snapshot for the whole request, so one decision sees one version.
  std::shared_ptr<const Authenticator> Current();

  // What identifies one version of a file without reading it.
  struct Stamp {
    int error = 0;  // errno of a failed stat; the rest is then zero
    uint64_t device = 0, inode = 0, size = 0;
    int64_t mtime_ns = 0, ctime_ns = 0;
    bool operator==(const Stamp&) const = default;
  };

 private:
  AuthFiles(std::filesystem::path htpasswd, std::filesystem::path rules,
            std::chrono::milliseconds recheck)
      : htpasswd_(std::move(htpasswd)),
        rules_(std::move(rules)),
        recheck_(recheck) {}
  // Rereads the files if their stamps changed; mutex_ held.
  void RefreshLocked();

  const std::filesystem::path htpasswd_;
  const std::filesystem::path rules_;
  const std::chrono::milliseconds recheck_;
  std::mutex mutex_;
  std::shared_ptr<const Authenticator> current_;  // guarded by mutex_
  Stamp htpasswd_stamp_, rules_stamp_;            // of the last read
  std::chrono::steady_clock::time_point checked_;
};

// What a bearer token lets its holder do in one repository ("" with
// pull = true stands for registry-wide reads: /v2/ and the catalog).
struct TokenGrant {
  std::string repository;
  bool pull = false;
  bool push = false;
};

// Bearer tokens after Docker's token authentication spec, issued by the
// registry itself at /token and signed with HMAC-SHA256. Each token
// carries its expiry. The key is kept in the store (KeyFromFile), so
// tokens stay valid across a server restart until they expire.
// Format: hex(JSON claims) "." hex(HMAC).
class TokenIssuer {
 public:
  explicit TokenIssuer(std::string key) : key_(std::move(key)) {}
  static TokenIssuer WithRandomKey();
  // The 32-byte key in `path`, made (random, mode 0600) when the file
  // does not exist yet. Servers started at once agree on one key.
  // InvalidArgument when the file holds anything but 32 bytes.
  static Result<TokenIssuer> KeyFromFile(const std::filesystem::path& path);

  std::string Issue(const std::string& user,
                    const std::vector<TokenGrant>& grants, int64_t now_ms,
                    int64_t ttl_ms) const;

  struct Claims {
    std::string user;
    std::vector<TokenGrant> grants;
  };
  // The claims when the signature holds and the token has not expired.
  std::optional<Claims> Verify(const std::string& token, int64_t now_ms) const;

 private:
  std::string Sign(const std::string& payload) const;
  std::string key_;
};

// Parses "repository:NAME:pull,push" scopes; others are ignored.
std::vector<TokenGrant> ParseScopes(const std::vector<std::string>& scopes);

}  // namespace lockstep::registry

#endif  // LOCKSTEP_REGISTRY_AUTH_H_
