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

export LOCKSTEP_STORE="$TEST_DIR/b"
expect_exit 0 "$LOCKSTEP" pull --insecure "$REGISTRY/fan/run:v1"
expect_eq "$(edges b)" "$ran_here" "the pulled run's lineage"
echo "share_run_fan_out_test: ok"
