#!/usr/bin/env bash
# Unchanged re-snapshot of folder D with two binaries, alternating, each
# in its own store (st-NAME, D snapshotted once in each beforehand).
# Binaries are ./lockstep-FIRST and ./lockstep-SECOND; prints "NAME ms".
# Usage: resnapshot_ab_bench.sh FIRST SECOND REPS
set -euo pipefail
for i in $(seq 1 "$3"); do
  for b in "$1" "$2"; do
    s=$(date +%s%N)
    ./lockstep-$b --store st-$b data snapshot D --name d >/dev/null 2>&1
    echo "$b $(( ($(date +%s%N) - s) / 1000000 ))"
  done
done
