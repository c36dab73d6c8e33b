// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "registry/store_check.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "core/files.h"
#include "core/progress.h"
#include "registry/oci.h"

namespace lockstep::registry {

namespace {

namespace fs = std::filesystem;

// ---- Blobs: every copy re-hashed where it lies ----

// The files to re-hash, with their sizes for the progress bar.
struct BlobFiles {
  std::vector<std::pair<Digest, uint64_t>> loose;
  std::vector<std::pair<fs::path, uint64_t>> packs;
  uint64_t bytes = 0;
};

Result<BlobFiles> ListBlobFiles(const store::BlobStore& blobs) {
  BlobFiles files;
  ASSIGN_OR_RETURN(std::vector<Digest> loose, blobs.ListLoose());
  for (const Digest& digest : loose) {
    std::error_code error;
    uint64_t size = fs::file_size(blobs.PathOf(digest), error);
    if (error) continue;  // Removed since listed (a gc).
    files.loose.push_back({digest, size});
    files.bytes += size;
  }
  std::error_code error;
  fs::directory_iterator it(blobs.PacksDirectory(), error);
  if (error == std::errc::no_such_file_or_directory) return files;
  for (; !error && it != fs::directory_iterator(); it.increment(error)) {
    if (it->path().extension() != ".pack") continue;
    std::error_code size_error;
    uint64_t size = fs::file_size(it->path(), size_error);
    if (size_error) continue;
    files.packs.push_back({it->path(), size});
    files.bytes += size;
  }
  if (error) return ErrnoStatus(blobs.PacksDirectory(), error.value());
  std::sort(files.packs.begin(), files.packs.end());
  return files;
}

// Re-hashes one loose file. A packed copy of the same blob does not
// stand in for it: readers take the loose file first.
Status CheckLooseBlob(const store::BlobStore& blobs, const Digest& digest,
                      StoreCheckReport* report) {
  fs::path path = blobs.PathOf(digest);
  uint64_t size = 0;
  Result<Digest> actual = Sha256OfFile(path, nullptr, &size);
  // Listed, then gone: removed while this ran (a gc), not damage.
  if (actual.status().IsNotFound()) return Status::Ok();
  RETURN_IF_ERROR(actual.status());
  ++report->blobs_checked;
  report->bytes_checked += size;
  if (*actual != digest) {
    report->problems.push_back(
        {"corrupt", digest.ToString(),
         "blob " + digest.ToString() + " is corrupt: its bytes now hash to " +
             actual->ToString(),
         ""});
  }
  return Status::Ok();
}

// Checks a pack's index (footer, sizes, the index's hash against the
// footer and the file's name, entries inside the data) and re-hashes
// every member from the pack's own bytes, whatever other copies exist.
Status CheckPack(const fs::path& path, Progress& progress,
                 StoreCheckReport* report) {
  auto damaged = [&](const Status& status) {
    report->problems.push_back(
        {"corrupt", "",
         status.message() + "; no blob in it can be read", path.string()});
  };
  Result<store::PackIndex> index = store::ReadPackIndex(path);
  if (index.status().IsNotFound()) return Status::Ok();  // Removed by gc.
  if (index.status().IsDataLoss()) {
    damaged(index.status());
    return Status::Ok();
  }
  RETURN_IF_ERROR(index.status());
  ++report->packs_checked;

  Status hashed = store::HashPackMembers(
      *index, [&](const store::PackEntry& entry, const Digest& actual) {
        Digest named = store::FromRaw(entry.digest);
        ++report->blobs_checked;
        report->bytes_checked += entry.length;
        progress.Advance(entry.length);
        if (actual != named) {
          report->problems.push_back(
              {"corrupt", named.ToString(),
               "blob " + named.ToString() + " in pack " + path.string() +
                   " is corrupt: its bytes now hash to " + actual.ToString(),
               path.string()});
        }
        return Status::Ok();
      });
  if (hashed.IsNotFound()) return Status::Ok();
  if (hashed.IsDataLoss()) {
    damaged(hashed);
    return Status::Ok();
  }
  return hashed;
}

// Re-hashes every copy of every blob the store holds.
Status CheckBlobs(const store::BlobStore& blobs, StoreCheckReport* report) {
  ASSIGN_OR_RETURN(BlobFiles files, ListBlobFiles(blobs));
  Progress progress("verifying blobs", files.bytes, "bytes");
  for (const auto& [digest, size] : files.loose) {
    RETURN_IF_ERROR(CheckLooseBlob(blobs, digest, report));
    progress.Advance(size);
  }
  for (const auto& [path, size] : files.packs) {
    uint64_t before = report->bytes_checked;
    RETURN_IF_ERROR(CheckPack(path, progress, report));
    // The index and footer, and a damaged pack's bytes.
    progress.Advance(size - std::min(size, report->bytes_checked - before));
  }
  progress.Finish();
  return Status::Ok();
}

// ---- The registry: tags, manifests and what their bytes reference ----

// One repository's rows, read in one snapshot of the index.
struct RepositoryRows {
  std::vector<ManifestRow> manifests;
  std::vector<TagRow> tags;
  std::map<Digest, std::vector<ManifestRef>> refs;  // By manifest.
  std::set<Digest> linked;  // The blobs the repository serves.
};

Result<RepositoryRows> ReadRepository(Index& index, const std::string& repo,
                                      const StoreCheckOptions& options) {
  RepositoryRows rows;
  RETURN_IF_ERROR(index.InReadTransaction([&]() -> Status {
    ASSIGN_OR_RETURN(rows.manifests, index.ManifestsOf(repo));
    if (options.during_read) options.during_read(repo);
    ASSIGN_OR_RETURN(rows.tags, index.TagsOf(repo));
    for (const ManifestRow& row : rows.manifests) {
      ASSIGN_OR_RETURN(rows.refs[row.digest], index.RefsOf(repo, row.digest));
    }
    ASSIGN_OR_RETURN(std::vector<Digest> linked, index.BlobLinksOf(repo));
    rows.linked.insert(linked.begin(), linked.end());
    return Status::Ok();
  }));
  return rows;
}

// Problems of one repository, found against one snapshot of its rows.
class RepositoryCheck {
 public:
  RepositoryCheck(const store::BlobStore& blobs, const std::string& repo,
                  const RepositoryRows& rows)
      : blobs_(blobs), repo_(repo), rows_(rows) {
    for (const ManifestRow& row : rows.manifests) known_.insert(row.digest);
  }

