#!/usr/bin/env bash
# Immutable tags keep pulling: deleting a blob that a tagged manifest uses
# (config, layer, or a manifest an index lists) is 403 DENIED, as deleting
# the tag or manifest is. Blobs no tag uses can still be deleted.
source "$(dirname "$0")/lib.sh"
source "$LOCKSTEP_SOURCE_DIR/tests/e2e/registry_lib.sh"
on_exit stop_registry

start_registry
base="http://$REGISTRY/v2"
sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
put_blob() {
  expect_eq "$(http_status POST "$base/im/r/blobs/uploads/?digest=sha256:$(sha "$1")" \
    --data-binary "$1")" 201 "upload '$1'"
}
put_blob '{}'
put_blob 'layer one'
put_blob 'not used'
config="sha256:$(sha '{}')"
layer="sha256:$(sha 'layer one')"
loose="sha256:$(sha 'not used')"
manifest=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":9}]}' \
  "$config" "$layer")
expect_eq "$(http_status PUT "$base/im/r/manifests/sha256:$(sha "$manifest")" \
  -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
  --data-binary "$manifest")" 201 "untagged manifest"
index=$(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d}]}' \
  "$(sha "$manifest")" "${#manifest}")
expect_eq "$(http_status PUT "$base/im/r/manifests/v1" \
  -H 'Content-Type: application/vnd.oci.image.index.v1+json' \
  --data-binary "$index")" 201 "tag v1 -> index"
"$LOCKSTEP" registry immutable im/r -q

# The tester's input: DELETE of a layer answered 202, then v1 no longer
# pulled.
for digest in "$layer" "$config"; do
  expect_eq "$(http_status DELETE "$base/im/r/blobs/$digest")" 403 \
    "deleting $digest under an immutable tag"
  expect_contains "$TEST_DIR/body.txt" DENIED
  expect_contains "$TEST_DIR/body.txt" "tag v1 in im/r"
done
expect_eq "$(http_status HEAD "$base/im/r/blobs/$layer")" 200 "layer kept"
expect_eq "$(http_status DELETE "$base/im/r/blobs/$loose")" 202 \
  "a blob no tag uses"

# Mutable again: the same delete is allowed.
"$LOCKSTEP" registry immutable im/r --off -q
expect_eq "$(http_status DELETE "$base/im/r/blobs/$layer")" 202 \
  "deleting under a mutable tag"
echo PASS
