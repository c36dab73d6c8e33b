#!/usr/bin/env bash
# Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
#
# What recording a retention root costs since it also advances the
# store's generation (docs/registry.md, "Garbage collection"): the
# database UPDATE in the same transaction, then <store>/store-generation
# rewritten atomically under an flock. Times, side by side and
# alternating, two binaries' no-op re-run of a one-step pipeline (a
# replay: one FinishRun) and a snapshot of a new 3-byte file (one
# PutSnapshot), each in its own store; prints the medians and ratios.
# Usage: bench/store_generation_bench.sh BEFORE_BINARY AFTER_BINARY [RUNS]
set -euo pipefail

BEFORE=$(realpath "$1")
AFTER=$(realpath "$2")
RUNS=${3:-15}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lockstep-generation-bench.XXXXXX")
trap 'chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
cd "$WORK"
cat >p.yaml <<'YAML'
pipeline: p
steps:
  a:
    run: [sh, -c, "echo hi > outputs/o"]
    outputs:
      o: Artifact
YAML

# ms BINARY STORE ARGS...: wall milliseconds of one command.
ms() {
  local binary=$1 store=$2
  shift 2
  local start end
  start=$(date +%s%N)
  LOCKSTEP_STORE="$store" "$binary" -q "$@" >/dev/null
  end=$(date +%s%N)
  echo $(((end - start) / 1000000))
}

median() {
  sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'
}

for side in before after; do
  binary=$BEFORE
  [[ $side == after ]] && binary=$AFTER
  LOCKSTEP_STORE="$WORK/$side" "$binary" -q run --sandbox none p.yaml \
    >/dev/null
done
: >before.run; : >after.run; : >before.snap; : >after.snap
for ((i = 0; i < RUNS; i++)); do
  ms "$BEFORE" "$WORK/before" run --sandbox none p.yaml >>before.run
  ms "$AFTER" "$WORK/after" run --sandbox none p.yaml >>after.run
  echo "$i" >"f$i.txt"
  ms "$BEFORE" "$WORK/before" data snapshot "f$i.txt" --name "f$i" \
    >>before.snap
  ms "$AFTER" "$WORK/after" data snapshot "f$i.txt" --name "f$i" \
    >>after.snap
done
for what in run snap; do
  b=$(median <before.$what)
  a=$(median <after.$what)
  echo "$what: before ${b} ms, after ${a} ms (medians of $RUNS), ratio" \
    "$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", a / b}')"
done
