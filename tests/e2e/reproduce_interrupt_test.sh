#!/usr/bin/env bash
# An interrupted reproduce (or determinism check) exits 130 and decides
# nothing: it said "diverged ... cancelled" and exited 1, which scripts
# read as "an output differs" (found by a tester).
source "$(dirname "$0")/lib.sh"

cat >p.yaml <<'YAML'
pipeline: interrupted
steps:
  slow:
    run: [sh, -c, 'sleep 2; echo done > outputs/s']
    outputs: {s: Artifact}
YAML
"$LOCKSTEP" run p.yaml -q >/dev/null
run=$(ls "$LOCKSTEP_STORE/runs" | head -1)

# The signal comes long before the 2-second step can end, wherever
# reproduce is by then.
for signal in INT TERM; do
  "$LOCKSTEP" reproduce "$run" --json >repro.json 2>repro.err &
  pid=$!
  sleep 0.5
  kill -"$signal" "$pid"
  status=0
  wait "$pid" || status=$?
  expect_eq "$status" 130 "reproduce stopped by SIG$signal"
  expect_contains repro.err "reproduce interrupted"
  expect_eq "$(cat repro.json)" "" "no verdict printed"
done

"$LOCKSTEP" run p.yaml --check-determinism --no-cache -q 2>check.err &
pid=$!
sleep 3
kill -INT "$pid"
status=0
wait "$pid" || status=$?
expect_eq "$status" 130 "determinism check stopped"
echo "reproduce interrupt: ok"
