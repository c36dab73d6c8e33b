# Ctrl-C mid-run stops the running step, records it and the run as
# cancelled and leaves the store consistent; --resume continues the run,
# reusing what succeeded (even a cache: false step) without running it.
source "$(dirname "$0")/lib.sh"

cat >p.yaml <<YAML
pipeline: cancel
steps:
  first:
    cache: false
    run: [sh, -c, 'echo run >> $TEST_DIR/first.log; echo one > outputs/a']
    outputs:
      a: Artifact
  slow:
    run: [sh, -c, 'touch $TEST_DIR/slow.started; sleep \${{ params.wait }}; cat inputs/a > outputs/b']
    inputs:
      a: first.a
    outputs:
      b: Artifact
  last:
    run: [sh, -c, 'cat inputs/b > outputs/c']
    inputs:
      b: slow.b
    outputs:
      c: Artifact
params:
  wait: 30
YAML

"$LOCKSTEP" run p.yaml --sandbox none --json >run.json 2>run.err &
pid=$!
for _ in $(seq 1 100); do
  [[ -e slow.started ]] && break
  sleep 0.1
done
[[ -e slow.started ]] || fail "the slow step never started"
start=$(date +%s)
kill -INT "$pid"
code=0
wait "$pid" || code=$?
expect_eq "$code" 130 "exit code after Ctrl-C"
(( $(date +%s) - start < 10 )) || fail "Ctrl-C did not stop the step quickly"
expect_eq "$(json run.json 'd["status"]')" cancelled "run status"
expect_eq "$(json run.json '" ".join(s["name"] + "=" + s["state"] for s in d["steps"])')" \
  "first=ran slow=cancelled last=cancelled" "step states"
run_id=$(json run.json 'd["run_id"]')
# No sleep left behind, and no temporary files left in the store.
if pgrep -f "sleep 30" -P "$pid" >/dev/null 2>&1; then fail "sleep survived"; fi
leftover=$(find "$LOCKSTEP_STORE/tmp" "$LOCKSTEP_STORE/work" -mindepth 1 \
  2>/dev/null | wc -l)
expect_eq "$leftover" 0 "temporary files left in the store"

# The lineage store says the same (read with the sqlite3 tool).
db=$(find "$LOCKSTEP_STORE" -name '*.db' -o -name '*.sqlite' | head -1)
if [[ -n "$db" ]] && command -v sqlite3 >/dev/null; then
  expect_eq "$(sqlite3 "$db" "select status from runs where run_id='$run_id'")" \
    cancelled "run row"
  expect_eq "$(sqlite3 "$db" "select group_concat(name || '=' || state, ' ') from (select name, state from executions order by id)")" \
    "first=complete slow=cancelled last=cancelled" "execution rows"
fi

# --resume reuses `first` (cache: false, but it succeeded) and runs the rest.
"$LOCKSTEP" run p.yaml --sandbox none -p wait=0 --resume "$run_id" --explain \
  --json >resume.json 2>resume.err || { cat resume.err; fail "resume failed"; }
expect_eq "$(json resume.json '" ".join(s["name"] + "=" + s["state"] for s in d["steps"])')" \
  "first=cached slow=ran last=ran" "resumed states"
expect_eq "$(wc -l <first.log)" 1 "first ran once"
expect_contains resume.json "resumed: succeeded in run $run_id"

# A succeeded run cannot be resumed; an unknown one is not found.
expect_exit 3 "$LOCKSTEP" run p.yaml --sandbox none \
  --resume "$(json resume.json 'd["run_id"]')"
expect_contains stderr.txt "only a failed or cancelled run can be resumed"
expect_exit 2 "$LOCKSTEP" run p.yaml --sandbox none --resume nope

# Found by a tester: SIGHUP (a closed terminal) had no handler, so the
# run was abandoned unrecorded and --sandbox none steps ran on as
# orphans. It cancels the run like Ctrl-C.
rm -f slow.started
"$LOCKSTEP" run p.yaml --sandbox none -p wait=31 --json >hup.json \
  2>hup.err &
pid=$!
for _ in $(seq 1 100); do
  [[ -e slow.started ]] && break
  sleep 0.1
done
[[ -e slow.started ]] || fail "the slow step never started (SIGHUP)"
kill -HUP "$pid"
code=0
wait "$pid" || code=$?
expect_eq "$code" 130 "exit code after SIGHUP"
expect_eq "$(json hup.json 'd["status"]')" cancelled "run status after SIGHUP"
if pgrep -f "$TEST_DIR/slow.started" >/dev/null 2>&1; then
  fail "the step survived SIGHUP"
fi
echo ok
