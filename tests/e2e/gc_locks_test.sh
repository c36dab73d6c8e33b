#!/usr/bin/env bash
# gc and the store's lock files (found by a tester):
# - gc waiting for the sweep lock says so, once, naming the holder's pid
#   (it waited silently), and not with --quiet;
# - a gc stopped by SIGTERM while it waits exits 130 with one line (it
#   died by the signal, exit 143);
# - gc removes the run lock files no process holds (27 piled up in one
#   store), but not one a live process holds, nor one whose run is still
#   recorded as running: the recovery of that run reads it.
source "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null || { echo "skipped: no sqlite3"; exit 0; }

echo a >a.txt
"$LOCKSTEP" data snapshot a.txt --name a -q
locks="$LOCKSTEP_STORE/locks"

# hold MODE FILE READY: a process of this test holding an flock on FILE
# (MODE sh or ex) until killed; its pid is $holder once READY exists.
hold() {
  python3 - "$1" "$2" "$3" <<'PY' &
import fcntl, os, sys, time
mode, path, ready = sys.argv[1:]
f = open(path, "a")
fcntl.flock(f, fcntl.LOCK_SH if mode == "sh" else fcntl.LOCK_EX)
open(ready, "w").close()
time.sleep(120)
PY
  holder=$!
  on_exit "kill $holder"
  wait_for "$3"
}

# 1. The wait is announced once, with the holder's pid.
hold sh "$locks/sweep.lock" sweep.ready
sweep_holder=$holder
"$LOCKSTEP" gc --grace 0 >gc-wait.out 2>gc-wait.err &
gc=$!
for _ in $(seq 1 100); do
  [[ -s gc-wait.err ]] && break
  sleep 0.05
done
expect_eq "$(cat gc-wait.err)" \
  "lockstep: waiting for the sweep lock $locks/sweep.lock, held by process $sweep_holder (a data snapshot, or another gc)" \
  "the wait said"
sleep 1.5  # Still waiting: said once.
expect_eq "$(wc -l <gc-wait.err)" 1 "lines said while waiting"

# 2. SIGTERM ends the wait: exit 130, one more line.
kill -TERM "$gc"
status=0
wait "$gc" || status=$?
expect_eq "$status" 130 "gc stopped by SIGTERM"
expect_eq "$(tail -1 gc-wait.err)" \
  "lockstep: error: gc interrupted: what it swept stays swept; run it again for the rest" \
  "the interruption said"

# --quiet waits silently, and gc goes on once the lock is let go.
"$LOCKSTEP" gc --grace 0 --quiet >gc-quiet.out 2>gc-quiet.err &
gc=$!
sleep 1.5
kill "$sweep_holder"
wait "$gc" || { cat gc-quiet.err; fail "gc after the wait failed"; }
expect_eq "$(cat gc-quiet.err)" "" "said with --quiet"

# 3. Run lock files. Two nobody holds (a killed run recorded failed by
# another command, a killed reproduction), one a live process holds.
: >"$locks/run-20260101-000000-aaaaaa.lock"
: >"$locks/run-reproduce-20260101-000000-bbbbbb.lock"
hold ex "$locks/run-20260101-000000-cccccc.lock" run.ready
# And one of a killed run still recorded as running.
cat >p.yaml <<YAML
pipeline: locks
steps:
  slow:
    run: [sh, -c, 'echo \$\$ > $TEST_DIR/step.pid; sleep 60']
    outputs: {s: Artifact}
YAML
"$LOCKSTEP" run p.yaml --sandbox none -q >/dev/null 2>&1 &
run=$!
wait_for step.pid
kill -KILL "$run"
wait "$run" || true
kill "$(cat step.pid)" 2>/dev/null || true
killed_run=$(sqlite3 "$LOCKSTEP_STORE/metadata.db" \
  "select run_id from runs where status='running'")
[[ -e "$locks/run-$killed_run.lock" ]] || fail "the killed run left no lock"

"$LOCKSTEP" gc --grace 0 --dry-run --json >dry.json 2>dry.err ||
  { cat dry.err; fail "gc --dry-run failed"; }
expect_eq "$(json dry.json 'sorted(e["path"].split("/")[-1] for e in d["abandonedScratch"] if "/locks/" in e["path"])')" \
  "['run-20260101-000000-aaaaaa.lock', 'run-reproduce-20260101-000000-bbbbbb.lock']" \
  "dry run lists"
[[ -e "$locks/run-20260101-000000-aaaaaa.lock" ]] || fail "dry run removed"

"$LOCKSTEP" gc --grace 0 >gc.out 2>gc.err || { cat gc.err; fail "gc failed"; }
expect_contains gc.out "removed $locks/run-20260101-000000-aaaaaa.lock"
expect_eq "$(cd "$locks" && ls run-*.lock | sort | tr '\n' ' ')" \
  "$(printf '%s\n' run-20260101-000000-cccccc.lock "run-$killed_run.lock" |
    sort | tr '\n' ' ')" \
  "lock files left"

# The killed run is recovered as before, by its lock file.
"$LOCKSTEP" runs list >/dev/null 2>&1
"$LOCKSTEP" runs show "$killed_run" >show.txt 2>/dev/null || true
expect_contains show.txt "reason: abandoned: the lockstep process running it"
[[ ! -e "$locks/run-$killed_run.lock" ]] || fail "recovered run's lock kept"
[[ -e "$locks/run-20260101-000000-cccccc.lock" ]] || fail "held lock removed"
echo "gc locks: ok"
