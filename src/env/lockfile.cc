// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "env/lockfile.h"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>

#include "core/ascii.h"
#include "core/files.h"
#include "core/base64.h"
#include "core/utf8.h"

namespace lockstep::env {
namespace {

struct Token {
  std::string text;
  int line = 0;
};

// The tokens of one requirement after `\` continuations are joined.
struct LogicalLine {
  std::vector<Token> tokens;
};

bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)); }

std::string_view Trim(std::string_view text) {
  while (!text.empty() && IsSpace(text.front())) text.remove_prefix(1);
  while (!text.empty() && IsSpace(text.back())) text.remove_suffix(1);
  return text;
}

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() &&
         text.substr(text.size() - suffix.size()) == suffix;
}

// pip's rule: '#' starts a comment only at the start of a line or after
// whitespace, so "https://host/f.whl#sha256=..." keeps its fragment.
std::string_view StripComment(std::string_view line) {
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '#' && (i == 0 || IsSpace(line[i - 1]))) {
      return line.substr(0, i);
    }
  }
  return line;
}

void AppendTokens(std::string_view text, int line, LogicalLine* out) {
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && IsSpace(text[i])) ++i;
    size_t start = i;
    while (i < text.size() && !IsSpace(text[i])) ++i;
    if (i > start) {
      out->tokens.push_back({std::string(text.substr(start, i - start)),
                             line});
    }
  }
}

// Splits text into logical lines. Comment lines inside a continuation are
// skipped; after one, only an option line ("--hash=...") continues the
// requirement, so a "# via" block can never merge the next requirement
// into the previous one.
std::vector<LogicalLine> JoinLines(std::string_view text) {
  std::vector<LogicalLine> lines;
  LogicalLine current;
  bool continuing = false;
  bool comment_since_continue = false;
  auto flush = [&] {
    if (!current.tokens.empty()) lines.push_back(std::move(current));
    current = LogicalLine();
    continuing = false;
    comment_since_continue = false;
  };

  int number = 0;
  size_t position = 0;
  while (position <= text.size()) {
    size_t end = text.find('\n', position);
    if (end == std::string_view::npos) end = text.size();
    std::string_view raw = text.substr(position, end - position);
    position = end + 1;
    ++number;

    std::string_view trimmed = Trim(raw);
    if (StartsWith(trimmed, "#")) {
      comment_since_continue = continuing;
      continue;
    }
    std::string_view content = Trim(StripComment(raw));
    if (content.empty()) {
      flush();
      continue;
    }

    bool continues = EndsWith(content, "\\");
    if (continues) content = Trim(content.substr(0, content.size() - 1));
    if (continuing && comment_since_continue && !StartsWith(content, "-")) {
      flush();
    }
    AppendTokens(content, number, &current);
    if (continues) {
      continuing = true;
      comment_since_continue = false;
    } else {
      flush();
    }
  }
  flush();
  return lines;
}

bool IsVcsUrl(std::string_view text) {
  for (std::string_view prefix : {"git+", "hg+", "svn+", "bzr+"}) {
    if (StartsWith(text, prefix)) return true;
  }
  return false;
}

bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' ||
         c == '_' || c == '.';
}

// "#egg=name" from a VCS or editable URL, or "".
std::string EggName(std::string_view url) {
  size_t egg = url.find("#egg=");
  if (egg == std::string_view::npos) return "";
  std::string_view name = url.substr(egg + 5);
  size_t stop = name.find_first_of("&# ");
  return NormalizePackageName(name.substr(0, stop));
}

