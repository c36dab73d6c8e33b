# The run-level no-op fast path (docs/caching.md, "Replaying a run"): an
# unchanged re-run is recorded as a replay of the last run, with the same
# manifest, lineage and output; after any change to what the keys were
# computed from it is not taken, and the run is the normal path's.
# Runs against SQLite and against a PostgreSQL server it starts.
source "$(dirname "$0")/lib.sh"

write_pipeline() {  # EXTRA_STEP_B_LINE
  cat >p.yaml <<YAML
pipeline: replaytest
params:
  n: 2
steps:
  produce:
    run: [sh, -c, 'sh ./gen.sh \${{ params.n }} > outputs/out; cat data.txt >> outputs/out']
    code: [gen.sh, data.txt]
    env: [VAR_A]
    outputs:
      out: Dataset
  consume:
    run: [cp, inputs/data, outputs/copy]
    inputs:
      data: produce.out
    outputs:
      copy: Metrics
$1
YAML
}

# run_states ARGS...: runs with debug logging; prints the step states.
# $TEST_DIR/run.err keeps the log, run.json the result.
run_states() {
  "$LOCKSTEP" -v --json run p.yaml --sandbox "${SANDBOX:-none}" "$@" \
    >run.json \
    2>run.err || { cat run.err >&2; fail "run $* failed"; }
  json run.json '" ".join(s["name"] + "=" + s["state"] for s in d["steps"])'
}
replayed() { grep -q "replaying run" run.err; }

# expect_replay WHAT ARGS...: the run is a replay, every step cached.
expect_replay() {
  local what=$1
  shift
  expect_eq "$(run_states "$@")" "produce=cached consume=cached" "$what"
  replayed || { cat run.err >&2; fail "$what: not replayed"; }
}
# expect_normal STATES WHAT ARGS...: the normal path, with these states.
expect_normal() {
  local states=$1 what=$2
  shift 2
  expect_eq "$(run_states "$@")" "$states" "$what"
  if replayed; then fail "$what: replayed"; fi
}
# Lets every file and blob age past the racy window, re-runs (a normal
# run saves a record), then checks that the next run replays.
establish() {
  sleep 2.1
  expect_eq "$(run_states "${@:2}")" "produce=cached consume=cached" \
    "$1: settled run"
  expect_replay "$1: replay" "${@:2}"
}

