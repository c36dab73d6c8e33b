#!/usr/bin/env bash
# `registry serve` on a full disk (brk-P finding 8): a 500 was logged
# nowhere, even with -v, and its body named the server's temporary file.
source "$(dirname "$0")/lib.sh"
source "$LOCKSTEP_SOURCE_DIR/tests/e2e/registry_lib.sh"
on_exit stop_registry

small_disk "$TEST_DIR/disk" 4m
S="$TEST_DIR/disk/store"
start_registry --store "$S" -v
fill_disk "$TEST_DIR/disk" 100000
base="http://$REGISTRY/v2"

expect_eq "$(http_status POST "$base/x/y/blobs/uploads/")" 202 "start"
upload=$(header Location)
head -c 1000000 /dev/urandom >"$TEST_DIR/chunk"
expect_eq "$(http_status PATCH "http://$REGISTRY$upload" \
  -H 'Content-Type: application/octet-stream' \
  --data-binary "@$TEST_DIR/chunk")" 500 "a chunk on a full disk"
expect_eq "$(cat "$TEST_DIR/body.txt")" '{"errors":[{"code":"UNKNOWN",'\
'"detail":{},"message":"the registry'"'"'s disk is full"}]}' \
  "the 500 says the disk is full and names no server path"
stop_registry
grep '^lockstep: error:' "$TEST_DIR/registry.log" >"$TEST_DIR/errors.txt" ||
  true
expect_eq "$(sed -E 's/upload-[0-9a-f]+\.tmp/upload-ID.tmp/' \
  "$TEST_DIR/errors.txt")" "lockstep: error: registry: PATCH $upload: 500 \
UNKNOWN: $S/tmp/upload-ID.tmp: No space left on device" \
  "the server logs the 500 and its cause"
echo "registry full disk: ok"
