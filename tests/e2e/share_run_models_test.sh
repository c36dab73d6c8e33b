#!/usr/bin/env bash
# `push RUN` gives every Model output a TAG-model artifact of its own, in
# step order, even when its bytes equal another blob the run needs. A
# tester found that a Model equal to an input, or to an earlier Model,
# got none: the models were picked from a list that names each blob once.
source "$(dirname "$0")/lib.sh"
source "$LOCKSTEP_SOURCE_DIR/tests/e2e/registry_lib.sh"
on_exit stop_registry

export LOCKSTEP_STORE="$TEST_DIR/registry-store"
start_registry

mkdir -p "$TEST_DIR/a" && cd "$TEST_DIR/a"
export LOCKSTEP_STORE="$TEST_DIR/a/.lockstep"
printf 'weights\n' >w.txt
"$LOCKSTEP" data snapshot w.txt --name w -q
# a equals the input, b equals a, c is its own.
cat >pipeline.yaml <<'YAML'
pipeline: models
steps:
  train:
    run:
      - sh
      - -c
      - cp inputs/w outputs/a; cp inputs/w outputs/b; echo other >outputs/c
    inputs:
      w: w@1
    outputs:
      a: Model
      b: Model
      c: Model
YAML
"$LOCKSTEP" run pipeline.yaml --json >run.json 2>/dev/null
run_id=$(json run.json 'd["run_id"]')

expect_exit 0 "$LOCKSTEP" push --json --insecure "$run_id" \
  "$REGISTRY/m/run:r1"
cp "$TEST_DIR/stdout.txt" push.json
expect_eq "$(json push.json '[m["reference"] for m in d["models"]]')" \
  "['$REGISTRY/m/run:r1-model', '$REGISTRY/m/run:r1-model-2', \
'$REGISTRY/m/run:r1-model-3']" "one model artifact per Model output"
expect_eq "$(json push.json 'len({m["digest"] for m in d["models"]})')" 3 \
  "three distinct model manifests"
curl -sf "http://$REGISTRY/v2/m/run/tags/list" >tags.json
expect_eq "$(json tags.json 'sorted(d["tags"])')" \
  "['r1', 'r1-model', 'r1-model-2', 'r1-model-3']" "tags"

# Each artifact holds its output's bytes and names the output.
weights="sha256:$(printf 'weights\n' | sha256sum | cut -d' ' -f1)"
other="sha256:$(printf 'other\n' | sha256sum | cut -d' ' -f1)"
i=0
for want in "a $weights" "b $weights" "c $other"; do
  read -r output digest <<<"$want"
  tag=r1-model$([[ $i == 0 ]] || echo "-$((i + 1))")
  curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://$REGISTRY/v2/m/run/manifests/$tag" >model.json
  expect_eq "$(json model.json 'd["annotations"]["lockstep.output"]')" \
    "train/$output" "output of $tag"
  expect_eq "$(json model.json '[l["digest"] for l in d["layers"]]')" \
    "['$digest']" "bytes of $tag"
  i=$((i + 1))
done

# The referrers API lists a run artifact for every model.
for k in 0 1 2; do
  model_digest=$(json push.json "d[\"models\"][$k][\"digest\"]")
  curl -sf "http://$REGISTRY/v2/m/run/referrers/$model_digest" >refs.json
  expect_eq "$(json refs.json \
    '[m["artifactType"] for m in d["manifests"]]')" \
    "['application/vnd.lockstep.run.v1+json']" "referrers of model $k"
done
echo "share_run_models_test: ok"