run_scenarios() {
  printf 'echo "value $1"\n' >gen.sh
  echo "data one" >data.txt
  export VAR_A=alpha
  write_pipeline ""
  expect_normal "produce=ran consume=ran" "first run"
  # Its outputs were just written: not settled, so no record yet.
  grep -q "no replay record" run.err || fail "first run saved a record"
  expect_normal "produce=cached consume=cached" "too soon for a record"
  sleep 2.1
  # The normal path even if the run before came late enough (a loaded
  # machine) to find its outputs settled and save a record; this run
  # saves one in any case.
  LOCKSTEP_NO_REPLAY=1 expect_normal "produce=cached consume=cached" \
    "normal all-cached run"
  slow_run=$(json run.json 'd["run_id"]')
  slow_manifest=$(json run.json 'd["manifest"]')
  expect_replay "unchanged re-run"
  fast_run=$(json run.json 'd["run_id"]')
  fast_manifest=$(json run.json 'd["manifest"]')

  # The replay's manifest is the normal path's but for its id and times,
  # and verifies.
  strip='del(.run_id, .started, .finished, .manifest_hash,
    .field_hashes.run_id, .field_hashes.started, .field_hashes.finished)'
  expect_eq "$(jq -S "$strip" "$fast_manifest")" \
    "$(jq -S "$strip" "$slow_manifest")" "replay manifest"
  "$LOCKSTEP" manifest verify "$fast_manifest" >/dev/null ||
    fail "replay manifest does not verify"
  "$LOCKSTEP" --json runs show "$fast_run" >show.json
  expect_eq "$(json show.json 'd["labels"]["lockstep.replay_of"]')" \
    "$slow_run" "replay label"
  # Lineage from the replay's consume output reaches the producing run.
  first_producer=$(jq -r '.steps[0].produced_by_run' "$fast_manifest")
  expect_eq "$(jq -r '.steps[1].produced_by_run' "$fast_manifest")" \
    "$first_producer" "consume produced by the first run"
  "$LOCKSTEP" --json lineage --up "$fast_run/consume/copy" >lineage.json
  grep -q "$first_producer" lineage.json || {
    cat lineage.json >&2
    fail "lineage does not reach the producing run"
  }
  # --explain after a replay compares with the key parts its cached
  # executions reference (schema v3) rather than hold.
  "$LOCKSTEP" run p.yaml --sandbox none --explain -p n=7 >explain.out 2>&1 ||
    { cat explain.out >&2; fail "--explain after a replay failed"; }
  expect_contains explain.out "explain: param n 2 -> 7"
  # A bad option is reported as on the normal path, not replayed over.
  code=0
  "$LOCKSTEP" run p.yaml --sandbox none --label nokey >/dev/null 2>&1 ||
    code=$?
  expect_eq "$code" 3 "--label without = exit code"
  expect_replay "labelled re-run" --label team=ml
  "$LOCKSTEP" --json runs show "$(json run.json 'd["run_id"]')" >show.json
  expect_eq "$(json show.json 'd["labels"]["team"]')" ml "replay label"
  # Text output and the Metrics summary are the same as a normal run's.
  "$LOCKSTEP" run p.yaml --sandbox none >text.out 2>&1
  expect_contains text.out "produce: cached"
  expect_contains text.out "consume: cached"

  # Reproducing the replay re-runs its steps (which leaves the blobs
  # with new ctimes: the next run cannot replay).
  "$LOCKSTEP" reproduce "$fast_manifest" >reproduce.out 2>&1 || {
    cat reproduce.out >&2
    fail "the replay does not reproduce"
  }
  expect_contains reproduce.out "reproduced: bit-identical"
  # Each change below is followed by a run that must not replay.
  printf '# a comment\n' >>p.yaml
  expect_normal "produce=cached consume=cached" "edited pipeline file"
  establish "after the edit"

  expect_normal "produce=ran consume=ran" "-p change" -p n=3
  establish "-p n=3" -p n=3
  # n=2's record still holds: nothing it lists changed.
  expect_replay "back to n=2"

  VAR_A=beta expect_normal "produce=ran consume=cached" "env value change"
  establish "env back"

  touch data.txt
  expect_normal "produce=cached consume=cached" "touched data input"
  establish "after touch"

  # Same size, same mtime, other bytes: only the ctime tells.
  stamp=$(stat -c %Y data.txt)
  echo "data two" >data.txt
  touch -d "@$stamp" data.txt
  expect_normal "produce=ran consume=ran" "same-size rewrite"
  establish "after rewrite"

  printf 'echo "value: $1"\n' >gen.sh
  expect_normal "produce=ran consume=ran" "edited code file"
  establish "after code edit"

  chmod u+x data.txt
  expect_normal "produce=ran consume=cached" "chmod u+x on an input"
  establish "after chmod"

  # A racy write: a run right after a change saves no record, so a
  # same-second same-size rewrite after it is still seen.
  echo "data six" >data.txt
  stamp=$(stat -c %Y data.txt)
  expect_normal "produce=ran consume=ran" "racy write"
  grep -q "no replay record" run.err || fail "racy run saved a record"
  echo "data ten" >data.txt
  touch -d "@$stamp" data.txt
  expect_normal "produce=ran consume=ran" "same-second rewrite"
  establish "after racy writes"

  out=$(json run.json 'd["steps"][0]["outputs"]["out"]')
  blob="$LOCKSTEP_STORE/blobs/sha256/${out:7:2}/${out:7}"
  [[ -f "$blob" ]] || fail "no blob at $blob"
  chmod u+w "$blob"
  rm "$blob"
  expect_normal "produce=ran consume=cached" "deleted output blob"
  establish "after delete"
  chmod u+w "$blob"
  printf 'corrupt' >"$blob"
  expect_normal "produce=ran consume=cached" "corrupted output blob"
  establish "after corruption"

  # A code file's blob (named by the manifest) removed: the normal path,
  # which stores it again.
  code=sha256:$(sha256sum gen.sh | cut -c1-64)
  blob="$LOCKSTEP_STORE/blobs/sha256/${code:7:2}/${code:7}"
  [[ -f "$blob" ]] || fail "no code blob at $blob"
  chmod u+w "$blob"
  rm "$blob"
  expect_normal "produce=cached consume=cached" "deleted code blob"
  [[ -f "$blob" ]] || fail "the normal path did not store gen.sh again"
  expect_replay "code blob restored"

  # An execution's output events gone from the lineage store: the normal
  # lookup misses, so the replay must not report a hit (SQLite only).
  if [[ -z "${LOCKSTEP_METADATA:-}" ]]; then
    key=$(json run.json 'd["steps"][0]["cache_key"]')
    sqlite3 "$LOCKSTEP_STORE/metadata.db" "DELETE FROM events WHERE \
      type = 'output' AND execution_id IN \
      (SELECT id FROM executions WHERE cache_key = '$key')"
    expect_normal "produce=ran consume=cached" "output events gone"
    establish "after output events"
  fi

  if bwrap --unshare-all --ro-bind / / true 2>/dev/null; then
    SANDBOX=bubblewrap expect_normal "produce=ran consume=ran" \
      "other sandbox"
  fi
  establish "back to --sandbox none"

  cp "$LOCKSTEP" lockstep-copy
  LOCKSTEP="$PWD/lockstep-copy" expect_normal \
    "produce=cached consume=cached" "another lockstep binary"
  sleep 1.1
  LOCKSTEP="$PWD/lockstep-copy" establish "copy"
  touch lockstep-copy
  LOCKSTEP="$PWD/lockstep-copy" expect_normal \
    "produce=cached consume=cached" "rebuilt lockstep binary"

  # Steps that must run every time never replay.
  write_pipeline "    always_run: true"
  expect_normal "produce=cached consume=ran" "always_run"
  sleep 2.1
  expect_normal "produce=cached consume=ran" "always_run again"
  grep -q "no replay record" run.err || fail "always_run saved a record"
  write_pipeline "    cache: false"
  sleep 2.1
  expect_normal "produce=cached consume=ran" "cache: false"
  expect_normal "produce=cached consume=ran" "cache: false again"
  write_pipeline ""
  establish "restored pipeline"
  # A params file that can be read only once (a pipe) is read once: the
  # params and the replay fingerprint come from the same bytes.
  expect_normal "produce=ran consume=ran" "params from a pipe" \
    --params <(echo '{"n": 4}')
  sleep 2.1
  expect_normal "produce=cached consume=cached" "params from a pipe, settled" \
    --params <(echo '{"n": 4}')
  expect_replay "params from a pipe: replay" --params <(echo '{"n": 4}')
  expect_normal "produce=cached consume=cached" "other params from a pipe" \
    --params <(echo '{"n": 2}')
  # --explain and --no-cache always take the normal path.
  expect_normal "produce=cached consume=cached" "--explain" --explain
  expect_normal "produce=ran consume=ran" "--no-cache" --no-cache
}

run_scenarios

# The same against PostgreSQL, in a fresh store.
PG_DIR="$TEST_DIR/pg"
URL=$("$LOCKSTEP_SOURCE_DIR/tests/testing/pg_server.sh" start "$PG_DIR")
on_exit '"$LOCKSTEP_SOURCE_DIR/tests/testing/pg_server.sh" stop "$PG_DIR"'
export LOCKSTEP_METADATA="$URL" LOCKSTEP_STORE="$TEST_DIR/.lockstep-pg"
mkdir pgrun && cd pgrun
run_scenarios
echo "pipeline replay: all checks passed"