// The last path component of a URL, without query or fragment, with
// %XX escapes decoded ("torch-2.2.0%2Bcpu-..." names version 2.2.0+cpu).
std::string UrlFileName(std::string_view url) {
  url = url.substr(0, url.find_first_of("#?"));
  size_t slash = url.rfind('/');
  if (slash != std::string_view::npos) url = url.substr(slash + 1);

  std::string out;
  for (size_t i = 0; i < url.size(); ++i) {
    if (url[i] == '%' && i + 2 < url.size() &&
        std::isxdigit(static_cast<unsigned char>(url[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(url[i + 2]))) {
      out += char(std::stoi(std::string(url.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += url[i];
    }
  }
  return out;
}

class Parser {
 public:
  Parser(std::string_view source, const LockfileOptions& options)
      : source_(source), options_(options) {}

  void ParseLine(const LogicalLine& line);
  void CheckDuplicates(const std::vector<LockedPackage>& packages);

  std::vector<LockedPackage> packages;
  std::vector<std::string> errors;

 private:
  void Error(int line, const std::string& reason) {
    errors.push_back(fmt::format("{}:{}: {}", source_, line, reason));
  }
  void ParseGlobalOption(const LogicalLine& line);
  void AddUnhashable(const std::string& kind, const std::string& name,
                     const std::string& url, int line,
                     const std::string& shown);
  bool ParseRequirement(std::string_view text, int line,
                        LockedPackage* package);
  bool ParseHash(const Token& token, std::string_view value,
                 LockedPackage* package);

  std::string source_;
  LockfileOptions options_;
};

void Parser::AddUnhashable(const std::string& kind, const std::string& name,
                           const std::string& url, int line,
                           const std::string& shown) {
  if (!options_.allow_unhashable) {
    Error(line, fmt::format("{} requirement '{}' cannot be pinned by hash "
                            "(pass --allow-unhashable to accept it "
                            "unverified)",
                            kind, shown));
    return;
  }
  LockedPackage package;
  package.name = name.empty() ? url : name;
  package.url = url;
  package.unhashable_kind = kind;
  package.line = line;
  packages.push_back(std::move(package));
}

void Parser::ParseGlobalOption(const LogicalLine& line) {
  const Token& first = line.tokens[0];
  std::string_view option = first.text;
  std::string_view attached;
  size_t equals = option.find('=');
  if (equals != std::string_view::npos) {
    attached = option.substr(equals + 1);
    option = option.substr(0, equals);
  }

  if (option == "-e" || option == "--editable" ||
      (StartsWith(option, "-e") && !StartsWith(option, "--"))) {
    std::string target(attached);
    if (option.size() > 2 && !StartsWith(option, "--")) {
      target = std::string(first.text.substr(2));
    }
    if (target.empty() && line.tokens.size() > 1) {
      target = line.tokens[1].text;
    }
    AddUnhashable("editable", EggName(target), target, first.line,
                  "-e " + target);
    return;
  }
  if (option == "-r" || option == "--requirement" || option == "-c" ||
      option == "--constraint") {
    Error(first.line, fmt::format("'{}' includes another file, which a lock "
                                  "check does not follow; compile it into "
                                  "this lockfile",
                                  option));
    return;
  }
  if (option == "--hash") {
    Error(first.line, "--hash without a requirement before it");
    return;
  }

  static const std::set<std::string_view> kIgnored = {
      "-i", "--index-url", "--extra-index-url", "-f", "--find-links",
      "--trusted-host", "--no-binary", "--only-binary", "--no-index",
      "--pre", "--prefer-binary", "--require-hashes", "--use-feature"};
  if (!kIgnored.contains(option)) {
    Error(first.line, fmt::format("unknown option '{}'", option));
  }
}

bool Parser::ParseRequirement(std::string_view text, int line,
                              LockedPackage* package) {
  size_t i = 0;
  while (i < text.size() && IsNameChar(text[i])) ++i;
  std::string_view name = text.substr(0, i);
  if (name.empty() || !std::isalnum(static_cast<unsigned char>(name[0]))) {
    Error(line, fmt::format("cannot read a package name in '{}'", text));
    return false;
  }
  package->name = NormalizePackageName(name);
  package->line = line;
  std::string_view rest = Trim(text.substr(i));

  if (StartsWith(rest, "[")) {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) {
      Error(line, fmt::format("unclosed '[' in the extras of '{}'", name));
      return false;
    }
    std::string_view extras = rest.substr(1, close - 1);
    while (!extras.empty()) {
      size_t comma = extras.find(',');
      std::string_view extra = Trim(extras.substr(0, comma));
      if (!extra.empty()) {
        package->extras.push_back(NormalizePackageName(extra));
      }
      if (comma == std::string_view::npos) break;
      extras.remove_prefix(comma + 1);
    }
    rest = Trim(rest.substr(close + 1));
  }

  // A URL may hold ';', so its marker needs whitespace before the ';'.
  bool is_url = StartsWith(rest, "@");
  size_t semicolon = std::string_view::npos;
  for (size_t k = 0; k < rest.size(); ++k) {
    if (rest[k] == ';' && (!is_url || (k > 0 && IsSpace(rest[k - 1])))) {
      semicolon = k;
      break;
    }
  }
  if (semicolon != std::string_view::npos) {
    package->marker = std::string(Trim(rest.substr(semicolon + 1)));
    rest = Trim(rest.substr(0, semicolon));
  }

  if (is_url) {
    package->url = std::string(Trim(rest.substr(1)));
    if (IsVcsUrl(package->url)) {
      AddUnhashable("vcs", package->name, package->url, line,
                    std::string(text));
      return false;
    }
    std::string file_name, version;
    if (!ParseArtifactName(UrlFileName(package->url), &file_name, &version)) {
      Error(line, fmt::format("cannot read a version from the file name of "
                              "URL '{}'",
                              package->url));
      return false;
    }
    package->version = version;
    return true;
  }

  std::string_view version;
  if (StartsWith(rest, "===")) {
    version = Trim(rest.substr(3));
  } else if (StartsWith(rest, "==")) {
    version = Trim(rest.substr(2));
  }
  // A PEP 440 epoch ("1!2.0") is the one place a '!' may appear.
  std::string_view release = version;
  size_t bang = release.find('!');
  if (bang != std::string_view::npos && bang > 0 &&
      std::all_of(release.begin(), release.begin() + bang,
                  [](char c) { return c >= '0' && c <= '9'; })) {
    release.remove_prefix(bang + 1);
  }
  bool pinned = !release.empty() &&
                release.find_first_of(",*<>=!~ ") == std::string_view::npos;
  if (!pinned) {
    Error(line, fmt::format("'{}' is not pinned with ==", text));
    return false;
  }
  package->version = std::string(version);
  return true;
}

bool Parser::ParseHash(const Token& token, std::string_view value,
                       LockedPackage* package) {
  size_t colon = value.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    Error(token.line, fmt::format("malformed hash '{}': expected "
                                  "algorithm:hex",
                                  value));
    return false;
  }
  std::string algorithm = AsciiLowercase(value.substr(0, colon));
  std::string hex = AsciiLowercase(value.substr(colon + 1));
  bool is_hex = !hex.empty() && std::all_of(hex.begin(), hex.end(), [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c));
  });
  if (!is_hex) {
    Error(token.line, fmt::format("malformed hash '{}': not hex", value));
    return false;
  }
  if (algorithm != "sha256") {
    package->other_hashes.push_back(algorithm + ":" + hex);
    return true;
  }
  if (hex.size() != 64) {
    Error(token.line, fmt::format("malformed sha256 hash '{}': {} hex "
                                  "digits, expected 64",
                                  value, hex.size()));
    return false;
  }
  package->sha256.push_back(hex);
  return true;
}

void Parser::ParseLine(const LogicalLine& line) {
  // Requirements are ASCII (PEP 508); other bytes would also reach
  // error messages and --json output, which are UTF-8.
  for (const Token& token : line.tokens) {
    Status utf8 = RequireUtf8("the line", token.text);
    if (!utf8.ok()) {
      Error(token.line, utf8.message());
      return;
    }
  }
  if (StartsWith(line.tokens[0].text, "-")) {
    ParseGlobalOption(line);
    return;
  }

  // Requirement tokens run until the first option, as in pip.
  size_t k = 0;
  std::string text;
  for (; k < line.tokens.size() && !StartsWith(line.tokens[k].text, "-");
       ++k) {
    if (!text.empty()) text += ' ';
    text += line.tokens[k].text;
  }
  int number = line.tokens[0].line;
  if (IsVcsUrl(text)) {
    AddUnhashable("vcs", EggName(text), text, number, text);
    return;
  }
  if (text.find("://") != std::string::npos &&
      text.find('@') == std::string::npos) {
    Error(number, fmt::format("URL requirement '{}' has no name; write "
                              "'name @ URL'",
                              text));
    return;
  }

  LockedPackage package;
  bool ok = ParseRequirement(text, number, &package);
  for (; k < line.tokens.size(); ++k) {
    const Token& token = line.tokens[k];
    if (StartsWith(token.text, "--hash=")) {
      ok = ParseHash(token, token.text.substr(7), &package) && ok;
    } else if (token.text == "--hash" && k + 1 < line.tokens.size()) {
      ok = ParseHash(token, line.tokens[k + 1].text, &package) && ok;
      ++k;
    } else if (!StartsWith(token.text, "-")) {
      // Usually a stray '\' at the end of the line above.
      Error(token.line, fmt::format("'{}' follows the options of '{}'; is "
                                    "there a stray '\\' on the line "
                                    "before?",
                                    token.text, text));
      ok = false;
    } else {
      Error(token.line, fmt::format("unknown option '{}' after '{}'",
                                    token.text, text));
      ok = false;
    }
  }
  if (!ok) return;

  if (package.sha256.empty() && package.other_hashes.empty()) {
    Error(number, fmt::format("'{}' has no --hash", text));
    return;
  }
  packages.push_back(std::move(package));
}

void Parser::CheckDuplicates(const std::vector<LockedPackage>& all) {
  std::map<std::pair<std::string, std::string>, int> seen;
  for (const LockedPackage& package : all) {
    auto [it, inserted] =
        seen.emplace(std::make_pair(package.name, package.marker),
                     package.line);
    if (!inserted) {
      Error(package.line, fmt::format("'{}' is listed again (first at line "
                                      "{})",
                                      package.name, it->second));
    }
  }
}

}  // namespace

