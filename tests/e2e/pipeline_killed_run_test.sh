# A run whose lockstep process is SIGKILLed mid-step (no handler runs) is
# "running" only until the next `lockstep runs list` or `lockstep run`:
# that finds its lock released, records it as failed with the reason,
# removes its step folder, and the run can then be resumed. A run whose
# process is alive is never touched.
source "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null || { echo "skipped: no sqlite3"; exit 0; }

cat >p.yaml <<YAML
pipeline: killed
steps:
  first:
    run: [sh, -c, 'echo run >> $TEST_DIR/first.log; echo one > outputs/a']
    outputs:
      a: Artifact
  slow:
    run: [sh, -c, 'echo \$\$ > $TEST_DIR/\${{ params.tag }}.pid; while [ ! -e $TEST_DIR/\${{ params.tag }}.go ]; do sleep 0.05; done; cat inputs/a > outputs/b']
    inputs:
      a: first.a
    outputs:
      b: Artifact
params:
  tag: slow
YAML
db="$LOCKSTEP_STORE/metadata.db"

"$LOCKSTEP" run p.yaml --sandbox none --json >run.json 2>run.err &
pid=$!
wait_for slow.pid
run_id=$(sqlite3 "$db" "select run_id from runs where status='running'")
[[ -n "$run_id" ]] || fail "no running run recorded"
# `first` is recorded within a wave; wait for it so the resume below has
# an exact expected outcome.
for _ in $(seq 1 100); do
  [[ "$(sqlite3 "$db" "select count(*) from executions where name='first'")" == 1 ]] && break
  sleep 0.05
done
expect_eq "$(sqlite3 "$db" "select state from executions where name='first'")" \
  complete "first recorded before the kill"
[[ -d "$LOCKSTEP_STORE/work/$run_id" ]] || fail "no step folder while running"

# A live run is left alone by runs list.
"$LOCKSTEP" runs list --json >live.json
expect_eq "$(json live.json '[r["status"] for r in d["runs"] if r["run_id"] == "'"$run_id"'"][0]')" \
  running "status of a live run"

kill -KILL "$pid"
code=0
wait "$pid" || code=$?
expect_eq "$code" 137 "exit status of the killed lockstep"
# The step's shell outlives lockstep without the sandbox, until the
# recovery below stops it.
step_pid=$(cat slow.pid)
alive() {
  [[ -e /proc/$1 ]] && ! grep -q '^[0-9]* (.*) Z' "/proc/$1/stat"
}
alive "$step_pid" || fail "the step ended with lockstep: nothing to test"
expect_eq "$(sqlite3 "$db" "select status from runs where run_id='$run_id'")" \
  running "status right after SIGKILL"
[[ -d "$LOCKSTEP_STORE/work/$run_id" ]] || fail "the killed run left no folder"

# The next runs list records it as failed, with the reason, and cleans up.
"$LOCKSTEP" runs list --json >after.json 2>after.err
expect_eq "$(json after.json '[r["status"] for r in d["runs"] if r["run_id"] == "'"$run_id"'"][0]')" \
  failed "status after recovery"
expect_eq "$(json after.json '[r["labels"]["lockstep.failure"] for r in d["runs"] if r["run_id"] == "'"$run_id"'"][0]')" \
  "abandoned: the lockstep process running it (pid $pid) ended without finishing it (killed or crashed)" \
  "recorded reason"
expect_contains after.err "run $run_id was abandoned"
# Found by a tester: the step ran on, writing into a folder about to be
# removed, and a --resume ran it a second time beside it.
if alive "$step_pid"; then
  kill "$step_pid"
  fail "the abandoned run's step was left running"
fi
expect_contains after.err "left running"
"$LOCKSTEP" runs show "$run_id" >show.txt
expect_contains show.txt "  reason: abandoned: the lockstep process running it (pid $pid)"
[[ ! -e "$LOCKSTEP_STORE/work/$run_id" ]] || fail "stale step folder kept"
[[ ! -e "$LOCKSTEP_STORE/locks/run-$run_id.lock" ]] || fail "lock file kept"
expect_eq "$(sqlite3 "$db" "select finished_ms > started_ms from runs where run_id='$run_id'")" \
  1 "finish time recorded"
# Recovery happens once: a second listing changes nothing and says nothing.
"$LOCKSTEP" runs list --json >again.json 2>again.err
expect_eq "$(json again.json '[r["status"] for r in d["runs"] if r["run_id"] == "'"$run_id"'"][0]')" \
  failed "status stays failed"
expect_eq "$(wc -c <again.err)" 0 "second listing is quiet"

# The store is consistent: resuming the failed run reuses `first` and
# runs `slow` to completion.
touch resumed.go
"$LOCKSTEP" run p.yaml --sandbox none -p tag=resumed --resume "$run_id" \
  --json >resume.json 2>resume.err || { cat resume.err; fail "resume failed"; }
expect_eq "$(json resume.json '" ".join(s["name"] + "=" + s["state"] for s in d["steps"])')" \
  "first=cached slow=ran" "resumed states"
expect_eq "$(wc -l <first.log)" 1 "first ran once"
leftover=$(find "$LOCKSTEP_STORE/work" -mindepth 1 2>/dev/null | wc -l)
expect_eq "$leftover" 0 "step folders left in the store"

# `lockstep run` recovers too: kill another run, then start a new one.
"$LOCKSTEP" run p.yaml --sandbox none -p tag=second --json >second.json \
  2>second.err &
pid=$!
wait_for second.pid
second_id=$(sqlite3 "$db" "select run_id from runs where status='running'")
kill -KILL "$pid"
wait "$pid" || true
touch third.go
"$LOCKSTEP" run p.yaml --sandbox none -p tag=third --json >third.json \
  2>third.err || { cat third.err; fail "third run failed"; }
expect_contains third.err "run $second_id was abandoned"
expect_eq "$(sqlite3 "$db" "select status from runs where run_id='$second_id'")" \
  failed "status of the run recovered by lockstep run"
[[ ! -e "$LOCKSTEP_STORE/work/$second_id" ]] || fail "stale folder kept"
alive "$(cat second.pid)" && fail "the second run's step was left running"

# Found by a tester: a run killed after its last step but before its
# manifest was written was recorded as succeeded with no manifest, and
# could be neither reproduced nor resumed. Kills at staggered moments
# around the end of a short run must never leave that state.
cat >short.yaml <<'YAML'
pipeline: short
steps:
  a:
    run: [sh, -c, "echo a >outputs/o"]
    outputs: {o: Artifact}
  b:
    run: [sh, -c, "cat inputs/i >outputs/o"]
    inputs: {i: a.o}
    outputs: {o: Artifact}
YAML
for delay in 0.05 0.1 0.15 0.2 0.25 0.3 0.35 0.4; do
  "$LOCKSTEP" run short.yaml --sandbox none --no-cache >/dev/null 2>&1 &
  pid=$!
  sleep "$delay"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" || true
done
"$LOCKSTEP" runs list >/dev/null 2>&1
expect_eq "$(sqlite3 "$db" "select count(*) from runs where
  status <> 'running' and status <> 'failed' and manifest_path = ''")" 0 \
  "finished runs without a manifest"
echo ok
