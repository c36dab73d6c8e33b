#!/usr/bin/env bash
# Folder snapshots through an OCI registry (`lockstep registry serve` on
# loopback), the issue's folder of 100,000 files of 1 KiB in 100
# subfolders, and a folder of 15,000 (below the old layout's limit):
#   - push to an empty registry, push again (every blob already there),
#     and pull into an empty store, for the build under test;
#   - with --baseline OLD_BINARY, the same push and pull of the 15,000
#     files by the old build (one layer per file) beside the new one, as
#     ratios; with --old-100k also the old build's push of 100,000
#     files (once), which fails only after every blob is uploaded (its
#     time to that failure is shown; about 17 minutes here).
# Each case runs REPS times (default 3), interleaved, against a fresh
# registry with empty storage; medians are reported.
#
#   bench/share_bench.sh [--reps N] [--lockstep build/lockstep]
#                        [--baseline /path/to/old/lockstep] [--old-100k]
set -euo pipefail

lockstep=build/lockstep
baseline=
old_100k=0
reps=3
while [[ $# -gt 0 ]]; do
  case $1 in
    --reps) reps=$2; shift ;;
    --lockstep) lockstep=$2; shift ;;
    --baseline) baseline=$2; shift ;;
    --old-100k) old_100k=1 ;;
    *) echo "unknown flag $1" >&2; exit 64 ;;
  esac
  shift
done
lockstep=$(realpath "$lockstep")
[[ -z $baseline ]] || baseline=$(realpath "$baseline")
work=$(mktemp -d "${TMPDIR:-/tmp}/share-bench.XXXXXX")
registry_pid=
cleanup() {
  [[ -z $registry_pid ]] || kill "$registry_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# A fresh registry with empty storage, at $registry.
fresh_registry() {
  [[ -z $registry_pid ]] || { kill "$registry_pid"; wait "$registry_pid" ||
    true; }
  rm -rf "$work/registry-store"
  registry="127.0.0.1:$(free_port)"
  LOCKSTEP_STORE="$work/registry-store" "$lockstep" registry serve \
    --listen "$registry" >"$work/registry.log" 2>&1 &
  registry_pid=$!
  for _ in $(seq 1 200); do
    curl -s -o /dev/null "http://$registry/v2/" && return 0
    sleep 0.05
  done
  echo "registry did not start" >&2
  exit 1
}

# seconds NAME command...: appends the command's wall time to NAME.times
# (nothing when it fails and NAME is not *fails).
seconds() {
  local name=$1
  shift
  local start end status=0
  start=$(date +%s%N)
  "$@" >"$work/out.txt" 2>"$work/err.txt" || status=$?
  end=$(date +%s%N)
  if [[ $status != 0 && $name != *fails ]]; then
    cat "$work/err.txt" >&2
    echo "$name failed" >&2
    exit 1
  fi
  echo "$(( (end - start) / 1000000 ))" >>"$work/$name.times"
}

python3 - <<'PY'
import os
for count, name in ((100000, "f100k"), (15000, "f15k")):
    for i in range(count):
        folder = f"{name}/d{i % 100:02d}"
        os.makedirs(folder, exist_ok=True)
        with open(f"{folder}/f{i:06d}", "wb") as f:
            f.write((f"{name} {i:06d} ".encode() * 80)[:1024])
PY
for binary in new old; do
  [[ $binary == old && -z $baseline ]] && continue
  bin=$lockstep
  [[ $binary == old ]] && bin=$baseline
  for folder in f100k f15k; do
    LOCKSTEP_STORE="$work/$binary-store" "$bin" data snapshot "$folder" \
      --name "$folder" -q >/dev/null 2>&1
  done
done

for rep in $(seq 1 "$reps"); do
  for binary in new old; do
    [[ $binary == old && -z $baseline ]] && continue
    bin=$lockstep
    [[ $binary == old ]] && bin=$baseline
    export LOCKSTEP_STORE="$work/$binary-store"
    fresh_registry
    seconds "$binary-push-15k" "$bin" push --insecure snapshot:f15k@1 \
      "$registry/d/f15k:v1"
    rm -rf "$work/pulled"
    seconds "$binary-pull-15k" env LOCKSTEP_STORE="$work/pulled" "$bin" \
      pull --insecure "$registry/d/f15k:v1"
    if [[ $binary == new ]]; then
      seconds new-push-100k "$bin" push --insecure snapshot:f100k@1 \
        "$registry/d/f100k:v1"
      seconds new-repush-100k "$bin" push --insecure snapshot:f100k@1 \
        "$registry/d/f100k:v2"
      rm -rf "$work/pulled"
      seconds new-pull-100k env LOCKSTEP_STORE="$work/pulled" "$bin" \
        pull --insecure "$registry/d/f100k:v1"
      LOCKSTEP_STORE="$work/pulled" "$bin" data verify f100k@1 >/dev/null
    elif [[ $rep == 1 && $old_100k == 1 ]]; then
      seconds old-push-100k-fails "$bin" push --insecure \
        snapshot:f100k@1 "$registry/d/f100k:v1"
      echo "old build, 100,000 files: $(tail -c 200 "$work/err.txt")"
    fi
  done
done

python3 - "$work" <<'PY'
import glob, os, statistics, sys
work = sys.argv[1]
times = {}
for path in glob.glob(os.path.join(work, "*.times")):
    name = os.path.basename(path)[:-6]
    times[name] = statistics.median(int(x) for x in open(path))
print(f"{'case':<24}{'median ms':>10}")
for name in sorted(times):
    print(f"{name:<24}{times[name]:>10.0f}")
for op in ("push-15k", "pull-15k"):
    if f"old-{op}" in times:
        print(f"{op}: old / new = {times['old-' + op] / times['new-' + op]:.1f}")
PY
