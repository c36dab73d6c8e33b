#!/usr/bin/env bash
# The registry defects a tester found (push/pull, serve, cleanup), each
# with the input that showed it and the exact outcome now expected.
source "$(dirname "$0")/lib.sh"
source "$LOCKSTEP_SOURCE_DIR/tests/e2e/registry_lib.sh"
on_exit stop_registry

start_registry
base="http://$REGISTRY/v2"
echo hello >"$TEST_DIR/f.txt"
expect_exit 0 "$LOCKSTEP" -q push "$TEST_DIR/f.txt" "$REGISTRY/r/x:v1" \
  --insecure

# 1. A misspelt condition key ("tagstate") was ignored, so the Delete
# policy matched every tag; twice, since the first cleanup is a dry run.
printf '[{"name":"drop-untagged","action":{"type":"Delete"},\n%s\n' \
  ' "condition":{"tagstate":"untagged"}}]' >"$TEST_DIR/p.json"
for _ in 1 2; do
  expect_exit 3 "$LOCKSTEP" cleanup --policy "$TEST_DIR/p.json"
  expect_contains "$TEST_DIR/stderr.txt" \
    'p.json:2:15: unknown key "tagstate" in [0].condition (known: tagState,'
done
expect_eq "$(http_status GET "$base/r/x/tags/list")" 200 "tags list"
expect_contains "$TEST_DIR/body.txt" '"tags":["v1"]'

# 2. A second server on a port in use started too (httplib's default
# SO_REUSEPORT), and the kernel split clients between two stores.
expect_exit 6 "$LOCKSTEP" --store "$TEST_DIR/other" registry serve \
  --listen "$REGISTRY"
expect_contains "$TEST_DIR/stderr.txt" \
  "error: cannot listen on $REGISTRY: Address already in use"
for _ in 1 2 3 4 5 6; do
  expect_eq "$(http_status GET "$base/r/x/tags/list")" 200 \
    "tags list with a second server tried"
done

echo PASS
