# A data-snapshot step's missing source. Found by a tester: with s1 and
# s2 snapshotting real files and s3 `source: nosuch.csv`, `run` minted
# s1's and s2's snapshots, recorded a failed run, then exited 2 with no
# summary and no manifest (`reproduce RUN`: "has no manifest").
# Now a source missing at the start is refused before anything is
# recorded or minted; one deleted while the run runs fails its step, and
# the run still prints its summary and writes its manifest.
source "$(dirname "$0")/lib.sh"

mkdir sub
echo x,y >sub/a.csv
echo x,y >sub/b.csv
cat >sub/p.yaml <<YAML
pipeline: sub
steps:
  s1:
    uses: lockstep/data-snapshot
    with: {source: a.csv, name: absd}
  s2:
    uses: lockstep/data-snapshot
    with: {source: b.csv, name: reld}
  s3:
    uses: lockstep/data-snapshot
    with: {source: nosuch.csv, name: nos}
YAML

# Missing at the start: exit 2 at its source: line, no store, no run.
expect_exit 2 "$LOCKSTEP" run sub/p.yaml --jobs 1
expect_eq "$(cat stderr.txt)" \
  "lockstep: error: sub/p.yaml:11:20: step 's3' (lockstep/data-snapshot): $TEST_DIR/sub/nosuch.csv: No such file or directory" \
  "missing source"
expect_eq "$(cat stdout.txt)" "" "stdout of a refused run"
[[ ! -e "$LOCKSTEP_STORE" ]] || fail "a refused run touched the store"
# In a store that exists: still nothing recorded or minted.
"$LOCKSTEP" data snapshot sub/a.csv --name other >/dev/null
expect_exit 2 "$LOCKSTEP" run sub/p.yaml --jobs 1
expect_eq "$("$LOCKSTEP" runs list --json | python3 -c \
  'import json,sys; print(len(json.load(sys.stdin)["runs"]))')" 0 "runs"
expect_exit 2 "$LOCKSTEP" data show absd

# Deleted while the run runs (by the step before it): s3 fails, the
# finally: step runs, and the run exits 2 with its summary and manifest.
cat >sub/q.yaml <<YAML
pipeline: sub-deleted
steps:
  s1:
    uses: lockstep/data-snapshot
    with: {source: a.csv, name: absd}
  remove:
    run: [sh, -c, 'rm $TEST_DIR/sub/gone.csv']
    needs: [s1]
  s3:
    uses: lockstep/data-snapshot
    with: {source: gone.csv, name: gone}
    needs: [remove]
  report:
    finally: true
    run: [sh, -c, 'echo done > outputs/r']
    outputs: {r: Artifact}
YAML
echo 1,2 >sub/gone.csv
expect_exit 2 "$LOCKSTEP" run sub/q.yaml --sandbox none
expect_contains stderr.txt \
  "lockstep: error: step s3: sub/q.yaml:11:20: step 's3' (lockstep/data-snapshot): $TEST_DIR/sub/gone.csv: No such file or directory"
run_id=$(head -1 stdout.txt | sed -n 's/^run \(.*\): failed$/\1/p')
[[ -n "$run_id" ]] || { cat stdout.txt; fail "no run summary"; }
expect_contains stdout.txt "  s1: ran"
expect_contains stdout.txt "  s3: failed"
expect_contains stdout.txt "  report: ran"
expect_contains stdout.txt "manifest: $LOCKSTEP_STORE/runs/$run_id/manifest.json"
"$LOCKSTEP" runs show "$run_id" --json >show.json
expect_eq "$(json show.json 'd["status"]')" failed "recorded status"
expect_contains show.json "gone.csv: No such file or directory"
expect_exit 0 "$LOCKSTEP" manifest verify \
  "$LOCKSTEP_STORE/runs/$run_id/manifest.json"

# A source named by a param is known only once params are set: the
# up-front check refused every such pipeline, with or without -p (a
# tester's finding). It runs; a missing one fails its step, with a
# manifest.
cat >sub/p.yaml <<'YAML'
pipeline: param-source
params:
  src: a.csv
steps:
  s1:
    uses: lockstep/data-snapshot
    with: {source: "${{ params.src }}", name: fromparam}
YAML
expect_exit 0 "$LOCKSTEP" run sub/p.yaml --sandbox none
expect_exit 0 "$LOCKSTEP" data show fromparam --json
expect_eq "$(json stdout.txt 'd["digest"]')" \
  "sha256:$(sha256sum sub/a.csv | cut -c1-64)" "the param's file"
expect_exit 2 "$LOCKSTEP" run sub/p.yaml --sandbox none -p src=nosuch.csv
expect_contains stderr.txt "$TEST_DIR/sub/nosuch.csv: No such file or directory"
expect_contains stdout.txt "manifest: $LOCKSTEP_STORE/runs/"
echo ok
