# retries: with exponential backoff, timeout:, and finally: exit handlers
# that run whatever happened and see ${{ run.status }}.
source "$(dirname "$0")/lib.sh"

# A step that fails twice, then succeeds: retries: 2 is enough, 1 is not.
# The attempt counter lives outside the sandbox (--sandbox none).
cat >retry.yaml <<YAML
pipeline: retry
steps:
  flaky:
    run: [sh, -c, 'n=\$(cat $TEST_DIR/count 2>/dev/null || echo 0); n=\$((n+1)); echo \$n > $TEST_DIR/count; [ \$n -gt 2 ] && echo done > outputs/r']
    retries: {limit: two, backoff: 100ms}
    cache: false
    outputs:
      r: Artifact
YAML
# retries: takes a whole number.
expect_exit 3 "$LOCKSTEP" validate retry.yaml
expect_contains stderr.txt "retry.yaml:5:22: retries must be a whole number"
sed -i 's/limit: two/limit: 2/' retry.yaml
start=$(date +%s%N)
expect_exit 0 "$LOCKSTEP" run retry.yaml --sandbox none
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect_eq "$(cat count)" 3 "attempts made"
expect_contains stderr.txt "retrying in 100 ms"
expect_contains stderr.txt "retrying in 200 ms"
# The backoff really waited (100 + 200 ms at least).
(( elapsed_ms >= 300 )) || fail "backoff did not wait: $elapsed_ms ms"

rm count
sed -i 's/limit: 2/limit: 1/' retry.yaml
expect_exit 1 "$LOCKSTEP" run retry.yaml --sandbox none
expect_eq "$(cat count)" 2 "attempts with limit 1"
expect_contains stderr.txt "after 2 attempts"

# timeout: stops a step that runs too long and says so.
cat >timeout.yaml <<'YAML'
pipeline: timeout
steps:
  slow:
    run: [sleep, "30"]
    timeout: 500ms
YAML
start=$(date +%s)
expect_exit 1 "$LOCKSTEP" run timeout.yaml --sandbox none
(( $(date +%s) - start < 10 )) || fail "timeout did not stop the step"
expect_contains stderr.txt "timed out"
echo 'pipeline: t
steps:
  s:
    run: [true]
    timeout: soon' >badtimeout.yaml
expect_exit 3 "$LOCKSTEP" validate badtimeout.yaml
expect_contains stderr.txt "badtimeout.yaml:5:14: timeout must be a duration"

# finally: runs after a failure, sees the run's status, and the run still
# fails. Steps after the failure are skipped.
cat >finally.yaml <<'YAML'
pipeline: finally
steps:
  work:
    run: [sh, -c, 'exit ${{ params.code }}']
  later:
    run: [sh, -c, 'echo later > outputs/x']
    inputs:
      w: work.out
    outputs:
      x: Artifact
  cleanup:
    finally: true
    run: [sh, -c, 'echo "status ${{ run.status }}" > outputs/note']
    outputs:
      note: Artifact
params:
  code: 3
YAML
sed -i 's/^  work:/  work:\n    outputs:\n      out: Artifact/' finally.yaml
"$LOCKSTEP" run finally.yaml --sandbox none --json >run.json 2>run.err &&
  fail "a failed run exited 0"
expect_eq "$(json run.json 'd["status"]')" failed "run status"
expect_eq "$(json run.json '" ".join(s["name"]+"="+s["state"] for s in d["steps"])')" \
  "work=failed later=skipped cleanup=ran" "finally after failure"
note=$(json run.json '[s for s in d["steps"] if s["name"]=="cleanup"][0]["outputs"]["note"]')
expect_eq "$(cat "$LOCKSTEP_STORE/blobs/sha256/${note:7:2}/${note:7}")" \
  "status failed" "run.status in finally"

# On success the handler runs too, last, and is never cached.
sed -i 's/exit \${{ params.code }}/echo ok > outputs\/out; exit \${{ params.code }}/' finally.yaml
for i in 1 2; do
  "$LOCKSTEP" run finally.yaml --sandbox none -p code=0 --json >run.json \
    2>run.err || { cat run.err; fail "successful run failed"; }
done
expect_eq "$(json run.json '" ".join(s["name"]+"="+s["state"] for s in d["steps"])')" \
  "work=cached later=cached cleanup=ran" "finally on success"

# run.status outside a finally: step is an error.
sed -i 's/    finally: true//' finally.yaml
expect_exit 3 "$LOCKSTEP" validate finally.yaml
expect_contains stderr.txt "'run.status' is available only in a finally: step"

# Found by a tester: an if: that cannot be judged at run time (ordering
# the string an earlier step wrote against a number) aborted the whole
# run: no manifest, the finally: step never ran. It fails that step only.
cat >badif.yaml <<'YAML'
pipeline: badif
steps:
  a:
    run: [sh, -c, "printf abc > outputs/x"]
    outputs: {x: Metrics}
  b:
    run: [sh, -c, "echo b > outputs/y"]
    if: steps.a.outputs.x > 1
    outputs: {y: Artifact}
  c:
    run: [sh, -c, "echo c > outputs/z"]
    inputs: {i: b.y}
    outputs: {z: Artifact}
  handler:
    run: [sh, -c, "echo ${{ run.status }} > outputs/s"]
    finally: true
    outputs: {s: Artifact}
YAML
expect_exit 1 "$LOCKSTEP" run badif.yaml --sandbox none --json
expect_eq "$(json stdout.txt '" ".join(s["name"] + "=" + s["state"] for s in d["steps"])')" \
  "a=ran b=failed c=skipped handler=ran" "states after a bad if:"
expect_contains stdout.txt 'if: cannot order'
manifest=$(json stdout.txt 'd["manifest"]')
[[ -f "$manifest" ]] || fail "no manifest for the run"
expect_exit 0 "$LOCKSTEP" manifest verify "$manifest"

# The run's summary shows why a check failed (its problems and verdict,
# not only its numbers: a tester saw "rows 569" beside skipped steps),
# and counts what passes a dozen metrics instead of printing them all
# (300,000 metrics once put 5.8 MB on stdout).
cat >check.yaml <<'YAML'
pipeline: check
steps:
  check:
    run: [python3, -c, 'import json; m = {"problems": ["digest differs", "569 rows, not 570"], "rows": 569, "valid": False, "note": "text"}; m.update({"m%02d" % i: i for i in range(20)}); json.dump(m, open("outputs/report", "w"))']
    outputs: {report: Metrics}
YAML
expect_exit 0 "$LOCKSTEP" run check.yaml --sandbox none
expect_contains stdout.txt "    report: m00 0, m01 1, m02 2, m03 3, m04 4, m05 5, m06 6, m07 7, m08 8, m09 9, m10 10, m11 11 (and 11 more)"
sed -i 's/m.update/0 and m.update/' check.yaml
expect_exit 0 "$LOCKSTEP" run check.yaml --sandbox none
expect_contains stdout.txt "    report: problems [digest differs; 569 rows, not 570], rows 569, valid false"
echo ok
