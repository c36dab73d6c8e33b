#!/usr/bin/env bash
# Sharing a run through an OCI registry: a run with a snapshot input and a
# Model output is pushed from store A, pulled into an empty store B in
# another folder, and reproduced there with the registry stopped. The
# model is an artifact of its own and the referrers API lists the run for
# it; the snapshot is re-registered in B.
source "$(dirname "$0")/lib.sh"
source "$LOCKSTEP_SOURCE_DIR/tests/e2e/registry_lib.sh"
on_exit stop_registry

export LOCKSTEP_STORE="$TEST_DIR/registry-store"
start_registry

# Store A: a snapshot and a run that reads it and writes a model.
mkdir -p "$TEST_DIR/a" && cd "$TEST_DIR/a"
export LOCKSTEP_STORE="$TEST_DIR/a/.lockstep"
printf 'x\n3\n1\n2\n' >train.csv
"$LOCKSTEP" data snapshot train.csv --name train -q
cat >pipeline.yaml <<'YAML'
pipeline: share-demo
steps:
  train:
    run: [sh, -c, 'sort inputs/data >outputs/model; printf "{\"rows\": %s}" $(wc -l <inputs/data) >outputs/score']
    inputs:
      data: train@1
    outputs:
      model: Model
      score: Metrics
YAML
"$LOCKSTEP" run pipeline.yaml --json >run.json 2>/dev/null
run_id=$(json run.json 'd["run_id"]')
manifest_a=$(json run.json 'd["manifest"]')

expect_exit 0 "$LOCKSTEP" push --json --insecure "$run_id" \
  "$REGISTRY/team/share:run1"
cp "$TEST_DIR/stdout.txt" push.json
expect_eq "$(json push.json 'd["kind"]')" run "pushed kind"
run_digest=$(json push.json 'd["digest"]')
model_digest=$(json push.json 'd["models"][0]["digest"]')
expect_eq "$(json push.json 'd["models"][0]["reference"]')" \
  "$REGISTRY/team/share:run1-model" "model tag"

# Found by a tester: a 125-character tag uploaded everything and then
# failed, since the model's tag (TAG-model) is longer than 128.
long_tag=$(printf 't%.0s' $(seq 1 125))
expect_exit 3 "$LOCKSTEP" push --insecure "$run_id" \
  "$REGISTRY/team/long:$long_tag"
expect_contains "$TEST_DIR/stderr.txt" \
  "error: the run's model would be tagged $long_tag-model, longer than a \
tag may be (128 characters)"
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' \
  "http://$REGISTRY/v2/team/long/tags/list")" 404 "nothing uploaded"

# The run artifact, as any OCI client sees it.
curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
  "http://$REGISTRY/v2/team/share/manifests/run1" >run-manifest.json
expect_eq "sha256:$(sha256sum <run-manifest.json | cut -d' ' -f1)" \
  "$run_digest" "run manifest digest"
expect_eq "$(json run-manifest.json 'd["artifactType"]')" \
  application/vnd.lockstep.run.v1+json "artifactType"
expect_eq "$(json run-manifest.json 'd["subject"]["digest"]')" \
  "$model_digest" "subject is the model"
expect_eq "$(json run-manifest.json 'd["layers"][0]["mediaType"]')" \
  application/vnd.lockstep.manifest.v1+json "first layer"
expect_eq "$(json run-manifest.json 'd["layers"][0]["digest"]')" \
  "sha256:$(sha256sum <"$manifest_a" | cut -d' ' -f1)" "manifest layer"
titles=$(json run-manifest.json \
  '" ".join(l["annotations"]["org.opencontainers.image.title"] for l in d["layers"])')
for want in manifest.json pipeline.yaml data/train@1 train/model \
    train/score data/train@1.json; do
  [[ " $titles " == *" $want "* ]] || fail "layer $want missing: $titles"
done
model_layer=$(json run-manifest.json \
  '[l["digest"] for l in d["layers"] if l["annotations"]["org.opencontainers.image.title"] == "train/model"][0]')
expect_eq "$model_layer" "sha256:$(printf '1\n2\n3\nx\n' | sha256sum | cut -d' ' -f1)" \
  "model bytes"

# The referrers API lists the run for the model.
curl -sf "http://$REGISTRY/v2/team/share/referrers/$model_digest" \
  >referrers.json
expect_eq "$(json referrers.json '[m["digest"] for m in d["manifests"]]')" \
  "['$run_digest']" "referrers of the model"
expect_eq "$(json referrers.json 'd["manifests"][0]["artifactType"]')" \
  application/vnd.lockstep.run.v1+json "referrer artifactType"

# A second push sends nothing new.
expect_exit 0 "$LOCKSTEP" push --json --insecure "$run_id" \
  "$REGISTRY/team/share:run1"
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["uploaded"]')" 0 "re-push uploads"

# Store B, elsewhere, empty: pull, then stop the registry.
mkdir -p "$TEST_DIR/b" && cd "$TEST_DIR/b"
export LOCKSTEP_STORE="$TEST_DIR/b/.lockstep"
expect_exit 0 "$LOCKSTEP" pull --json --insecure "$REGISTRY/team/share:run1"
cp "$TEST_DIR/stdout.txt" pull.json
expect_eq "$(json pull.json 'd["kind"]')" run "pulled kind"
expect_eq "$(json pull.json 'd["run"]')" "$run_id" "pulled run"
expect_eq "$(json pull.json 'd["snapshots"]')" "['train@1']" "snapshots"
expect_eq "$(json pull.json 'd["missing"]')" "[]" "missing blobs"
manifest_b=$(json pull.json 'd["manifest"]')
expect_eq "$manifest_b" "$TEST_DIR/b/.lockstep/runs/$run_id/manifest.json" \
  "manifest path"
