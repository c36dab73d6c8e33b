#!/usr/bin/env bash
# The push/pull client defects a tester found (report brk-K) that want
# the CLI or a TLS server, each with the input that showed it and the
# exact outcome now expected; the others are tested in
# src/registry/client_test.cc.
source "$(dirname "$0")/lib.sh"
source "$LOCKSTEP_SOURCE_DIR/tests/e2e/registry_lib.sh"
on_exit stop_registry
on_exit stop_offload

stop_offload() {
  if [[ -n "${OFFLOAD_PID:-}" ]]; then
    kill "$OFFLOAD_PID" 2>/dev/null || true
    wait "$OFFLOAD_PID" 2>/dev/null || true
    OFFLOAD_PID=
  fi
}

# 1. A registry over https whose upload Location, and blob redirect, name
# a storage server over plain http: refused (exit 6, a registry breaking
# the protocol) before the storage gets a byte or the login. --insecure
# only turns certificate checks off; it allows no downgrade.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$TEST_DIR/key.pem" \
  -out "$TEST_DIR/cert.pem" 2>/dev/null
python3 "$LOCKSTEP_SOURCE_DIR/tests/e2e/offload_registry.py" \
  "$TEST_DIR/offload.ports" "$TEST_DIR/cert.pem" "$TEST_DIR/key.pem" \
  "$TEST_DIR/storage.log" &
OFFLOAD_PID=$!
wait_for "$TEST_DIR/offload.ports"
read -r registry_port storage_port <"$TEST_DIR/offload.ports"
OFFLOAD="127.0.0.1:$registry_port"
export DOCKER_CONFIG="$TEST_DIR/docker"
mkdir -p "$DOCKER_CONFIG"
printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$OFFLOAD" \
  "$(printf 'u:p' | base64)" >"$DOCKER_CONFIG/config.json"
touch "$TEST_DIR/storage.log"

echo hello >"$TEST_DIR/f.txt"
expect_exit 6 "$LOCKSTEP" push --insecure "$TEST_DIR/f.txt" \
  "https://$OFFLOAD/x/y:v1"
expect_contains "$TEST_DIR/stderr.txt" \
  "lockstep: error: POST https://$OFFLOAD/v2/x/y/blobs/uploads/ answered \
with Location http://127.0.0.1:$storage_port/up/1, which leaves https for \
plain http; refused"
blob="sha256:$(sha '{}')"  # The config, fetched first.
expect_exit 6 "$LOCKSTEP" --store "$TEST_DIR/puller" pull --insecure \
  "https://$OFFLOAD/x/y:v1"
expect_contains "$TEST_DIR/stderr.txt" \
  "lockstep: error: GET https://$OFFLOAD/v2/x/y/blobs/$blob answered with \
Location http://127.0.0.1:$storage_port/blobs/$blob, which leaves https \
for plain http; refused"
expect_eq "$(cat "$TEST_DIR/storage.log")" "" "requests the storage got"
stop_offload
unset DOCKER_CONFIG

# 3. A 404 for a blob smaller than the registry's error body was "the
# registry sent more than the 8 bytes expected" (exit 4, as for corrupt
# bytes); the answer is BLOB_UNKNOWN, exit 2.
start_registry
printf 'bd-layer' >"$TEST_DIR/bd-layer"
expect_exit 0 "$LOCKSTEP" -q push --insecure "$TEST_DIR/bd-layer" \
  "$REGISTRY/bd/x:v1"
layer="sha256:$(sha bd-layer)"
# The tester deleted the layer; the registry now refuses that while v1
# uses it (registry_delete_referenced_test.sh), so it is unlinked by
# hand, as an older server's DELETE did.
sqlite3 "$LOCKSTEP_STORE/registry/index.db" \
  "DELETE FROM blob_links WHERE repository = 'bd/x' AND digest = '$layer'"
expect_eq "$(http_status HEAD "http://$REGISTRY/v2/bd/x/blobs/$layer")" \
  404 "the layer, gone from bd/x"
expect_exit 2 "$LOCKSTEP" --store "$TEST_DIR/fresh" pull --insecure \
  "$REGISTRY/bd/x:v1"
expect_contains "$TEST_DIR/stderr.txt" \
  "lockstep: error: GET http://$REGISTRY/v2/bd/x/blobs/$layer answered \
HTTP 404 BLOB_UNKNOWN: "

# 10. `pull --output` of an index wrote no file and said nothing (exit
# 0). An index has no files of its own: refused (exit 3), naming the
# manifests it lists, before anything is registered or written.
expect_exit 0 "$LOCKSTEP" -q push --insecure "$TEST_DIR/f.txt" \
  "$REGISTRY/r/x:one"
expect_eq "$(http_status GET "http://$REGISTRY/v2/r/x/manifests/one" \
  -H 'Accept: application/vnd.oci.image.manifest.v1+json')" 200 "manifest"
child="sha256:$(sha256sum <"$TEST_DIR/body.txt" | cut -d' ' -f1)"
size=$(wc -c <"$TEST_DIR/body.txt")
index_type=application/vnd.oci.image.index.v1+json
printf '{"schemaVersion":2,"mediaType":"%s","manifests":[%s]}' \
  "$index_type" "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\
\"digest\":\"$child\",\"size\":$size,\"platform\":{\"os\":\"linux\",\
\"architecture\":\"arm64\",\"variant\":\"v8\"}}" >"$TEST_DIR/index.json"
expect_eq "$(http_status PUT "http://$REGISTRY/v2/r/x/manifests/idx" \
  -H "Content-Type: $index_type" --data-binary "@$TEST_DIR/index.json")" \
  201 "index PUT"
expect_exit 3 "$LOCKSTEP" --store "$TEST_DIR/cs" pull --insecure \
  "$REGISTRY/r/x:idx" --output "$TEST_DIR/out"
expect_contains "$TEST_DIR/stderr.txt" \
  "lockstep: error: --output: $REGISTRY/r/x:idx is an image index, which \
has no files of its own (--output writes those of one manifest); pull one \
of the 1 it lists with --output: $REGISTRY/r/x@$child (linux/arm64/v8); \
nothing was registered or written"
expect_eq "$(ls -A "$TEST_DIR/out" 2>/dev/null)" "" "files written"
# As it says: the manifest it lists writes its file.
expect_exit 0 "$LOCKSTEP" --store "$TEST_DIR/cs" --json pull --insecure \
  "$REGISTRY/r/x@$child" --output "$TEST_DIR/out"
expect_eq "$(cat "$TEST_DIR/out/f.txt")" hello "file written"
# Without --output, the index is pulled as before.
expect_exit 0 "$LOCKSTEP" --store "$TEST_DIR/cs" pull --insecure \
  "$REGISTRY/r/x:idx"
echo PASS
