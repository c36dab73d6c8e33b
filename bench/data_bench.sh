#!/usr/bin/env bash
# Data snapshot benchmarks: lockstep against the peer tools, run side by
# side in one invocation on the same bytes, printed as ratios (> 1 means
# lockstep is faster; for throughput goals, the ratio of throughputs).
#
#   bench/data_bench.sh [--lockstep BIN] [--file-gib N] [--files N]
#                       [--csv-gib N] [--runs N] [--work DIR]
#                       [--only file,folder,csv]
#
# Defaults are small (1 GiB file, 20,000 files, 1 GiB CSV, 3 runs); the
# issue's sizes are --file-gib 2 --files 100000 --csv-gib 5, or
# DATA_BENCH_FULL=1 in the environment. Each size can also be set with
# DATA_BENCH_FILE_GIB, DATA_BENCH_FILES, DATA_BENCH_CSV_GIB and
# DATA_BENCH_RUNS (flags win). --only runs some sections (default: all).
#
# The folder rows go through hyperfine (`--prepare` resets the state
# before every timed run: a fresh git repository, a fresh store), which
# reports the median wall time and the mean user + system CPU time of
# each side; both ratios are printed, since on a shared machine the CPU
# ratio moves far less than the wall ratio.
set -euo pipefail

LOCKSTEP=${LOCKSTEP:-build/lockstep}
if [[ -n "${DATA_BENCH_FULL:-}" ]]; then
  FILE_GIB=2 FILES=100000 CSV_GIB=5
else
  FILE_GIB=1 FILES=20000 CSV_GIB=1
fi
FILE_GIB=${DATA_BENCH_FILE_GIB:-$FILE_GIB}
FILES=${DATA_BENCH_FILES:-$FILES}
CSV_GIB=${DATA_BENCH_CSV_GIB:-$CSV_GIB}
RUNS=${DATA_BENCH_RUNS:-3}
WORK=${TMPDIR:-/tmp}/lockstep-data-bench
ONLY=file,folder,csv
while [[ $# -gt 0 ]]; do
  case "$1" in
    --lockstep) LOCKSTEP=$2; shift 2 ;;
    --file-gib) FILE_GIB=$2; shift 2 ;;
    --files) FILES=$2; shift 2 ;;
    --csv-gib) CSV_GIB=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
               exit 0 ;;
    *) echo "unknown flag $1" >&2; exit 64 ;;
  esac
done
LOCKSTEP=$(realpath "$LOCKSTEP")
rm -rf "$WORK"
mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
export LOCKSTEP_STORE="$WORK/store"

# seconds CMD...: wall time of one run.
seconds() {
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null 2>&1
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}

# The machine is shared, so each run times the peer and lockstep back to
# back (alternating which goes first) and the medians come from the same
# stretches of time. Setups are not timed; those that `sync` flush other
# writers' dirty pages first, so a durable write waits only for its own.
#
# compare LABEL PEER_SETUP PEER_CMD LOCKSTEP_SETUP LOCKSTEP_CMD
# prints LABEL, both medians and the ratio peer/lockstep (> 1: lockstep
# faster, or for throughput: lockstep's share of the peer's throughput).
compare() {
  local label=$1 peer_setup=$2 peer_cmd=$3 ls_setup=$4 ls_cmd=$5
  local peer=() ours=() run
  for run in $(seq "$RUNS"); do
    if (( run % 2 )); then
      eval "$peer_setup"; peer+=("$(seconds bash -c "$peer_cmd")")
      eval "$ls_setup"; ours+=("$(seconds bash -c "$ls_cmd")")
    else
      eval "$ls_setup"; ours+=("$(seconds bash -c "$ls_cmd")")
      eval "$peer_setup"; peer+=("$(seconds bash -c "$peer_cmd")")
    fi
  done
  row "$label" "$(median_of "${peer[@]}")" "$(median_of "${ours[@]}")"
}

