#!/usr/bin/env bash
# Process start-up: two lockstep binaries side by side in one hyperfine
# invocation, on `--version` and on `runs list --json` over a small store
# (3 runs of a two-step pipeline), plus how many shared libraries each
# maps. Not a test. Prints hyperfine's summary and the medians.
#
#   bench/startup_bench.sh BEFORE_BINARY [AFTER_BINARY]
#   (AFTER_BINARY defaults to build/lockstep)
#   env: WARMUP (5), RUNS (hyperfine's default when unset)
set -euo pipefail

BEFORE=$(readlink -f "${1:?usage: startup_bench.sh BEFORE [AFTER]}")
AFTER=$(readlink -f "${2:-build/lockstep}")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lockstep-startup-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

cd "$WORK"
cat >pipeline.yaml <<'YAML'
name: startup
steps:
  produce:
    run: [sh, -c, 'echo 42 > outputs/out']
    outputs:
      out: Dataset
  consume:
    run: [sh, -c, 'cat inputs/data inputs/data > outputs/twice']
    inputs:
      data: produce.out
    outputs:
      twice: Dataset
YAML
for _ in 1 2 3; do
  "$AFTER" --store "$WORK/.lockstep" -q run --sandbox none pipeline.yaml \
    >/dev/null
done

echo "shared libraries (ldd | wc -l): before $(ldd "$BEFORE" | wc -l)," \
  "after $(ldd "$AFTER" | wc -l)"
uptime
runs=()
[[ -n "${RUNS:-}" ]] && runs=(--runs "$RUNS")
medians() {
  python3 - "$1" <<'PY'
import json, statistics, sys
results = json.load(open(sys.argv[1]))["results"]
first = statistics.median(results[0]["times"])
for r in results:
    median = statistics.median(r["times"])
    print(f"  median {median * 1e3:6.2f} ms  first/this "
          f"{first / median:4.2f}  n={len(r['times'])}  {r['command']}")
PY
}
for args in "--version" "--store $WORK/.lockstep runs list --json"; do
  hyperfine -N --warmup "${WARMUP:-5}" "${runs[@]}" \
    --export-json "$WORK/result.json" \
    "$BEFORE $args" "$AFTER $args" | grep -v '^ *$'
  medians "$WORK/result.json"
done
uptime
