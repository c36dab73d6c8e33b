#!/bin/bash
# Peak RSS and wall time of a failing step that writes 100 MB to stderr,
# two lockstep binaries alternated ROUNDS times in one fresh folder;
# prints the medians and the RSS ratio.
#   bench/step_stderr_ab_bench.sh OLD_BINARY NEW_BINARY [ROUNDS]
set -euo pipefail
old=$1
new=$2
rounds=${3:-5}
dir=$(mktemp -d /tmp/lockstep-stderr-bench.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
cat >p.yaml <<'YAML'
pipeline: big
steps:
  a:
    run: [sh, -c, 'head -c 100000000 /dev/zero | tr "\0" x >&2; exit 1']
YAML
for _ in $(seq 1 "$rounds"); do
  for b in old new; do
    rm -rf .lockstep
    /usr/bin/time -f "$b %M %e" -a -o times.txt "${!b}" -q run p.yaml \
      --sandbox none >/dev/null 2>&1 || true
  done
done
python3 - <<'PY'
import statistics
rows = [line.split() for line in open("times.txt")]
rss = {k: statistics.median(int(r[1]) for r in rows if r[0] == k)
       for k in ("old", "new")}
secs = {k: statistics.median(float(r[2]) for r in rows if r[0] == k)
        for k in ("old", "new")}
for k in ("old", "new"):
    print(f"{k}: median peak RSS {rss[k]:.0f} KB, median {secs[k]:.2f} s")
print(f"RSS ratio old/new {rss['old'] / rss['new']:.1f}")
PY
