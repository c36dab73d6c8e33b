#!/usr/bin/env bash
# Registry defects a tester found on the wire, one section each, with the
# requests that showed them and the exact answers now expected.
source "$(dirname "$0")/lib.sh"
source "$LOCKSTEP_SOURCE_DIR/tests/e2e/registry_lib.sh"
on_exit stop_registry

start_registry
base="http://$REGISTRY/v2"

# --- A chunked PATCH is held to its Content-Range once its body is read,
# as one with a Content-Length is before: 416, the upload unchanged.
http_status POST "$base/tc/x/blobs/uploads/" >/dev/null
upload="http://$REGISTRY$(header Location)"
# patch_chunked RANGE BYTES: a PATCH whose body is sent chunked.
patch_chunked() {
  printf '%s' "$2" >chunk.bin
  http_status PATCH "$upload" -H "Content-Range: $1" \
    -H 'Transfer-Encoding: chunked' --data-binary @chunk.bin
}
expect_eq "$(patch_chunked 0-1 ab)" 202 "a chunk as long as its range"
expect_eq "$(patch_chunked 2-6 123)" 416 "a body shorter than its range"
expect_eq "$(json body.txt 'd["errors"][0]["message"]')" \
  "Content-Range 2-6 covers 5 bytes but the body had 3; the upload is \
unchanged" "what was wrong"
expect_eq "$(header Range)" 0-1 "the Range is still the upload's"
expect_eq "$(patch_chunked 2-4 1234567)" 416 "a body longer than its range"
expect_eq "$(header Range)" 0-1 "unchanged again"
expect_eq "$(patch_chunked 5-7 xyz)" 416 "a chunk that starts elsewhere"
expect_eq "$(json body.txt 'd["errors"][0]["message"]')" \
  "chunk starts at 5 but the upload has 2 bytes" "checked before the body"
expect_eq "$(patch_chunked 2-3 cd)" 202 "the right chunk after them"
expect_eq "$(http_status PUT "$upload?digest=sha256:$(sha abcd)")" 201 \
  "the blob is exactly its chunks"

echo PASS
