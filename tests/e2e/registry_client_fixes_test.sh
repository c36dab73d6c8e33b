#!/usr/bin/env bash
# The push/pull client defects a tester found (report brk-K) that want
# the CLI or a TLS server, each with the input that showed it and the
# exact outcome now expected; the others are tested in
# src/registry/client_test.cc.
source "$(dirname "$0")/lib.sh"
source "$LOCKSTEP_SOURCE_DIR/tests/e2e/registry_lib.sh"
on_exit stop_registry

# 3. A 404 for a blob smaller than the registry's error body was "the
# registry sent more than the 8 bytes expected" (exit 4, as for corrupt
# bytes); the answer is BLOB_UNKNOWN, exit 2.
start_registry
printf 'bd-layer' >"$TEST_DIR/bd-layer"
expect_exit 0 "$LOCKSTEP" -q push --insecure "$TEST_DIR/bd-layer" \
  "$REGISTRY/bd/x:v1"
layer="sha256:$(sha bd-layer)"
expect_eq "$(http_status DELETE "http://$REGISTRY/v2/bd/x/blobs/$layer")" \
  202 "blob DELETE"
expect_exit 2 "$LOCKSTEP" --store "$TEST_DIR/fresh" pull --insecure \
  "$REGISTRY/bd/x:v1"
expect_contains "$TEST_DIR/stderr.txt" \
  "lockstep: error: GET http://$REGISTRY/v2/bd/x/blobs/$layer answered \
HTTP 404 BLOB_UNKNOWN: "

echo PASS
