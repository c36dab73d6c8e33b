#!/usr/bin/env bash
# Data snapshot benchmarks: lockstep against the peer tools, run side by
# side in one invocation on the same bytes, printed as ratios (> 1 means
# lockstep is faster; for throughput goals, the ratio of throughputs).
#
#   bench/data_bench.sh [--lockstep BIN] [--file-gib N] [--files N]
#                       [--csv-gib N] [--runs N] [--work DIR]
#
# Defaults are small (1 GiB file, 20,000 files, 1 GiB CSV, 3 runs); the
# issue's sizes are --file-gib 2 --files 100000 --csv-gib 5.
set -euo pipefail

LOCKSTEP=${LOCKSTEP:-build/lockstep}
FILE_GIB=1
FILES=20000
CSV_GIB=1
RUNS=3
WORK=${TMPDIR:-/tmp}/lockstep-data-bench
while [[ $# -gt 0 ]]; do
  case "$1" in
    --lockstep) LOCKSTEP=$2; shift 2 ;;
    --file-gib) FILE_GIB=$2; shift 2 ;;
    --files) FILES=$2; shift 2 ;;
    --csv-gib) CSV_GIB=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
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

# Setups that sync flush other writers' dirty pages first, so that the
# syncfs/fsync a durable write ends with waits only for its own bytes.
#
# median SETUP CMD...: runs SETUP (untimed) then CMD, $RUNS times; prints
# the median wall time.
median() {
  local setup=$1
  shift
  local times=()
  for _ in $(seq "$RUNS"); do
    eval "$setup"
    times+=("$(seconds "$@")")
  done
  printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

row() {  # row LABEL PEER_SECONDS LOCKSTEP_SECONDS
  printf '%-46s %9.3f s %9.3f s %7.2fx\n' "$1" "$2" "$3" \
    "$(echo "$2 / $3" | bc -l)"
}

fresh_store() { rm -rf "$LOCKSTEP_STORE"; }

echo "lockstep data benchmarks: $(nproc) cores, runs=$RUNS, $(openssl version)"
printf '%-46s %11s %11s %8s\n' "measure (peer vs lockstep)" "peer" "lockstep" "ratio"

# 1. One big file, page-cached.
head -c "$((FILE_GIB << 30))" /dev/urandom > big.bin
cat big.bin > /dev/null
openssl_big=$(median "" openssl dgst -sha256 big.bin)
sha256sum_big=$(median "" sha256sum big.bin)
first_big=$(median "fresh_store; sync" "$LOCKSTEP" data snapshot big.bin --name big -q)
fresh_store
"$LOCKSTEP" data snapshot big.bin --name big -q
verify_big=$(median "" "$LOCKSTEP" data verify big@1 -q)
row "${FILE_GIB} GiB: openssl dgst vs data verify" "$openssl_big" "$verify_big"
row "${FILE_GIB} GiB: openssl dgst vs first data snapshot" "$openssl_big" "$first_big"
dd_big=$(median "rm -f copy.bin; sync" dd if=big.bin of=copy.bin bs=1M conv=fsync)
rm -f copy.bin
row "${FILE_GIB} GiB: dd conv=fsync (disk limit) vs first" "$dd_big" "$first_big"
row "${FILE_GIB} GiB: sha256sum vs openssl dgst (reference)" "$sha256sum_big" "$openssl_big"
rm -f big.bin
fresh_store

# 2. Many small files: $FILES of 1 KiB in 100 subfolders, aged past the
#    racy window so neither git nor lockstep has to re-read them.
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
git_add=$(median "rm -rf gitdir; git init -q --bare gitdir; sync" \
  git --git-dir=gitdir --work-tree=tree add -A)
git --git-dir=gitdir --work-tree=tree -c user.name=b -c user.email=b@b \
  commit -qm bench
git_status=$(median "" git --git-dir=gitdir --work-tree=tree status --porcelain)
pipeline=$(median "" bash -c \
  "find tree -type f -print0 | xargs -0 -P2 -n 2000 openssl dgst -sha256")
first_tree=$(median "fresh_store; sync" "$LOCKSTEP" data snapshot tree --name tree -q)
again_tree=$(median "" "$LOCKSTEP" data snapshot tree --name tree -q)
row "$FILES files: git add -A vs first snapshot" "$git_add" "$first_tree"
row "$FILES files: find|xargs -P2 openssl vs first" "$pipeline" "$first_tree"
row "$FILES files: git status vs unchanged snapshot" "$git_status" "$again_tree"
rm -rf tree gitdir
fresh_store

# 3. A big CSV: records counted and bytes hashed together, vs wc -l.
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
wc_csv=$(median "" wc -l big.csv)
snap_csv=$(median "fresh_store; sync" "$LOCKSTEP" data snapshot big.csv --name csv -q)
verify_csv=$(median "" "$LOCKSTEP" data verify csv@1 -q)
row "${CSV_GIB} GiB CSV: wc -l vs data verify (count+hash)" "$wc_csv" "$verify_csv"
row "${CSV_GIB} GiB CSV: wc -l vs snapshot (count+hash+copy)" "$wc_csv" "$snap_csv"