  Status Run() {
    for (const TagRow& tag : rows_.tags) {
      ++references_;
      if (known_.count(tag.digest) == 0) {
        Add("dangling", tag.digest,
            "tag " + repo_ + ":" + tag.tag + " points at a manifest " +
                repo_ + " does not have");
      }
    }
    for (const ManifestRow& row : rows_.manifests) {
      RETURN_IF_ERROR(CheckManifest(row));
    }
    return Status::Ok();
  }

  const std::vector<StoreProblem>& problems() const { return problems_; }
  uint64_t references() const { return references_; }

 private:
  void Add(const std::string& kind, const Digest& digest,
           const std::string& detail) {
    StoreProblem problem{kind, digest.ToString(), detail, ""};
    if (std::find(problems_.begin(), problems_.end(), problem) ==
        problems_.end()) {
      problems_.push_back(std::move(problem));
    }
  }

  // Reads the manifest's own bytes (verified) and follows them, rather
  // than trusting manifest_refs alone: gc marks from those rows, so a
  // lost row would let gc sweep what a tagged image needs.
  Status CheckManifest(const ManifestRow& row) {
    std::string name = repo_ + "@" + row.digest.ToString();
    ++references_;
    Result<std::string> bytes = blobs_.ReadVerified(row.digest);
    if (bytes.status().IsNotFound()) {
      Add("dangling", row.digest,
          "the bytes of manifest " + name + " are not in the store");
      return Status::Ok();
    }
    if (bytes.status().IsDataLoss()) {
      Add("corrupt", row.digest,
          "the bytes of manifest " + name + " no longer hash to its digest");
      return Status::Ok();
    }
    RETURN_IF_ERROR(bytes.status());
    Result<ParsedManifest> parsed = ParseManifest(*bytes, row.media_type);
    if (!parsed.ok()) {
      Add("invalid", row.digest,
          "manifest " + name + " no longer parses as " + row.media_type +
              ": " + parsed.status().message());
      return Status::Ok();
    }
    CheckReferences(name, *parsed, rows_.refs.at(row.digest));
    return Status::Ok();
  }

  void CheckReferences(const std::string& name, const ParsedManifest& parsed,
                       const std::vector<ManifestRef>& refs) {
    std::map<Digest, bool> recorded;  // Digest -> is_manifest.
    for (const ManifestRef& ref : refs) recorded[ref.digest] = ref.is_manifest;
    std::set<Digest> blobs;
    for (const Descriptor& blob : parsed.blobs) {
      ++references_;
      blobs.insert(blob.digest);
      if (!blobs_.Contains(blob.digest)) {
        Add("dangling", blob.digest,
            name + " references a blob that is not in the store");
      } else if (rows_.linked.count(blob.digest) == 0) {
        // The registry serves a repository only the blobs linked to it
        // (a blob DELETE unlinks), so the manifest cannot be pulled.
        Add("dangling", blob.digest,
            name + " references a blob " + repo_ + " does not have");
      }
      CheckRecorded(name, blob.digest, false, recorded);
    }
    for (const Descriptor& child : parsed.children) {
      ++references_;
      if (known_.count(child.digest) == 0) {
        Add("dangling", child.digest,
            name + " lists a manifest " + repo_ + " does not have");
      }
      // One row per digest: a digest that is also a blob of this
      // manifest was recorded as the blob.
      if (blobs.count(child.digest) == 0) {
        CheckRecorded(name, child.digest, true, recorded);
      }
    }
    for (const auto& [digest, is_manifest] : recorded) {
      bool referenced = blobs.count(digest) > 0 ||
                        std::any_of(parsed.children.begin(),
                                    parsed.children.end(),
                                    [&](const Descriptor& child) {
                                      return child.digest == digest;
                                    });
      if (!referenced) {
        Add("index", digest,
            "the registry's index records that " + name +
                " references this, but its bytes do not");
      }
    }
  }

