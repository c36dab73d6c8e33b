// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Checking a parsed lock against what is on disk: an installed
// site-packages folder (dist-info METADATA and RECORD) or a folder of
// wheels and sdists.

#include <algorithm>
#include <fmt/format.h>

#include "core/ascii.h"
#include "core/files.h"
#include "core/base64.h"
#include "env/lockfile.h"

namespace lockstep::env {
namespace {

// Versions compare case-insensitively; a leading "v" is not significant
// (PEP 440 normalisation).
bool SameVersion(std::string_view a, std::string_view b) {
  std::string x = AsciiLowercase(a), y = AsciiLowercase(b);
  if (!x.empty() && x[0] == 'v') x.erase(0, 1);
  if (!y.empty() && y[0] == 'v') y.erase(0, 1);
  return x == y;
}

std::vector<std::string> Prefixed(const std::vector<std::string>& hexes) {
  std::vector<std::string> out;
  for (const std::string& hex : hexes) out.push_back("sha256:" + hex);
  return out;
}

LockVerification StartVerification(const Lockfile& lock, std::string kind,
                                   const fs::path& target) {
  LockVerification result;
  result.lockfile = lock.source;
  result.lockfile_digest = lock.digest;
  result.target_kind = std::move(kind);
  result.target = target.string();
  for (const LockedPackage& package : lock.packages) {
    if (!package.unhashable_kind.empty()) {
      result.unverified.push_back(
          {package.name, package.line,
           package.unhashable_kind + " requirement cannot be hashed"});
    }
  }
  return result;
}

// A locked package that was not found: drift, unless its environment
// marker (which Lockstep does not evaluate) may exclude this platform.
void ReportAbsent(const LockedPackage& package, std::string_view where,
                  LockVerification* result) {
  if (!package.marker.empty()) {
    result->unverified.push_back(
        {package.name, package.line,
         fmt::format("absent, and its marker '{}' was not evaluated",
                     package.marker)});
    return;
  }
  result->findings.push_back(
      {"missing", package.name, "", {package.version}, "",
       fmt::format("{}=={} (line {}) is not in {}", package.name,
                   package.version, package.line, where)});
}

// Splits one CSV line of a RECORD file; fields may be quoted with "".
std::vector<std::string> SplitCsv(std::string_view line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c != '\r') {
      fields.back() += c;
    }
  }
  return fields;
}

// Checks every hashed file listed in the distribution's RECORD.
Status CheckRecord(const InstalledDistribution& dist,
                   const fs::path& site_packages, LockVerification* result) {
  fs::path record_path = dist.dist_info / "RECORD";
  auto record = ReadFile(record_path);
  if (!record.ok()) {
    result->findings.push_back(
        {"unverifiable", dist.name, record_path.string(), {}, "",
         fmt::format("{}: no RECORD, so its files cannot be checked",
                     dist.dist_info.filename().string())});
    return Status::Ok();
  }

  std::string_view text = *record;
  int number = 0;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? "" : text.substr(end + 1);
    ++number;
    if (line.empty()) continue;

    std::vector<std::string> fields = SplitCsv(line);
    if (fields.size() < 2 || fields[1].empty()) continue;
    const std::string& path = fields[0];
    const std::string& hash = fields[1];
    std::optional<std::string> raw;
    if (hash.rfind("sha256=", 0) == 0) raw = Base64Decode(hash.substr(7));
    if (!raw || raw->size() != 32) {
      result->findings.push_back(
          {"unverifiable", dist.name, path, {}, hash,
           fmt::format("{}:{}: hash '{}' is not sha256=<base64>",
                       record_path.string(), number, hash)});
      continue;
    }

    std::string expected = "sha256:" + HexOf(*raw);
    fs::path file = (site_packages / path).lexically_normal();
    ++result->files_checked;
    std::error_code error;
    if (!fs::is_regular_file(file, error)) {
      result->findings.push_back(
          {"missing_file", dist.name, path, {expected}, "",
           fmt::format("{}: file {} of its RECORD is missing", dist.name,
                       path)});
      continue;
    }
    ASSIGN_OR_RETURN(Digest actual, Sha256OfFile(file));
    if (actual.ToString() != expected) {
      result->findings.push_back(
          {"modified_file", dist.name, path, {expected}, actual.ToString(),
           fmt::format("{}: file {} was modified: RECORD has {}, file has {}",
                       dist.name, path, expected, actual.ToString())});
    }
  }
  return Status::Ok();
}