median_of() {
  printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

row() {  # row LABEL PEER_SECONDS LOCKSTEP_SECONDS
  printf '%-48s %9.3f s %9.3f s %7.2fx\n' "$1" "$2" "$3" \
    "$(echo "$2 / $3" | bc -l)"
}

# Old stores and git folders are moved aside, and deleted only at the
# end. This VM's ext4 runs without a journal, and then ext4 skips inodes
# freed in the last 1 to 6 minutes when it allocates new ones
# (recently_deleted() in fs/ext4/ialloc.c, one inode-table lookup per
# skipped inode), so creating 100,000 files right after deleting 100,000
# costs several times the CPU of creating them on a settled file system,
# on either side. For the same reason, leave 6 minutes between runs of
# this script at the issue's sizes.
set_aside() {
  if [[ -e $1 ]]; then
    mkdir -p "$WORK/trash"
    mv "$1" "$WORK/trash/$(date +%s%N)"
  fi
}
fresh_store() { set_aside "$LOCKSTEP_STORE"; }

wanted() { [[ ",$ONLY," == *",$1,"* ]]; }

# side_by_side LABEL PEER_PREPARE PEER_CMD LOCKSTEP_PREPARE LOCKSTEP_CMD
# times both with hyperfine in one invocation ($RUNS runs each, the
# prepare command untimed before every run) and prints the median wall
# times and their ratio, then the mean CPU times (user + system) and
# theirs. The functions above are exported for the prepare commands.
side_by_side() {
  local label=$1 json
  json=$(mktemp "$WORK/hyperfine-XXXXXX.json")
  hyperfine --shell bash --runs "$RUNS" --style none \
    --export-json "$json" \
    --prepare "${2:-true}" "$3" --prepare "${4:-true}" "$5" >/dev/null
  python3 - "$label" "$json" <<'PY'
import json, sys
label, path = sys.argv[1], sys.argv[2]
peer, ours = json.load(open(path))["results"]
cpu = lambda r: r["user"] + r["system"]
print(f"{label:<48} {peer['median']:9.3f} s {ours['median']:9.3f} s "
      f"{peer['median'] / ours['median']:7.2f}x")
print(f"{'  (CPU, user + system)':<48} {cpu(peer):9.3f} s {cpu(ours):9.3f} s "
      f"{cpu(peer) / cpu(ours):7.2f}x")
PY
  rm -f "$json"
}
export -f set_aside fresh_store
export WORK

echo "lockstep data benchmarks: $(nproc) cores, runs=$RUNS, $(openssl version)"
echo "load: $(uptime)"
printf '%-46s %11s %11s %8s\n' "measure (peer vs lockstep)" "peer" "lockstep" "ratio"

export LOCKSTEP
L="\"$LOCKSTEP\""

# 1. One big file, page-cached.
if wanted file; then
head -c "$((FILE_GIB << 30))" /dev/urandom > big.bin
cat big.bin > /dev/null
"$LOCKSTEP" data snapshot big.bin --name big -q
# The blob was written with O_DIRECT, so it is not cached yet: one
# untimed verify makes both sides page-cached.
"$LOCKSTEP" data verify big@1 -q
compare "${FILE_GIB} GiB: openssl dgst vs data verify" \
  "" "openssl dgst -sha256 big.bin" "" "$L data verify big@1 -q"
compare "${FILE_GIB} GiB: openssl dgst vs first snapshot" \
  "" "openssl dgst -sha256 big.bin" \
  "fresh_store; sync" "$L data snapshot big.bin --name big -q"
compare "${FILE_GIB} GiB: dd direct+fsync (disk) vs first snapshot" \
  "rm -f copy.bin; sync" \
  "dd if=big.bin of=copy.bin bs=4M oflag=direct conv=fsync" \
  "fresh_store; sync" "$L data snapshot big.bin --name big -q"
if [[ "${DATA_BENCH_SHA256SUM:-1}" != 0 ]]; then  # 0 skips this reference.
  compare "${FILE_GIB} GiB: sha256sum vs openssl dgst (reference)" \
    "" "sha256sum big.bin" "" "openssl dgst -sha256 big.bin"
fi
rm -f big.bin copy.bin
fresh_store
fi

# 2. Many small files: $FILES of 1 KiB in 100 subfolders, aged past the
#    racy window so neither git nor lockstep has to re-read them.
if wanted folder; then
python3 - "$FILES" <<'PY'
import os, sys
count = int(sys.argv[1])
for i in range(count):
    folder = f"tree/d{i % 100:02d}"
    if i < 100:
        os.makedirs(folder, exist_ok=True)
    with open(f"{folder}/f{i:06d}.bin", "wb") as f:
        f.write(os.urandom(1024))
PY
sleep 3
GIT="git -c gc.auto=0 --git-dir=gitdir --work-tree=tree"
export GIT LOCKSTEP_STORE
side_by_side "$FILES files: git add -A vs first snapshot" \
  "set_aside gitdir && git init -q --bare gitdir && sync" "$GIT add -A" \
  "fresh_store && sync" "$L data snapshot tree --name tree -q"
side_by_side "$FILES files: find|xargs -P2 openssl vs first" \
  "" "find tree -type f -print0 | xargs -0 -P2 -n 2000 openssl dgst -sha256" \
  "fresh_store && sync" "$L data snapshot tree --name tree -q"
# Both sides unchanged: git's index and lockstep's stat cache are warm
# (the last runs above left both in place; one more status refreshes
# the index so git does not rewrite it in the first timed run).
$GIT add -A
$GIT -c user.name=bench -c user.email=bench@localhost commit -qm bench
$GIT status --porcelain >/dev/null
side_by_side "$FILES files: git status vs unchanged snapshot" \
  "" "$GIT status --porcelain" "" "$L data snapshot tree --name tree -q"
rm -rf tree gitdir || true
fresh_store
fi

# 3. A big CSV: records counted and bytes hashed together, vs wc -l.
if wanted csv; then
python3 - "$CSV_GIB" <<'PY'
import sys
target = int(float(sys.argv[1]) * (1 << 30))
block = "".join(f'{i},"name {i}, quoted ""x""",{i * 0.5},2026-01-01\n'
                for i in range(20000)).encode()
with open("big.csv", "wb") as f:
    f.write(b"id,name,value,date\n")
    written = 0
    while written < target:
        f.write(block)
        written += len(block)
PY
cat big.csv > /dev/null
"$LOCKSTEP" data snapshot big.csv --name csv -q
"$LOCKSTEP" data verify csv@1 -q
compare "${CSV_GIB} GiB CSV: wc -l vs verify (count+hash)" \
  "" "wc -l big.csv" "" "$L data verify csv@1 -q"
compare "${CSV_GIB} GiB CSV: wc -l vs snapshot (count+hash+copy)" \
  "" "wc -l big.csv" "fresh_store; sync" "$L data snapshot big.csv --name csv -q"
rm -f big.csv
fresh_store
fi
