#!/usr/bin/env bash
# `lockstep push` and `lockstep pull` against `lockstep registry serve`
# with the token flow and credentials from a Docker config file: files
# become layers of an OCI artifact, blobs the registry has are skipped,
# a mount is counted only on 201, small chunks upload in many PATCHes,
# and a pull into a fresh store verifies every digest (a corrupted blob
# on the registry is refused with exit code 4).
source "$(dirname "$0")/lib.sh"
source "$LOCKSTEP_SOURCE_DIR/tests/e2e/registry_lib.sh"
on_exit stop_registry

htpasswd -cbB "$TEST_DIR/users" ana 'ana secret' 2>/dev/null
export LOCKSTEP_STORE="$TEST_DIR/server-store"
start_registry --htpasswd "$TEST_DIR/users" --auth token
export DOCKER_CONFIG="$TEST_DIR/docker"
mkdir -p "$DOCKER_CONFIG"
printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$REGISTRY" \
  "$(printf 'ana:ana secret' | base64)" >"$DOCKER_CONFIG/config.json"

export LOCKSTEP_STORE="$TEST_DIR/client-store"
head -c 100000 /dev/urandom >"$TEST_DIR/model.bin"
echo '{"accuracy": 0.93}' >"$TEST_DIR/metrics.json"
expect_exit 0 "$LOCKSTEP" push --json --insecure --chunk-size 16384 \
  --artifact-type application/vnd.lockstep.model.v1 \
  "$TEST_DIR/model.bin" "$TEST_DIR/metrics.json" "$REGISTRY/models/m:v1"
digest=$(json "$TEST_DIR/stdout.txt" 'd["digest"]')
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["uploaded"]')" 3 "uploaded"

# The registry has exactly what was pushed.
expect_eq "$(http_status GET "http://$REGISTRY/v2/models/m/manifests/v1")" \
  401 "manifest without a token"
expect_exit 0 skopeo inspect --raw --tls-verify=false \
  --authfile "$DOCKER_CONFIG/config.json" "docker://$REGISTRY/models/m:v1"
expect_eq "$(sha256sum <"$TEST_DIR/stdout.txt" | cut -d' ' -f1)" \
  "${digest#sha256:}" "manifest digest"
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["artifactType"]')" \
  application/vnd.lockstep.model.v1 "artifactType"
expect_eq "$(json "$TEST_DIR/stdout.txt" \
  '[l["annotations"]["org.opencontainers.image.title"] for l in d["layers"]]')" \
  "['model.bin', 'metrics.json']" "layer titles"

# Again: everything is skipped. To another repository: mounted.
expect_exit 0 "$LOCKSTEP" push --json --insecure \
  "$TEST_DIR/model.bin" "$TEST_DIR/metrics.json" "$REGISTRY/models/m:v2"
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["skipped"]')" 3 "skipped"
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["uploaded"]')" 0 "re-uploaded"
expect_exit 0 "$LOCKSTEP" push --json --insecure --mount-from models/m \
  "$TEST_DIR/model.bin" "$TEST_DIR/metrics.json" "$REGISTRY/models/copy:v1"
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["mounted"]')" 3 "mounted"
# A mount from a repository without the blob falls back to uploading.
echo "only here" >"$TEST_DIR/new.txt"
expect_exit 0 "$LOCKSTEP" push --json --insecure --mount-from models/m \
  "$TEST_DIR/new.txt" "$REGISTRY/models/other:v1"
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["mounted"]')" 1 "mounted (the config)"
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["uploaded"]')" 1 "uploaded new"

# A run manifest attached as a referrer of the model.
echo '{"run": "train-1"}' >"$TEST_DIR/run.json"
expect_exit 0 "$LOCKSTEP" push --json --insecure --subject "$digest" \
  --artifact-type application/vnd.lockstep.run.v1 \
  "$TEST_DIR/run.json" "$REGISTRY/models/m:run-1"
run_digest=$(json "$TEST_DIR/stdout.txt" 'd["digest"]')
token=$(curl -s -u 'ana:ana secret' \
  "http://$REGISTRY/token?service=lockstep&scope=repository:models/m:pull" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
expect_eq "$(http_status GET \
  "http://$REGISTRY/v2/models/m/referrers/$digest?artifactType=application/vnd.lockstep.run.v1" \
  -H "Authorization: Bearer $token")" 200 "referrers"
expect_eq "$(json "$TEST_DIR/body.txt" '[m["digest"] for m in d["manifests"]]')" \
  "['$run_digest']" "the run is a referrer of the model"

# Pull into a fresh store, by tag and by digest.
export LOCKSTEP_STORE="$TEST_DIR/pull-store"
expect_exit 0 "$LOCKSTEP" pull --json --insecure "$REGISTRY/models/m:v1" \
  --output "$TEST_DIR/out"
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["digest"]')" "$digest" "pulled"
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["downloaded"]')" 3 "downloaded"
cmp "$TEST_DIR/model.bin" "$TEST_DIR/out/model.bin" || fail "model differs"
cmp "$TEST_DIR/metrics.json" "$TEST_DIR/out/metrics.json" ||
  fail "metrics differ"
expect_exit 0 "$LOCKSTEP" pull --json --insecure "$REGISTRY/models/m@$digest"
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["alreadyPresent"]')" 3 "present"

# A blob corrupted on the registry is refused: nothing partial is kept.
model=$(sha256sum <"$TEST_DIR/model.bin" | cut -d' ' -f1)
served="$TEST_DIR/server-store/blobs/sha256/${model:0:2}/$model"
chmod u+w "$served"
printf 'X' | dd of="$served" bs=1 seek=10 conv=notrunc 2>/dev/null
export LOCKSTEP_STORE="$TEST_DIR/fresh-store"
expect_exit 4 "$LOCKSTEP" pull --insecure "$REGISTRY/models/m:v1"
expect_contains "$TEST_DIR/stderr.txt" "not the expected sha256:$model"
[[ ! -e "$TEST_DIR/fresh-store/blobs/sha256/${model:0:2}/$model" ]] ||
  fail "a corrupt blob was stored"
# ... and the store that failed pull made is gone with it: a failed pull
# left a new, empty store behind.
[[ ! -e "$TEST_DIR/fresh-store" ]] || fail "a failed pull left its store"
# A store that was there before stays, whatever the pull did.
export LOCKSTEP_STORE="$TEST_DIR/pull-store"
expect_exit 2 "$LOCKSTEP" pull --insecure "$REGISTRY/models/m:nope"
[[ -d "$TEST_DIR/pull-store/blobs" ]] || fail "a failed pull removed a store"
echo PASS
