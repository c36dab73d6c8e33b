#!/usr/bin/env bash
# `lockstep registry serve --read-only`: every write (upload POST, PATCH
# and PUT, mount, manifest PUT, blob, manifest and upload DELETE) is
# refused with 405 UNSUPPORTED and `Allow: GET, HEAD`, as distribution's
# read-only mode answers, and changes nothing; every read still works.
source "$(dirname "$0")/lib.sh"
source "$LOCKSTEP_SOURCE_DIR/tests/e2e/registry_lib.sh"
on_exit stop_registry

# Fill the store through a writable server first.
start_registry
digest=$(make_oci_layout "$TEST_DIR/src" v1 2)
skopeo copy -q --dest-tls-verify=false \
  "oci:$TEST_DIR/src:v1" "docker://$REGISTRY/demo/app:v1"
stop_registry

start_registry --read-only
base="http://$REGISTRY/v2"
layer=$(json "$TEST_DIR/src/blobs/sha256/${digest#sha256:}" \
  'd["layers"][0]["digest"]')
store_before=$(find "$LOCKSTEP_STORE/blobs" -type f | sort)
new="sha256:$(printf 'new bytes' | sha256sum | cut -d' ' -f1)"

# expect_refused WHAT METHOD URL [curl args]
expect_refused() {
  local what=$1
  shift
  expect_eq "$(http_status "$@")" 405 "$what"
  expect_contains "$TEST_DIR/body.txt" '"code":"UNSUPPORTED"'
  expect_eq "$(header Allow)" "GET, HEAD" "$what: Allow"
}
expect_refused "upload POST" POST "$base/demo/app/blobs/uploads/"
expect_refused "single POST" POST "$base/demo/app/blobs/uploads/?digest=$new" \
  --data-binary 'new bytes' -H 'Content-Type: application/octet-stream'
expect_refused "mount" POST \
  "$base/other/blobs/uploads/?mount=$layer&from=demo/app"
expect_refused "PATCH" PATCH "$base/demo/app/blobs/uploads/0123abcd" \
  -H 'Content-Range: 0-8' --data-binary 'new bytes'
expect_refused "closing PUT" PUT \
  "$base/demo/app/blobs/uploads/0123abcd?digest=$new" --data-binary 'new bytes'
expect_refused "manifest PUT" PUT "$base/demo/app/manifests/v2" \
  -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
  --data-binary "@$TEST_DIR/src/blobs/sha256/${digest#sha256:}"
expect_refused "manifest DELETE" DELETE "$base/demo/app/manifests/$digest"
expect_refused "tag DELETE" DELETE "$base/demo/app/manifests/v1"
expect_refused "blob DELETE" DELETE "$base/demo/app/blobs/$layer"
expect_refused "upload DELETE" DELETE "$base/demo/app/blobs/uploads/0123abcd"

# skopeo cannot push either, and says why.
make_oci_layout "$TEST_DIR/other" v1 1 >/dev/null
expect_exit 1 skopeo copy -q --dest-tls-verify=false \
  "oci:$TEST_DIR/other:v1" "docker://$REGISTRY/demo/other:v1"

# Nothing changed.
expect_eq "$(find "$LOCKSTEP_STORE/blobs" -type f | sort)" "$store_before" \
  "store after refused writes"
expect_eq "$(http_status GET "$base/demo/app/tags/list")" 200 "tags/list"
expect_eq "$(json "$TEST_DIR/body.txt" 'd["tags"]')" "['v1']" "tags"
http_status GET "$base/_catalog" >/dev/null
expect_eq "$(json "$TEST_DIR/body.txt" 'd["repositories"]')" "['demo/app']" \
  "catalog"

# Reads work: manifest by tag and digest, blob HEAD, GET and Range GET.
expect_eq "$(http_status GET "$base/demo/app/manifests/v1" \
  -H 'Accept: application/vnd.oci.image.manifest.v1+json')" 200 "GET manifest"
expect_eq "$(header Docker-Content-Digest)" "$digest" "manifest digest"
expect_eq "$(http_status HEAD "$base/demo/app/manifests/$digest")" 200 \
  "HEAD manifest"
expect_eq "$(http_status HEAD "$base/demo/app/blobs/$layer")" 200 "HEAD blob"
expect_eq "$(http_status GET "$base/demo/app/blobs/$layer")" 200 "GET blob"
cmp "$TEST_DIR/body.txt" "$TEST_DIR/src/blobs/sha256/${layer#sha256:}" ||
  fail "blob bytes differ"
skopeo copy -q --src-tls-verify=false \
  "docker://$REGISTRY/demo/app@$digest" "oci:$TEST_DIR/back:v1"
for blob in "$TEST_DIR"/src/blobs/sha256/*; do
  cmp "$blob" "$TEST_DIR/back/blobs/sha256/$(basename "$blob")" ||
    fail "pulled blob $(basename "$blob") differs"
done
echo PASS
