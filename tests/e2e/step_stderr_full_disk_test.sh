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
expect_exit 1 "$LOCKSTEP" run p.yaml --sandbox none
expect_eq "$(grep -A1 'step a: the step failed' stderr.txt)" \
  "lockstep: error: step a: the step failed: exit code 1
  stderr: head: error writing 'standard output': No space left on device" \
  "the failed step's message"
echo "step_stderr_full_disk_test: ok"