// The value of a "Key: value" header line whose key is `key_size` long.
std::string_view HeaderValue(std::string_view line, size_t key_size) {
  std::string_view value = line.substr(key_size);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
    value.remove_prefix(1);
  }
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  return value;
}

// Reads "Name:" and "Version:" from the header block of a METADATA file.
Result<InstalledDistribution> ReadMetadata(const fs::path& dist_info) {
  fs::path path = dist_info / "METADATA";
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  InstalledDistribution dist;
  dist.dist_info = dist_info;
  size_t position = 0;
  while (position < text.size()) {
    size_t end = text.find('\n', position);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + position, end - position);
    position = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // The body starts after the headers.
    if (line.rfind("Name:", 0) == 0 && dist.name.empty()) {
      dist.name = NormalizePackageName(HeaderValue(line, 5));
    } else if (line.rfind("Version:", 0) == 0 && dist.version.empty()) {
      dist.version = std::string(HeaderValue(line, 8));
    }
  }
  if (dist.name.empty() || dist.version.empty()) {
    return Status::InvalidArgument(
        fmt::format("{}: no Name or Version header", path.string()));
  }
  return dist;
}

}  // namespace

Result<std::map<std::string, InstalledDistribution>> ReadInstalledDistributions(
    const fs::path& site_packages) {
  std::error_code error;
  if (!fs::is_directory(site_packages, error)) {
    return Status::NotFound(
        fmt::format("{}: not a folder", site_packages.string()));
  }
  std::vector<fs::path> folders;
  // increment(error), not a range-for, whose ++ throws on a read error.
  fs::directory_iterator it(site_packages, error);
  for (; !error && it != fs::directory_iterator(); it.increment(error)) {
    std::string name = it->path().filename().string();
    std::error_code kind_error;
    if (it->is_directory(kind_error) && name.size() > 10 &&
        name.ends_with(".dist-info")) {
      folders.push_back(it->path());
    }
  }
  if (error) return ErrnoStatus(site_packages, error.value());
  std::sort(folders.begin(), folders.end());

  std::map<std::string, InstalledDistribution> dists;
  for (const fs::path& folder : folders) {
    ASSIGN_OR_RETURN(InstalledDistribution dist, ReadMetadata(folder));
    dists.emplace(dist.name, std::move(dist));
  }
  return dists;
}

Result<LockVerification> VerifyInstalled(const Lockfile& lock,
                                         const fs::path& site_packages,
                                         const SitePackagesOptions& options) {
  ASSIGN_OR_RETURN(auto dists, ReadInstalledDistributions(site_packages));
  LockVerification result =
      StartVerification(lock, "site-packages", site_packages);

  std::set<std::string> locked;
  for (const LockedPackage& package : lock.packages) {
    locked.insert(package.name);
    if (!package.unhashable_kind.empty()) continue;
    ++result.packages_checked;
    auto it = dists.find(package.name);
    if (it == dists.end()) {
      ReportAbsent(package, site_packages.string(), &result);
      continue;
    }
    if (!SameVersion(it->second.version, package.version)) {
      result.findings.push_back(
          {"other_version", package.name, "", {package.version},
           it->second.version,
           fmt::format("{}: installed version {}, lock pins {} (line {})",
                       package.name, it->second.version, package.version,
                       package.line)});
      continue;
    }
    RETURN_IF_ERROR(CheckRecord(it->second, site_packages, &result));
  }

  for (const auto& [name, dist] : dists) {
    if (locked.contains(name) || options.ignore_extra.contains(name)) continue;
    result.findings.push_back(
        {"extra", name, dist.dist_info.filename().string(), {}, dist.version,
         fmt::format("{}=={} is installed but not in the lock", name,
                     dist.version)});
  }
  return result;
}