cmp "$manifest_a" "$manifest_b" || fail "manifest bytes differ"
stop_registry

expect_exit 0 "$LOCKSTEP" runs list --json
expect_eq "$(json "$TEST_DIR/stdout.txt" '[r["run_id"] for r in d["runs"]]')" \
  "['$run_id']" "runs in B"
# Its steps are in B's lineage, as the manifest records them (they were
# missing: runs show listed none). The model's producer is the step; the
# data it read is the snapshot B registered.
expect_exit 0 "$LOCKSTEP" runs show "$run_id" --json
cp "$TEST_DIR/stdout.txt" show.json
expect_eq "$(json show.json '[(s["name"], s["state"]) for s in d["steps"]]')" \
  "[('train', 'complete')]" "pulled steps"
expect_eq "$(json show.json 'd["steps"][0]["outputs"]["model"]["digest"]')" \
  "$model_layer" "pulled step's model"
expect_eq "$(json show.json 'd["steps"][0]["inputs"]["data"]["digest"]')" \
  "$(json "$manifest_a" 'd["data"][0]["digest"]')" "pulled step's data"
expect_exit 0 "$LOCKSTEP" data show train@1 --json
expect_eq "$(json show.json 'd["steps"][0]["inputs"]["data"]["artifact_id"]')" \
  "$(json "$TEST_DIR/stdout.txt" 'd["artifact_id"]')" "data is the snapshot"
expect_exit 0 "$LOCKSTEP" lineage --up "$run_id/train/model"
expect_contains "$TEST_DIR/stdout.txt" "train [command] complete"
# A pulled key is no cache entry: a registry can hand over any manifest.
# The same step, same key, runs in B.
pulled_key=$(json "$manifest_a" 'd["steps"][0]["cache_key"]')
expect_eq "$(json show.json 'd["steps"][0]["cache_key"]')" "$pulled_key" \
  "the recorded key"
expect_eq "$(json show.json 'd["steps"][0]["pulled"]')" True "pulled step"
cp "$TEST_DIR/a/pipeline.yaml" .
"$LOCKSTEP" run pipeline.yaml --json --explain >rerun.json 2>/dev/null
expect_eq "$(json rerun.json 'd["steps"][0]["state"]')" ran "not cached"
# --explain does not compare against the pulled step, which has no key
# parts (every part read as changed; found by a tester).
expect_eq "$(json rerun.json 'd["steps"][0]["explain"]')" \
  "['no earlier execution of this step']" "explained"
rerun_manifest=$(json rerun.json 'd["manifest"]')
expect_eq "$(json "$rerun_manifest" 'd["steps"][0]["cache_key"]')" \
  "$pulled_key" "same key as the pulled step"
# diff compares the keys the steps ran under, and the metrics: they
# match (the pulled step's key read as empty, and its metrics as none).
expect_exit 0 "$LOCKSTEP" diff "$run_id" "$(json rerun.json 'd["run_id"]')"
expect_contains "$TEST_DIR/stdout.txt" "the runs match"
grep -q "^  train.score.rows  *4  *4$" "$TEST_DIR/stdout.txt" ||
  fail "diff shows no metrics"

expect_exit 0 "$LOCKSTEP" reproduce "$run_id" --json
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["reproduced"]')" True "reproduced"
expect_exit 0 "$LOCKSTEP" data verify train@1
expect_exit 0 "$LOCKSTEP" manifest verify "$manifest_b"

# Pulling again (registry back) is idempotent.
export LOCKSTEP_STORE="$TEST_DIR/registry-store"
start_registry
export LOCKSTEP_STORE="$TEST_DIR/b/.lockstep"
# The new registry has a new port and an empty repository: push from A.
LOCKSTEP_STORE="$TEST_DIR/a/.lockstep" "$LOCKSTEP" push --insecure -q \
  "$run_id" "$REGISTRY/team/share:run1" >/dev/null
expect_exit 0 "$LOCKSTEP" pull --json --insecure "$REGISTRY/team/share:run1"
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["run"]')" "$run_id" "re-pull"
expect_exit 0 "$LOCKSTEP" runs show "$run_id" --json
expect_eq "$(json "$TEST_DIR/stdout.txt" 'len(d["steps"])')" 1 \
  "steps after a re-pull"

# The model pulled on its own is a Model, naming its run and output (it
# was a plain File; found by a tester).
export LOCKSTEP_STORE="$TEST_DIR/c/.lockstep"
expect_exit 0 "$LOCKSTEP" pull --insecure "$REGISTRY/team/share:run1-model"
expect_exit 0 "$LOCKSTEP" lineage "$model_layer" --json
expect_eq "$(json "$TEST_DIR/stdout.txt" '[(a["type"], a["digest"])
  for a in d["artifacts"]]')" "[('Model', '$model_layer')]" "pulled model"
expect_contains "$TEST_DIR/stdout.txt" "\"lockstep.run\": \"$run_id\""
expect_contains "$TEST_DIR/stdout.txt" "\"lockstep.output\": \"train/model\""
export LOCKSTEP_STORE="$TEST_DIR/b/.lockstep"

# An unknown source is a clear error, not a file push.
expect_exit 2 "$LOCKSTEP" push --insecure no-such-run "$REGISTRY/team/x:1"
expect_contains "$TEST_DIR/stderr.txt" "is not a file, run, snapshot"
echo "share_run_test: ok"
