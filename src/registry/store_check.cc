// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "registry/store_check.h"

#include <set>

#include "core/progress.h"

namespace lockstep::registry {

namespace {

// Re-hashes every blob the store holds.
Status CheckBlobs(store::BlobStore& blobs, StoreCheckReport* report) {
  ASSIGN_OR_RETURN(std::vector<Digest> all, blobs.List());
  Progress progress("verifying blobs", all.size(), "blobs");
  for (const Digest& digest : all) {
    Status intact = blobs.Verify(digest);
    if (intact.IsDataLoss()) {
      report->problems.push_back(
          {"corrupt", digest.ToString(), intact.message()});
    } else if (intact.IsNotFound()) {
      // Listed, then gone: removed while this ran (a gc), not damage.
    } else if (!intact.ok()) {
      return intact;
    } else {
      Result<uint64_t> size = blobs.SizeOf(digest);
      if (size.ok()) report->bytes_checked += *size;
    }
    ++report->blobs_checked;
    progress.Advance(1);
  }
  progress.Finish();
  return Status::Ok();
}

// One repository's tags, manifests and what the manifests reference.
Status CheckRepository(store::BlobStore& blobs, Index& index,
                       const std::string& repo, StoreCheckReport* report) {
  ASSIGN_OR_RETURN(std::vector<ManifestRow> manifests,
                   index.ManifestsOf(repo));
  std::set<Digest> known;
  for (const ManifestRow& row : manifests) known.insert(row.digest);
  auto dangling = [&](const Digest& digest, const std::string& detail) {
    report->problems.push_back({"dangling", digest.ToString(), detail});
  };

  ASSIGN_OR_RETURN(std::vector<TagRow> tags, index.TagsOf(repo));
  for (const TagRow& tag : tags) {
    ++report->references_checked;
    if (known.count(tag.digest) == 0) {
      dangling(tag.digest, "tag " + repo + ":" + tag.tag +
                               " points at a manifest " + repo +
                               " does not have");
    }
  }
  for (const ManifestRow& row : manifests) {
    std::string manifest = repo + "@" + row.digest.ToString();
    ++report->references_checked;
    if (!blobs.Contains(row.digest)) {
      dangling(row.digest, "the bytes of manifest " + manifest +
                               " are not in the store");
    }
    ASSIGN_OR_RETURN(std::vector<ManifestRef> refs,
                     index.RefsOf(repo, row.digest));
    for (const ManifestRef& ref : refs) {
      ++report->references_checked;
      if (ref.is_manifest && known.count(ref.digest) == 0) {
        dangling(ref.digest, manifest + " lists a manifest " + repo +
                                 " does not have");
      } else if (!ref.is_manifest && !blobs.Contains(ref.digest)) {
        dangling(ref.digest,
                 manifest + " references a blob that is not in the store");
      }
    }
  }
  return Status::Ok();
}

}  // namespace

nlohmann::json StoreCheckReport::ToJson() const {
  nlohmann::json listed = nlohmann::json::array();
  for (const StoreProblem& problem : problems) {
    listed.push_back({{"kind", problem.kind},
                      {"digest", problem.digest},
                      {"detail", problem.detail}});
  }
  return {{"blobsChecked", blobs_checked},
          {"bytesChecked", bytes_checked},
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
      RETURN_IF_ERROR(CheckRepository(blobs, *index, repo, &report));
    }
  }

  ASSIGN_OR_RETURN(std::vector<KeptBlob> needed, roots.Roots());
  for (const KeptBlob& root : needed) {
    ++report.references_checked;
    if (!blobs.Contains(root.digest)) {
      report.problems.push_back(
          {"missing", root.digest.ToString(), root.reason});
    }
  }
  return report;
}

}  // namespace lockstep::registry