  void CheckRecorded(const std::string& name, const Digest& digest,
                     bool is_manifest,
                     const std::map<Digest, bool>& recorded) {
    const char* what = is_manifest ? "child manifest" : "blob";
    auto row = recorded.find(digest);
    if (row == recorded.end()) {
      Add("index", digest,
          "the registry's index does not record that " + name +
              " references this " + what + ", so gc would not keep it");
    } else if (row->second != is_manifest) {
      Add("index", digest,
          "the registry's index records this " + std::string(what) +
              " of " + name + " as a " +
              (row->second ? "child manifest" : "blob"));
    }
  }

  const store::BlobStore& blobs_;
  const std::string& repo_;
  const RepositoryRows& rows_;
  std::set<Digest> known_;
  std::vector<StoreProblem> problems_;
  uint64_t references_ = 0;
};

// What one look at a repository found.
struct RepositoryLook {
  std::vector<StoreProblem> problems;
  uint64_t references = 0;
};

// One look at a repository: its rows in one snapshot, then the blob
// store.
Result<RepositoryLook> LookAtRepository(const store::BlobStore& blobs,
                                        Index& index,
                                        const std::string& repo,
                                        const StoreCheckOptions& options) {
  ASSIGN_OR_RETURN(RepositoryRows rows, ReadRepository(index, repo, options));
  if (options.after_read) options.after_read(repo);
  RepositoryCheck check(blobs, repo, rows);
  RETURN_IF_ERROR(check.Run());
  return RepositoryLook{check.problems(), check.references()};
}

// The repository's problems that a second look confirms. Between the
// snapshot and the blob store's reads, a client may delete a manifest
// and gc sweep its blobs; what the first look then reports is gone from
// the second look's (later) snapshot. Damage stays, and is seen twice.
Status CheckRepository(const store::BlobStore& blobs, Index& index,
                       const std::string& repo,
                       const StoreCheckOptions& options,
                       StoreCheckReport* report) {
  ASSIGN_OR_RETURN(RepositoryLook first,
                   LookAtRepository(blobs, index, repo, options));
  report->references_checked += first.references;
  if (first.problems.empty()) return Status::Ok();

  ASSIGN_OR_RETURN(RepositoryLook second,
                   LookAtRepository(blobs, index, repo, options));
  const std::vector<StoreProblem>& again = second.problems;
  for (const StoreProblem& problem : first.problems) {
    bool confirmed =
        std::find(again.begin(), again.end(), problem) != again.end();
    // A manifest the blob pass found corrupt is reported once.
    bool reported = std::any_of(
        report->problems.begin(), report->problems.end(),
        [&](const StoreProblem& earlier) {
          return problem.kind == "corrupt" && earlier.kind == "corrupt" &&
                 earlier.digest == problem.digest;
        });
    if (confirmed && !reported) report->problems.push_back(problem);
  }
  return Status::Ok();
}

}  // namespace

nlohmann::json StoreCheckReport::ToJson() const {
  nlohmann::json listed = nlohmann::json::array();
  for (const StoreProblem& problem : problems) {
    listed.push_back({{"kind", problem.kind},
                      {"digest", problem.digest},
                      {"detail", problem.detail},
                      {"file", problem.file}});
  }
  return {{"blobsChecked", blobs_checked},
          {"bytesChecked", bytes_checked},
          {"packsChecked", packs_checked},
          {"referencesChecked", references_checked},
          {"problems", listed}};
}

Result<StoreCheckReport> CheckStore(store::BlobStore& blobs, Index* index,
                                    RetentionRoots& roots,
                                    const StoreCheckOptions& options) {
  StoreCheckReport report;
  if (!options.skip_hashing) RETURN_IF_ERROR(CheckBlobs(blobs, &report));

  if (index != nullptr) {
    ASSIGN_OR_RETURN(std::vector<std::string> repos, index->Repositories());
    for (const std::string& repo : repos) {
      RETURN_IF_ERROR(
          CheckRepository(blobs, *index, repo, options, &report));
    }
  }

  // A run manifest that no longer matches its hash is damage to report
  // with the rest, not a reason to stop (gc stops on it, rightly).
  Result<std::vector<KeptBlob>> needed = roots.Roots();
  if (needed.status().IsDataLoss() || needed.status().IsInvalidArgument()) {
    report.problems.push_back(
        {"corrupt", "",
         "the lineage roots could not be read: " + needed.status().message(),
         ""});
    return report;
  }
  RETURN_IF_ERROR(needed.status());
  for (const KeptBlob& root : *needed) {
    ++report.references_checked;
    if (!blobs.Contains(root.digest)) {
      report.problems.push_back(
          {"missing", root.digest.ToString(), root.reason, ""});
    }
  }
  return report;
}

}  // namespace lockstep::registry