std::string NormalizePackageName(std::string_view name) {
  std::string out;
  bool in_separator = false;
  for (char c : name) {
    if (c == '-' || c == '_' || c == '.') {
      in_separator = true;
      continue;
    }
    if (in_separator && !out.empty()) out += '-';
    in_separator = false;
    out += char(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

Result<Lockfile> ParseLockfile(std::string_view text, std::string_view source,
                               const LockfileOptions& options) {
  Parser parser(source, options);
  // Editors on Windows start UTF-8 files with a byte-order mark, and pip
  // reads such a requirements file; the mark is not part of a name. The
  // digest below still covers the file's bytes as they are.
  std::string_view body = text;
  if (body.starts_with("\xEF\xBB\xBF")) body.remove_prefix(3);
  for (const LogicalLine& line : JoinLines(body)) {
    parser.ParseLine(line);
  }
  parser.CheckDuplicates(parser.packages);

  if (!parser.errors.empty()) {
    std::string message = parser.errors[0];
    for (size_t i = 1; i < parser.errors.size(); ++i) {
      message += "\n" + parser.errors[i];
    }
    return Status::InvalidArgument(message);
  }
  Lockfile lock;
  lock.source = std::string(source);
  lock.digest = Sha256Of(text);
  lock.packages = std::move(parser.packages);
  return lock;
}

Result<Lockfile> LoadLockfile(const fs::path& path,
                              const LockfileOptions& options) {
  ASSIGN_OR_RETURN(std::string text, ReadDocument(path));
  return ParseLockfile(text, path.string(), options);
}

bool ParseArtifactName(std::string_view file_name, std::string* name,
                       std::string* version) {
  if (EndsWith(file_name, ".whl")) {
    std::string_view stem = file_name.substr(0, file_name.size() - 4);
    std::vector<std::string_view> parts;
    size_t start = 0;
    for (size_t dash; (dash = stem.find('-', start)) != std::string_view::npos;
         start = dash + 1) {
      parts.push_back(stem.substr(start, dash - start));
    }
    parts.push_back(stem.substr(start));
    if (parts.size() < 5 || parts[0].empty() || parts[1].empty()) return false;
    *name = NormalizePackageName(parts[0]);
    *version = std::string(parts[1]);
    return true;
  }

  std::string_view stem;
  for (std::string_view suffix :
       {".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".zip"}) {
    if (EndsWith(file_name, suffix)) {
      stem = file_name.substr(0, file_name.size() - suffix.size());
      break;
    }
  }
  // Old sdists keep dashes in the name ("python-dateutil-2.8.2"): the
  // version starts at the first dash followed by a digit.
  for (size_t i = 0; i + 1 < stem.size(); ++i) {
    bool digit_follows = std::isdigit(static_cast<unsigned char>(stem[i + 1]));
    if (stem[i] == '-' && digit_follows) {
      if (i == 0) return false;
      *name = NormalizePackageName(stem.substr(0, i));
      *version = std::string(stem.substr(i + 1));
      return true;
    }
  }
  return false;
}

}  // namespace lockstep::env
