# A step that fails because the store's disk is full still ends its
# message with its stderr: the step's folder and its stderr log are on
# that disk, and the log used to be where the message was read from, so
# the step's own "No space left on device" was lost (found by a tester).
source "$(dirname "$0")/lib.sh"
small_disk disk 20m
export LOCKSTEP_STORE="$TEST_DIR/disk/store"

cat >p.yaml <<'YAML'
pipeline: full
steps:
  a:
    run: [sh, -c, 'head -c 5000000 /dev/zero > outputs/o']
    outputs:
      o: Artifact
YAML
"$LOCKSTEP" -q data list >/dev/null 2>&1 || true
fill_disk disk 1000000
# The stderr log could not be written either, so the failure is taken
# for the disk's: exit 6, as for Lockstep's own I/O errors, not a step's
# 1 (found by a tester), with the reason recorded on the run.
expect_exit 6 "$LOCKSTEP" run p.yaml --sandbox none
expect_eq "$(grep -A1 'step a: the step failed' stderr.txt)" \
  "lockstep: error: step a: the step failed: exit code 1
  stderr: head: error writing 'standard output': No space left on device" \
  "the failed step's message"
log_error="step a: Lockstep could not write its stderr log \
($LOCKSTEP_STORE/work/"
expect_contains stderr.txt "lockstep: error: $log_error"
expect_contains stderr.txt ": No space left on device), so the step's \
failure may be the store disk's"
rm disk/filler
"$LOCKSTEP" runs list --json >runs.json
python3 - "$log_error" <<'PY'
import json, sys
runs = json.load(open("runs.json"))["runs"]
assert len(runs) == 1 and runs[0]["status"] == "failed", runs
failure = runs[0]["labels"]["lockstep.failure"]
assert failure.startswith(sys.argv[1]), failure
PY
echo "step_stderr_full_disk_test: ok"
