#!/usr/bin/env bash
# A pulled run with a for_each step has the lineage it had where it ran:
# the collection reads its iterations' outputs, and a step after it
# reads the collection (found by a tester: the pulled collection read
# nothing, so lineage --up stopped there).
source "$(dirname "$0")/lib.sh"
source "$LOCKSTEP_SOURCE_DIR/tests/e2e/registry_lib.sh"
on_exit stop_registry

export LOCKSTEP_STORE="$TEST_DIR/registry-store"
start_registry

cat >p.yaml <<'YAML'
pipeline: fan
steps:
  sq:
    for_each: [1, 2, 3]
    run: [sh, -c, 'echo ${{ item }} > outputs/o']
    outputs:
      o: Artifact
  use:
    run: [sh, -c, 'ls inputs/all > outputs/r']
    inputs:
      all: sq.o
    outputs:
      r: Artifact
YAML
export LOCKSTEP_STORE="$TEST_DIR/a"
"$LOCKSTEP" run p.yaml --sandbox none --json >run.json 2>/dev/null
run_id=$(json run.json 'd["run_id"]')
expect_exit 0 "$LOCKSTEP" push --insecure "$run_id" "$REGISTRY/fan/run:v1"

# What made use/r, as (execution, port, artifact uri) edges.
edges() {
  "$LOCKSTEP" lineage --up "$run_id/use/r" --json >"$1.json" ||
    fail "lineage in $1"
  json "$1.json" 'sorted((next(e["name"] for e in d["executions"]
    if e["execution_id"] == x["execution_id"]), x["type"], x["port"],
    next(a["uri"] for a in d["artifacts"]
    if a["artifact_id"] == x["artifact_id"])) for x in d["edges"])'
}
ran_here=$(edges a)
expect_contains a.json '"name": "sq[2]"'

# The same pipeline again: every step a cache hit, writing the first
# run's artifacts.
"$LOCKSTEP" run p.yaml --sandbox none --json >again.json 2>/dev/null
again_id=$(json again.json 'd["run_id"]')
expect_eq "$(json again.json '{s["state"] for s in d["steps"]}')" \
  "{'cached'}" "the second run's steps"
expect_exit 0 "$LOCKSTEP" push --insecure "$again_id" "$REGISTRY/fan/run:v2"

# The artifact id each step of a run wrote, by step and port.
written() {
  "$LOCKSTEP" runs show "$1" --json >written.json || fail "runs show $1"
  json written.json '{s["name"] + "." + p: o["uri"] for s in d["steps"]
    for p, o in s["outputs"].items()}'
}
written_here=$(written "$again_id")

export LOCKSTEP_STORE="$TEST_DIR/b"
expect_exit 0 "$LOCKSTEP" pull --insecure "$REGISTRY/fan/run:v1"
expect_eq "$(edges b)" "$ran_here" "the pulled run's lineage"
# Pulled after the run that made them, the cached steps lead back to
# its artifacts, as where they ran (found by a tester).
expect_exit 0 "$LOCKSTEP" pull --insecure "$REGISTRY/fan/run:v2"
expect_eq "$(written "$again_id")" "$written_here" \
  "what the cached steps wrote"
expect_contains written.json "lockstep://runs/$run_id/use/r"
echo "share_run_fan_out_test: ok"
