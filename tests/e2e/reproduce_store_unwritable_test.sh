# `reproduce` of a store on a full or read-only disk is an I/O error,
# exit 6, naming the file: it used to swallow the store's error, take the
# run id for a manifest file, and exit 2 with "cannot read the manifest:
# RUN: No such file or directory" (found by a tester). A store or run
# that does not exist is still exit 2.
source "$(dirname "$0")/lib.sh"
small_disk disk 20m
export LOCKSTEP_STORE="$TEST_DIR/disk/store"

cat >p.yaml <<'YAML'
pipeline: small
steps:
  a:
    run: [sh, -c, 'seq 100 > outputs/n']
    outputs:
      n: Artifact
YAML
"$LOCKSTEP" -q run p.yaml --sandbox none >/dev/null
run_id=$(ls "$LOCKSTEP_STORE/runs")
manifest="$LOCKSTEP_STORE/runs/$run_id/manifest.json"

check_io_error() {  # WHAT TARGET
  expect_exit 6 "$LOCKSTEP" reproduce "$2"
  expect_not_contains stderr.txt "No such file or directory"
  expect_not_contains stderr.txt "cannot read the manifest"
  grep -q "$LOCKSTEP_STORE/" stderr.txt || fail "$1: no file named"
}

fill_disk disk 0
check_io_error "full disk, run id" "$run_id"
check_io_error "full disk, manifest" "$manifest"
rm disk/filler

mount -o remount,ro disk
check_io_error "read-only disk, run id" "$run_id"
check_io_error "read-only disk, manifest" "$manifest"
mount -o remount,rw disk

expect_exit 0 "$LOCKSTEP" -q reproduce "$run_id"
expect_exit 2 "$LOCKSTEP" reproduce 20000101-000000-000000
expect_contains stderr.txt "20000101-000000-000000"
expect_exit 2 "$LOCKSTEP" --store "$TEST_DIR/nowhere" reproduce "$run_id"
echo "reproduce_store_unwritable_test: ok"
