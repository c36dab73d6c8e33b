#!/usr/bin/env bash
# Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
#
# The no-op re-run of two Lockstep binaries and ninja, interleaved round
# by round so that all three see the same machine load: each binary gets
# its own store holding a settled 1,000-step run of the pipeline_bench.sh
# graph (default sandbox), then ROUNDS rounds time one re-run of each
# (a replay) and one ninja no-op. Prints wall and CPU medians (CPU is
# perf's task-clock, child processes included) and the ratios.
# Usage: bench/noop_compare.sh OLD_BINARY NEW_BINARY [STEPS]
set -euo pipefail

OLD=$(realpath "$1")
NEW=$(realpath "$2")
STEPS=${3:-1000}
ROUNDS=${ROUNDS:-11}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lockstep-noop-compare.XXXXXX")
trap 'chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
cd "$WORK"

chain=$((STEPS / 2))
{
  echo "pipeline: bench"
  echo "steps:"
  echo "  s0:"
  echo "    run: [sh, -c, 'echo seed > outputs/o']"
  echo "    outputs: {o: Artifact}"
  for ((i = 1; i < chain; i++)); do
    printf '  s%d:\n    run: [cp, inputs/i, outputs/o]\n' "$i"
    printf '    inputs: {i: s%d.o}\n    outputs: {o: Artifact}\n' $((i - 1))
  done
  for ((i = 0; i < STEPS - chain; i++)); do
    printf '  f%d:\n    run: [cp, inputs/i, outputs/o]\n' "$i"
    printf '    inputs: {i: s0.o}\n    outputs: {o: Artifact}\n'
  done
} >pipeline.yaml
mkdir ninja
{
  printf 'rule cp\n  command = cp $in $out\n'
  printf 'rule seed\n  command = echo seed > $out\nbuild s0: seed\n'
  for ((i = 1; i < chain; i++)); do echo "build s$i: cp s$((i - 1))"; done
  for ((i = 0; i < STEPS - chain; i++)); do echo "build f$i: cp s0"; done
} >ninja/build.ninja
(cd ninja && ninja -j2 >/dev/null)

# A first run, then (once the blobs are past the racy window) a re-run
# that saves the replay record.
for name in old new; do
  binary=$OLD; [[ $name == new ]] && binary=$NEW
  LOCKSTEP_STORE=$WORK/$name "$binary" run pipeline.yaml --quiet >/dev/null
done
sleep 2.1
for name in old new; do
  binary=$OLD; [[ $name == new ]] && binary=$NEW
  LOCKSTEP_STORE=$WORK/$name "$binary" run pipeline.yaml --quiet >/dev/null
done

# One timed command: "WALL_MS CPU_MS".
timed() {
  local start end cpu
  start=$(date +%s%N)
  cpu=$(perf stat -x, -e task-clock "$@" 2>&1 >/dev/null |
    awk -F, '/task-clock/ {printf "%.1f", $1}')
  end=$(date +%s%N)
  echo "$(((end - start) / 1000000)) $cpu"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for ((r = 0; r < ROUNDS; r++)); do
  echo "old $(LOCKSTEP_STORE=$WORK/old timed "$OLD" run pipeline.yaml --quiet)"
  echo "new $(LOCKSTEP_STORE=$WORK/new timed "$NEW" run pipeline.yaml --quiet)"
  echo "ninja $(cd ninja && timed ninja)"
done >samples.txt
for name in old new; do
  binary=$OLD; [[ $name == new ]] && binary=$NEW
  log=$(LOCKSTEP_STORE=$WORK/$name "$binary" -v run pipeline.yaml --quiet \
    2>&1 >/dev/null)
  [[ $log == *"replaying run"* ]] ||
    echo "warning: $name did not replay (its figures are the normal path's)"
done
for name in old new ninja; do
  wall=$(awk -v n=$name '$1 == n {print $2}' samples.txt | median)
  cpu=$(awk -v n=$name '$1 == n {print $3}' samples.txt | median)
  echo "$name $wall $cpu"
done | awk '{w[$1] = $2; c[$1] = $3} END {
  printf "%d rounds, medians: wall ms (CPU ms)\n", '"$ROUNDS"'
  for (i = 1; i <= 2; i++) {
    n = i == 1 ? "old" : "new"
    printf "%-6s %5d (%6.1f)  %.1fx ninja\n", n ":", w[n], c[n],
      w[n] / w["ninja"]
  }
  printf "ninja: %5d (%6.1f)\n", w["ninja"], c["ninja"]
  printf "new / old: wall %.2f, CPU %.2f\n", w["new"] / w["old"],
    c["new"] / c["old"]
}'
