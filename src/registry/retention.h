// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// Blobs that something outside the registry needs kept: the models,
// snapshots and images a kept run's manifest must have to reproduce. The
// registry's gc and cleanup consult this interface and name the reason in
// their dry-run output; the lineage store provides the real list.

#ifndef LOCKSTEP_REGISTRY_RETENTION_H_
#define LOCKSTEP_REGISTRY_RETENTION_H_

#include <string>
#include <vector>

#include "core/digest.h"
#include "core/status.h"

namespace lockstep::registry {

struct KeptBlob {
  Digest digest;
  std::string reason;  // e.g. "run 2026-12-04T16:00:00Z-train needs it"
};

class RetentionRoots {
 public:
  virtual ~RetentionRoots() = default;
  virtual Result<std::vector<KeptBlob>> Roots() = 0;
};

// Holds nothing back (until the lineage store is plugged in).
class NoRetentionRoots : public RetentionRoots {
 public:
  Result<std::vector<KeptBlob>> Roots() override {
    return std::vector<KeptBlob>{};
  }
};

// A fixed list, for tests and for callers that already know the roots.
class FixedRetentionRoots : public RetentionRoots {
 public:
  explicit FixedRetentionRoots(std::vector<KeptBlob> roots)
      : roots_(std::move(roots)) {}
  Result<std::vector<KeptBlob>> Roots() override { return roots_; }

 private:
  std::vector<KeptBlob> roots_;
};

}  // namespace lockstep::registry

#endif  // LOCKSTEP_REGISTRY_RETENTION_H_
