#!/usr/bin/env bash
# skopeo copies an OCI image layout (built here, four tar layers) into
# `lockstep registry serve` and back, by tag and by digest; the bytes that
# come back are the bytes that went in.
source "$(dirname "$0")/lib.sh"
source "$LOCKSTEP_SOURCE_DIR/tests/e2e/registry_lib.sh"
on_exit stop_registry

start_registry
digest=$(make_oci_layout "$TEST_DIR/src" v1 4)

skopeo copy -q --dest-tls-verify=false \
  "oci:$TEST_DIR/src:v1" "docker://$REGISTRY/demo/app:v1"

# The manifest is served as the exact bytes skopeo pushed.
expect_eq "$(http_status GET "http://$REGISTRY/v2/demo/app/manifests/v1" \
  -H 'Accept: application/vnd.oci.image.manifest.v1+json')" 200 "GET by tag"
expect_eq "$(sha256sum <"$TEST_DIR/body.txt" | cut -d' ' -f1)" \
  "${digest#sha256:}" "manifest bytes"
expect_eq "$(header Docker-Content-Digest)" "$digest" "Docker-Content-Digest"
expect_eq "$(header Content-Type)" \
  "application/vnd.oci.image.manifest.v1+json" "Content-Type"

# Back out by tag and by digest: every blob compares equal.
skopeo copy -q --src-tls-verify=false \
  "docker://$REGISTRY/demo/app:v1" "oci:$TEST_DIR/by-tag:v1"
skopeo copy -q --src-tls-verify=false \
  "docker://$REGISTRY/demo/app@$digest" "oci:$TEST_DIR/by-digest:v1"
for copy in by-tag by-digest; do
  for blob in "$TEST_DIR"/src/blobs/sha256/*; do
    cmp "$blob" "$TEST_DIR/$copy/blobs/sha256/$(basename "$blob")" ||
      fail "$copy: blob $(basename "$blob") differs"
  done
  expect_eq "$(ls "$TEST_DIR/$copy/blobs/sha256" | wc -l)" 6 "$copy blobs"
done

# Tag listing and catalog see the push.
expect_eq "$(http_status GET "http://$REGISTRY/v2/demo/app/tags/list")" 200 \
  "tags/list"
expect_eq "$(json "$TEST_DIR/body.txt" 'd["tags"]')" "['v1']" "tags"
http_status GET "http://$REGISTRY/v2/_catalog" >/dev/null
expect_eq "$(json "$TEST_DIR/body.txt" 'd["repositories"]')" "['demo/app']" \
  "catalog"
echo PASS