Result<LockVerification> VerifyArtifacts(const Lockfile& lock,
                                         const fs::path& folder) {
  std::error_code error;
  if (!fs::is_directory(folder, error)) {
    return Status::NotFound(fmt::format("{}: not a folder", folder.string()));
  }
  std::vector<fs::path> files;
  fs::directory_iterator entry(folder, error);
  for (; !error && entry != fs::directory_iterator();
       entry.increment(error)) {
    std::error_code kind_error;
    if (entry->is_regular_file(kind_error)) files.push_back(entry->path());
  }
  if (error) return ErrnoStatus(folder, error.value());
  std::sort(files.begin(), files.end());

  LockVerification result = StartVerification(lock, "files", folder);
  std::map<std::string, const LockedPackage*> by_name;
  for (const LockedPackage& package : lock.packages) {
    by_name.emplace(package.name, &package);
  }

  std::set<std::string> found;
  for (const fs::path& path : files) {
    std::string file = path.filename().string();
    std::string name, version;
    if (!ParseArtifactName(file, &name, &version)) continue;
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      result.findings.push_back(
          {"extra", name, file, {}, version,
           fmt::format("{}: {} is not in the lock", file, name)});
      continue;
    }
    const LockedPackage& package = *it->second;
    if (!package.unhashable_kind.empty()) continue;
    if (!SameVersion(version, package.version)) {
      result.findings.push_back(
          {"other_version", name, file, {package.version}, version,
           fmt::format("{}: version {}, lock pins {}=={} (line {})", file,
                       version, name, package.version, package.line)});
      continue;
    }
    found.insert(name);
    ++result.files_checked;
    if (package.sha256.empty()) {
      result.findings.push_back(
          {"unverifiable", name, file, package.other_hashes, "",
           fmt::format("{}: the lock has no sha256 hash for {} (line {}), "
                       "only {}",
                       file, name, package.line, package.other_hashes[0])});
      continue;
    }

    ASSIGN_OR_RETURN(Digest actual, Sha256OfFile(path));
    if (std::find(package.sha256.begin(), package.sha256.end(),
                  actual.hex()) == package.sha256.end()) {
      std::vector<std::string> expected = Prefixed(package.sha256);
      result.findings.push_back(
          {"hash_mismatch", name, file, expected, actual.ToString(),
           fmt::format("{}: {} matches none of the hashes of {}=={} (line "
                       "{}): {}",
                       file, actual.ToString(), name, package.version,
                       package.line, fmt::join(expected, ", "))});
    }
  }

  for (const LockedPackage& package : lock.packages) {
    if (!package.unhashable_kind.empty()) continue;
    ++result.packages_checked;
    if (!found.contains(package.name)) {
      ReportAbsent(package, folder.string(), &result);
    }
  }
  return result;
}

Json LockVerification::ToJson() const {
  Json out = {{"lockfile", lockfile},
              {"lockfile_digest", lockfile_digest.ToString()},
              {"target", {{"kind", target_kind}, {"path", target}}},
              {"ok", ok()},
              {"packages_checked", packages_checked},
              {"files_checked", files_checked},
              {"findings", Json::array()},
              {"unverified", Json::array()}};
  for (const LockFinding& finding : findings) {
    Json item = {{"kind", finding.kind},
                 {"package", finding.package},
                 {"message", finding.message}};
    if (!finding.file.empty()) item["file"] = finding.file;
    if (!finding.expected.empty()) item["expected"] = finding.expected;
    if (!finding.actual.empty()) item["actual"] = finding.actual;
    out["findings"].push_back(std::move(item));
  }
  for (const UnverifiedPackage& package : unverified) {
    out["unverified"].push_back({{"package", package.package},
                                 {"line", package.line},
                                 {"reason", package.reason}});
  }
  return out;
}

}  // namespace lockstep::env
