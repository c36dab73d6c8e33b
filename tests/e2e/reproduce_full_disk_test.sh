# A step that fails when re-run because the store's disk is full (its
# folder and Lockstep's log of its stderr are on it) is an I/O error of
# the re-run: exit 6 with the cause and no verdict. It used to be
# "diverged (the step failed when re-run)", exit 1 (found by a tester).
# A step that fails on its own is still a divergence.
source "$(dirname "$0")/lib.sh"
small_disk disk 20m
export LOCKSTEP_STORE="$TEST_DIR/disk/store"

cat >p.yaml <<YAML
pipeline: big
steps:
  a:
    run: [sh, -c, 'test ! -e $TEST_DIR/break || { echo broken >&2; exit 3; }; head -c 3000000 /dev/zero > outputs/o']
    outputs:
      o: Artifact
YAML
"$LOCKSTEP" -q run p.yaml --sandbox none >/dev/null
run_id=$(ls "$LOCKSTEP_STORE/runs")

fill_disk disk 1000000
expect_exit 6 "$LOCKSTEP" reproduce "$run_id"
expect_eq "$(grep -A1 'step a: cannot tell' stderr.txt |
             sed -E 's#/work/[^ ]*\.stderr#/work/STEP.stderr#')" \
  "lockstep: error: step a: cannot tell whether it reproduces: Lockstep could not write its stderr log ($LOCKSTEP_STORE/work/STEP.stderr: No space left on device), and the step failed: exit code 1
  stderr: head: error writing 'standard output': No space left on device" \
  "the re-run's error"
expect_not_contains stdout.txt "diverged"
expect_not_contains stdout.txt "not reproduced"
rm disk/filler

touch break
expect_exit 1 "$LOCKSTEP" reproduce "$run_id"
expect_contains stdout.txt "  a: diverged (the step failed when re-run: the step failed: exit code 3"
rm break
expect_exit 0 "$LOCKSTEP" -q reproduce "$run_id"
echo "reproduce_full_disk_test: ok"
