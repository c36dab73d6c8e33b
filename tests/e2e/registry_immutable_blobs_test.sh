#!/usr/bin/env bash
# Immutable tags keep pulling: deleting a blob that a tagged manifest uses
# (config, layer, or a manifest an index lists, as a blob or as a
# manifest) is 403 DENIED, as deleting the tag or manifest is. Blobs no tag uses can still be deleted.
source "$(dirname "$0")/lib.sh"
source "$LOCKSTEP_SOURCE_DIR/tests/e2e/registry_lib.sh"
on_exit stop_registry

start_registry
base="http://$REGISTRY/v2"
put_blob() {
  local url="$base/im/r/blobs/uploads/?digest=sha256:$(sha "$1")"
  expect_eq "$(http_status POST "$url" --data-binary "$1")" 201 \
    "upload '$1'"
}
put_blob '{}'
put_blob 'layer one'
put_blob 'not used'
config="sha256:$(sha '{}')"
layer="sha256:$(sha 'layer one')"
loose="sha256:$(sha 'not used')"
oci=application/vnd.oci.image
manifest=$(printf \
  '{"schemaVersion":2,"mediaType":"%s","config":%s,"layers":[%s]}' \
  "$oci.manifest.v1+json" \
  "{\"mediaType\":\"$oci.config.v1+json\",\"digest\":\"$config\",\"size\":2}" \
  "{\"mediaType\":\"$oci.layer.v1.tar\",\"digest\":\"$layer\",\"size\":9}")
expect_eq "$(http_status PUT "$base/im/r/manifests/sha256:$(sha "$manifest")" \
  -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
  --data-binary "$manifest")" 201 "untagged manifest"
index=$(printf '{"schemaVersion":2,"mediaType":"%s","manifests":[%s]}' \
  "$oci.index.v1+json" \
  "{\"mediaType\":\"$oci.manifest.v1+json\",\"size\":${#manifest},\
\"digest\":\"sha256:$(sha "$manifest")\"}")
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
# The tester's second input: DELETE of the index's child manifest by
# digest answered 202, and v1 no longer pulled.
child="sha256:$(sha "$manifest")"
expect_eq "$(http_status DELETE "$base/im/r/manifests/$child")" 403 \
  "deleting the child manifest of an immutable tag"
expect_contains "$TEST_DIR/body.txt" DENIED
expect_contains "$TEST_DIR/body.txt" \
  "manifest $child is used by tag v1 in im/r, whose tags are immutable"
expect_eq "$(http_status GET "$base/im/r/manifests/$child" \
  -H 'Accept: application/vnd.oci.image.manifest.v1+json')" 200 \
  "child manifest kept"
expect_eq "$(http_status DELETE "$base/im/r/blobs/$loose")" 202 \
  "a blob no tag uses"

# Mutable again: the tag no longer forbids it, but a manifest still uses
# the layer, so the delete waits for that manifest (405, see
# registry_delete_referenced_test.sh).
"$LOCKSTEP" registry immutable im/r --off -q
expect_eq "$(http_status DELETE "$base/im/r/blobs/$layer")" 405 \
  "deleting a layer a manifest uses under a mutable tag"
expect_eq "$(http_status DELETE "$base/im/r/manifests/v1")" 202 \
  "tag v1, mutable again"
index_digest="sha256:$(sha "$index")"
expect_eq "$(http_status DELETE "$base/im/r/manifests/$index_digest")" \
  202 "the index"
expect_eq "$(http_status DELETE "$base/im/r/manifests/$child")" 202 \
  "the manifest"
expect_eq "$(http_status DELETE "$base/im/r/blobs/$layer")" 202 \
  "the layer, once no manifest uses it"
echo PASS
