# A run whose end cannot be recorded because the store's disk is full
# (SQLite's COMMIT refused, the manifest or the run's lock file not
# written) must not stay "running" for good: once space is back, the
# next `runs list` records it as failed with the error as its reason,
# leaves no lock file behind, and the run can be resumed. Every amount
# of free space below meets a different write first (found by a tester).
source "$(dirname "$0")/lib.sh"
small_disk disk 20m
export LOCKSTEP_STORE="$TEST_DIR/disk/store"

cat >p.yaml <<'YAML'
pipeline: full
steps:
  a:
    run: [sh, -c, 'seq 20000 > outputs/nums; mkdir outputs/tree; for i in $(seq 100); do echo $i > outputs/tree/f$i; done']
    outputs: {nums: Dataset, tree: Dataset}
  b:
    run: [sh, -c, 'wc -l < inputs/nums > outputs/count']
    inputs: {nums: a.nums}
    outputs: {count: Metrics}
YAML
"$LOCKSTEP" -q run p.yaml --sandbox none >/dev/null

# run_on_full_disk FREE [FLAG]: a run with FREE bytes left on the disk;
# once they are back, no run is left running, none failed without a
# manifest or a reason, and no lock file is left.
run_on_full_disk() {
  local free=$1 code=0
  fill_disk disk "$free"
  "$LOCKSTEP" run p.yaml --sandbox none ${2:-} >run.out 2>run.err ||
    code=$?
  rm -f disk/filler
  "$LOCKSTEP" runs list --json >runs.json 2>list.err
  expect_eq "$(json runs.json '[r["run_id"] for r in d["runs"] if r["status"] == "running"]')" \
    "[]" "runs left running with $free bytes free (run exited $code)"
  expect_eq "$(json runs.json '[r["run_id"] for r in d["runs"] if r["status"] == "failed" and not r["manifest_path"] and not r["labels"].get("lockstep.failure")]')" \
    "[]" "failed runs without a reason with $free bytes free"
  expect_eq "$(ls "$LOCKSTEP_STORE/locks")" store-generation.lock \
    "lock files left with $free bytes free"
  # Nothing was killed: a run recorded by the next process names the
  # error its own process ended on.
  expect_eq "$(json runs.json '[r["run_id"] for r in d["runs"] if "killed or crashed" in r["labels"].get("lockstep.failure", "")]')" \
    "[]" "runs taken for killed ones with $free bytes free"
}

# Runs that execute their steps.
for free in 30000 50000 70000 80000 90000 100000 120000 150000; do
  run_on_full_disk "$free" --no-cache
done
# Runs whose every step is cached, recorded as a replay of an earlier
# run (the second of these saves the record the others replay).
"$LOCKSTEP" -q run p.yaml --sandbox none >/dev/null
"$LOCKSTEP" -q run p.yaml --sandbox none >/dev/null
[[ -n "$(ls "$LOCKSTEP_STORE/cache/replay-v1")" ]] || fail "no replay record"
for free in 0 10000 20000 30000 40000 60000 80000; do
  run_on_full_disk "$free"
done

# One of them could not record its end at all: the next process did,
# naming the error that stopped it.
expect_contains runs.json "could not record its end: running 'COMMIT': database or disk is full"

# Every failed run resumes like a killed one.
for run in $(json runs.json '" ".join(r["run_id"] for r in d["runs"] if r["status"] == "failed")'); do
  expect_exit 0 "$LOCKSTEP" -q run p.yaml --sandbox none --resume "$run"
done
echo "pipeline_full_disk_test: ok"
