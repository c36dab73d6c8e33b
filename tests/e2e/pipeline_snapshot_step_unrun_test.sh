# A lockstep/data-snapshot step that never took its snapshot (cancelled
# by Ctrl-C or SIGTERM, skipped after an upstream failure or by its if:)
# still gets its manifest entry, with a null dataset digest. Found by a
# tester: an early Ctrl-C ended `run` in "internal: map::at", exit 6,
# with no manifest and the run later taken for a killed one.
source "$(dirname "$0")/lib.sh"

echo a,b >d.csv
# The snapshot waits for `slow`, so a signal sent while `slow` runs
# reaches it before it starts, every time.
cat >p.yaml <<YAML
pipeline: unrun
steps:
  slow:
    run: [sh, -c, 'touch $TEST_DIR/slow.started; sleep 30; echo > outputs/o']
    outputs:
      o: Artifact
  snap:
    uses: lockstep/data-snapshot
    with: {source: d.csv, name: d}
    needs: [slow]
YAML

for signal in INT TERM; do
  rm -f slow.started
  "$LOCKSTEP" run p.yaml --sandbox none --json >run.json 2>run.err &
  pid=$!
  wait_for slow.started
  kill -"$signal" "$pid"
  code=0
  wait "$pid" || code=$?
  expect_eq "$code" 130 "exit code after SIG$signal"
  expect_not_contains run.err "internal"
  expect_eq "$(json run.json 'd["status"]')" cancelled "run status (SIG$signal)"
  expect_eq "$(json run.json '" ".join(s["name"] + "=" + s["state"] for s in d["steps"])')" \
    "slow=cancelled snap=cancelled" "step states (SIG$signal)"
  manifest=$(json run.json 'd["manifest"]')
  [[ -f "$manifest" ]] || fail "no manifest after SIG$signal"
  expect_eq "$(json "$manifest" 'd["status"]')" cancelled "manifest status"
  expect_eq "$(json "$manifest" '[s["outputs"]["dataset"]["digest"] for s in d["steps"] if s["name"] == "snap"][0]')" \
    None "digest of the snapshot never taken"
  run_id=$(json run.json 'd["run_id"]')
  "$LOCKSTEP" runs show "$run_id" --json >show.json
  expect_eq "$(json show.json 'd["status"]')" cancelled "recorded status"
done
# Nothing was minted.
expect_exit 2 "$LOCKSTEP" data show d

# Reproducing that run has nothing to compare for the snapshot step, and
# says so rather than failing on the null digest.
expect_exit 0 "$LOCKSTEP" reproduce "$run_id"
expect_contains stdout.txt "snap: cancelled (the original step cancelled; nothing to compare)"

# Skipped after an upstream failure: the run fails as any failed run
# does (exit 1), with its manifest.
sed -i "s|sleep 30; echo > outputs/o|exit 1|" p.yaml
expect_exit 1 "$LOCKSTEP" run p.yaml --sandbox none --json
expect_eq "$(json stdout.txt '" ".join(s["name"] + "=" + s["state"] for s in d["steps"])')" \
  "slow=failed snap=skipped" "states after a failure"
[[ -f "$(json stdout.txt 'd["manifest"]')" ]] || fail "no manifest (failed)"

# Skipped by its if:.
cat >q.yaml <<YAML
pipeline: unrun-if
params:
  take: false
steps:
  snap:
    if: params.take
    uses: lockstep/data-snapshot
    with: {source: d.csv, name: d}
YAML
expect_exit 0 "$LOCKSTEP" run q.yaml --sandbox none
expect_contains stdout.txt "snap: skipped (if: params.take is false)"
expect_contains stdout.txt "manifest: "
echo ok
