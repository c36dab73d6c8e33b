// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// The cache key of a step: sha256 over the RFC 8785 form of a JSON object
// that holds exactly what can change the step's outputs (docs/caching.md):
// the component and its version, argv after substitution, the params the
// step reads (typed), input content digests, declared code files, the
// declared environment variables, the fixed sandbox environment, the
// toolchain, and the output names and types. It never holds a store path,
// a run id, a time, a tag, or the names of downstream consumers.

#ifndef LOCKSTEP_PIPELINE_CACHE_KEY_H_
#define LOCKSTEP_PIPELINE_CACHE_KEY_H_

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/digest.h"
#include "core/status.h"

namespace lockstep::pipeline {

using Json = nlohmann::json;

// Bumped when the key's layout changes, so old entries simply miss.
inline constexpr int kCacheKeyVersion = 1;

// Returns sha256 of the canonical form of `parts`.
Result<Digest> ComputeCacheKey(const Json& parts);

// Human reasons why `now` differs from `before`, one per changed part:
// "param max_depth 6 -> 4", "input train sha256:ab.. -> sha256:cd..".
std::vector<std::string> ExplainKeyChange(const Json& before,
                                          const Json& now);

}  // namespace lockstep::pipeline

#endif  // LOCKSTEP_PIPELINE_CACHE_KEY_H_
