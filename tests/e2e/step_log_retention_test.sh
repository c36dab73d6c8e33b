#!/usr/bin/env bash
# A failed step's whole stderr is a blob its execution names by digest.
# Found by a tester: gc swept it (no manifest lists it), store verify did
# not follow it, and no command showed it. Now gc keeps it while the run
# is recorded, store verify checks it, and runs show prints it.
source "$(dirname "$0")/lib.sh"

cat >p.yaml <<'YAML'
pipeline: f
steps:
  b:
    run: [sh, -c, 'for i in $(seq 1 2000); do echo "line $i" >&2; done; exit 3']
YAML
expect_exit 1 "$LOCKSTEP" run p.yaml --sandbox none
run=$("$LOCKSTEP" runs list --json | python3 -c \
  'import json,sys; print(json.load(sys.stdin)["runs"][0]["run_id"])')

expect_exit 0 "$LOCKSTEP" runs show "$run" --json
digest=$(json stdout.txt \
  '[s for s in d["steps"] if s["name"] == "b"][0]["stderr"]')
[[ "$digest" == sha256:* ]] || fail "no stderr digest in runs show --json"
expect_exit 0 "$LOCKSTEP" runs show "$run"
expect_contains stdout.txt \
  "stderr ${digest:0:19} (lockstep runs show $run --stderr b)"

expect_exit 0 "$LOCKSTEP" gc --grace 0s
expect_not_contains stdout.txt "swept $digest"
expect_exit 0 "$LOCKSTEP" store verify
expect_exit 0 "$LOCKSTEP" runs show "$run" --stderr b
expect_eq "$(wc -l <stdout.txt)" 2000 "stderr lines"
expect_eq "$(head -1 stdout.txt) $(tail -1 stdout.txt)" "line 1 line 2000" \
  "stderr ends"

# store verify follows the reference: a lost log is reported.
hex=${digest#sha256:}
blob="$LOCKSTEP_STORE/blobs/sha256/${hex:0:2}/$hex"
[[ -e "$blob" ]] || fail "the stderr blob is not where the store keeps it"
rm -f "$blob"
expect_exit 1 "$LOCKSTEP" store verify
expect_contains stdout.txt "run $run keeps the stderr of step b"
expect_exit 2 "$LOCKSTEP" runs show "$run" --stderr b
expect_exit 2 "$LOCKSTEP" runs show "$run" --stderr nope
expect_contains stderr.txt "has no step nope"

# An iteration's name is quoted in the hint: b[0] is a glob pattern to
# the shell, and a file named b0 here would have taken its place.
cat >each.yaml <<'YAML'
pipeline: each
steps:
  b:
    for_each: [1]
    run: [sh, -c, 'echo failed >&2; exit 3']
YAML
expect_exit 1 "$LOCKSTEP" run each.yaml --sandbox none
run=$("$LOCKSTEP" runs list --pipeline each --json | python3 -c \
  'import json,sys; print(json.load(sys.stdin)["runs"][0]["run_id"])')
expect_exit 0 "$LOCKSTEP" runs show "$run"
expect_contains stdout.txt "(lockstep runs show $run --stderr 'b[0]')"
touch b0
expect_exit 0 "$LOCKSTEP" runs show "$run" --stderr 'b[0]'
expect_eq "$(cat stdout.txt)" failed "the iteration's stderr"
echo PASS
