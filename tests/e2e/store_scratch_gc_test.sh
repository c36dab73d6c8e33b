# `lockstep gc` removes what killed processes leave in the store's
# scratch folders: the step folder of a SIGKILLed run (its lock no longer
# held), and temporary files older than a day; it leaves a live run's
# folder and young temporaries alone, and a dry run removes nothing.
# A reproduction claims its own work folder the same way a run does.
# gc --grace 0 during a live run sweeps none of its blobs.
source "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null || { echo "skipped: no sqlite3"; exit 0; }

cat >p.yaml <<YAML
pipeline: scratch
steps:
  slow:
    run: [sh, -c, 'echo \$\$ > $TEST_DIR/\${{ params.tag }}.pid; while [ ! -e $TEST_DIR/\${{ params.tag }}.go ]; do sleep 0.05; done; echo \${{ params.tag }} > outputs/b']
    code: [helper.txt]
    outputs:
      b: Artifact
params:
  tag: slow
YAML
echo "a code file" >helper.txt
db="$LOCKSTEP_STORE/metadata.db"

running_runs() {
  sqlite3 "$db" "select run_id from runs where status='running'"
}

# A live run is in progress while gc runs. (Started first: a new run
# recovers abandoned ones itself, and this test is about gc.)
"$LOCKSTEP" run p.yaml --sandbox none -p tag=live --json >live.json \
  2>live.err &
live_pid=$!
wait_for live.pid
live_id=$(running_runs)
[[ -d "$LOCKSTEP_STORE/work/$live_id" ]] || fail "no live folder"

# A run killed with SIGKILL leaves its step folder behind.
"$LOCKSTEP" run p.yaml --sandbox none -p tag=killed >/dev/null 2>&1 &
killed_pid=$!
wait_for killed.pid
killed_id=$(running_runs | grep -v "$live_id")
kill -KILL "$killed_pid"
wait "$killed_pid" || true
[[ -d "$LOCKSTEP_STORE/work/$killed_id" ]] || fail "no leftover folder"
# Its step runs on (--sandbox none) until gc stops it; the record of its
# process group is part of the folder's bytes.
killed_bytes=$((12 + $(cat "$LOCKSTEP_STORE/work/$killed_id"/*.group | wc -c)))

# Temporaries: one written two days ago (a folder, as a killed snapshot
# batch leaves), one just now.
mkdir -p "$LOCKSTEP_STORE/tmp/batch-killed/sub"
printf 'abcde' >"$LOCKSTEP_STORE/tmp/batch-killed/sub/part"
touch -d '2 days ago' "$LOCKSTEP_STORE/tmp/batch-killed/sub/part" \
  "$LOCKSTEP_STORE/tmp/batch-killed/sub" "$LOCKSTEP_STORE/tmp/batch-killed"
printf 'xy' >"$LOCKSTEP_STORE/tmp/blob-young"
# Registry uploads go once idle past the server's session limit (an
# hour): no live session can hold them. Other temporaries of that age
# stay (they waited a day too: found by a tester, 571 MB after a few
# killed pushes).
printf 'upl' >"$LOCKSTEP_STORE/tmp/upload-killed.tmp"
printf 'blob' >"$LOCKSTEP_STORE/tmp/blob-two-hours.tmp"
printf 'live' >"$LOCKSTEP_STORE/tmp/upload-live.tmp"
touch -d '2 hours ago' "$LOCKSTEP_STORE/tmp/upload-killed.tmp" \
  "$LOCKSTEP_STORE/tmp/blob-two-hours.tmp"
touch -d '50 minutes ago' "$LOCKSTEP_STORE/tmp/upload-live.tmp"

"$LOCKSTEP" gc --grace 0 --dry-run --json >dry.json 2>dry.err ||
  { cat dry.err; fail "gc --dry-run failed"; }
expect_eq "$(json dry.json 'sorted(e["path"].split("/")[-1] + ":" + str(e["bytes"]) for e in d["abandonedScratch"])')" \
  "['$killed_id:$killed_bytes', 'batch-killed:5', 'upload-killed.tmp:3']" \
  "dry run lists"
[[ -d "$LOCKSTEP_STORE/tmp/batch-killed" ]] || fail "dry run removed"

"$LOCKSTEP" gc --grace 0 >gc.out 2>gc.err || { cat gc.err; fail "gc failed"; }
expect_contains gc.out "removed $LOCKSTEP_STORE/work/$killed_id ($killed_bytes bytes"
if [[ -e /proc/$(cat killed.pid) ]] &&
  ! grep -q '^[0-9]* (.*) Z' "/proc/$(cat killed.pid)/stat"; then
  kill "$(cat killed.pid)"
  fail "gc removed the killed run's folder with its step still running"
fi
expect_contains gc.out "removed $LOCKSTEP_STORE/tmp/batch-killed (5 bytes"
[[ ! -e "$LOCKSTEP_STORE/work/$killed_id" ]] || fail "killed folder kept"
[[ ! -e "$LOCKSTEP_STORE/tmp/batch-killed" ]] || fail "old temporary kept"
[[ -e "$LOCKSTEP_STORE/tmp/blob-young" ]] || fail "young temporary removed"
[[ ! -e "$LOCKSTEP_STORE/tmp/upload-killed.tmp" ]] || fail "old upload kept"
[[ -e "$LOCKSTEP_STORE/tmp/upload-live.tmp" ]] || fail "live upload removed"
[[ -e "$LOCKSTEP_STORE/tmp/blob-two-hours.tmp" ]] ||
  fail "a two-hour-old temporary removed"
[[ -d "$LOCKSTEP_STORE/work/$live_id" ]] || fail "live run's folder removed"

# gc --grace 0 during the live run swept its code-file blob (held by no
# root until the run is recorded), so it could not be reproduced.
expect_eq "$(json dry.json 'len(d["swept"])')" 0 "blobs swept during a run"
# The live run is undisturbed and finishes.
touch live.go
wait "$live_pid" || { cat live.err; fail "the live run failed"; }
expect_eq "$(json live.json 'd["status"]')" succeeded "live run status"

# A reproduction's folders are claimed while it runs and gone after.
"$LOCKSTEP" reproduce "$live_id" --json >repro.json 2>repro.err || true
expect_eq "$(json repro.json 'd["reproduced"]')" True "reproduced"
leftover=$(find "$LOCKSTEP_STORE/work" -mindepth 1 2>/dev/null | wc -l)
expect_eq "$leftover" 0 "entries left in the work folder"
echo ok
