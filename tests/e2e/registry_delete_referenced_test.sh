#!/usr/bin/env bash
# A DELETE that would leave a manifest unpullable is refused in every
# repository, not only under immutable tags: a blob a manifest uses (config
# or layer) and a manifest an index lists answer 405 DENIED naming the
# manifest and its tag, until that manifest is deleted first. A referrer
# does not hold its subject. `lockstep cleanup` still removes an index and
# its children in one run, and `store verify` finds what older servers let
# through. Found by a tester (a tag that no longer pulled, and a verify
# that said "no problems").
source "$(dirname "$0")/lib.sh"
source "$LOCKSTEP_SOURCE_DIR/tests/e2e/registry_lib.sh"
on_exit stop_registry

start_registry
base="http://$REGISTRY/v2"
oci=application/vnd.oci.image
put_blob() {
  local url="$base/bd/x/blobs/uploads/?digest=sha256:$(sha "$1")"
  expect_eq "$(http_status POST "$url" --data-binary "$1")" 201 \
    "upload '$1'"
}
# put_manifest REF TYPE BODY: PUT of a manifest, expected to be accepted.
put_manifest() {
  expect_eq "$(http_status PUT "$base/bd/x/manifests/$1" \
    -H "Content-Type: $oci.$2.v1+json" --data-binary "$3")" 201 \
    "PUT manifest $1"
}
put_blob '{}'
put_blob 'bd-layer'
config="sha256:$(sha '{}')"
layer="sha256:$(sha 'bd-layer')"
image=$(printf \
  '{"schemaVersion":2,"mediaType":"%s","config":%s,"layers":[%s]}' \
  "$oci.manifest.v1+json" \
  "{\"mediaType\":\"$oci.config.v1+json\",\"digest\":\"$config\",\"size\":2}" \
  "{\"mediaType\":\"$oci.layer.v1.tar\",\"digest\":\"$layer\",\"size\":8}")
child="sha256:$(sha "$image")"
put_manifest "$child" manifest "$image"
index=$(printf '{"schemaVersion":2,"mediaType":"%s","manifests":[%s]}' \
  "$oci.index.v1+json" \
  "{\"mediaType\":\"$oci.manifest.v1+json\",\"size\":${#image},\
\"digest\":\"$child\"}")
list="sha256:$(sha "$index")"
put_manifest list index "$index"
# A referrer of the child (its signature, say).
sig="${image%\}},\"subject\":{\"mediaType\":\"$oci.manifest.v1+json\",\
\"digest\":\"$child\",\"size\":${#image}}}"
put_manifest "sha256:$(sha "$sig")" manifest "$sig"

# The tester's first input: DELETE of the layer answered 202, and
# bd/x:list no longer pulled.
for blob in "$layer" "$config"; do
  expect_eq "$(http_status DELETE "$base/bd/x/blobs/$blob")" 405 \
    "deleting $blob that two manifests use"
  expect_eq "$(header Allow)" "GET, HEAD" "what a blob still allows"
  expect_eq "$(json body.txt 'd["errors"][0]["code"]')" DENIED "code"
  # The child, which the tag holds, though the referrer sorts first.
  expect_eq "$(json body.txt 'd["errors"][0]["message"]')" \
    "blob $blob is used by manifest $child (and 1 more) in bd/x, held by \
tag list; delete that manifest first" "the refusal names what to delete"
done
expect_eq "$(http_status HEAD "$base/bd/x/blobs/$layer")" 200 "layer kept"

# The tester's second input: DELETE of the child an index lists.
expect_eq "$(http_status DELETE "$base/bd/x/manifests/$child")" 405 \
  "deleting the child of a tagged index"
expect_eq "$(header Allow)" "GET, HEAD, PUT" "what a manifest still allows"
expect_eq "$(json body.txt 'd["errors"][0]["message"]')" \
  "manifest $child is listed by index $list in bd/x, held by tag list; \
delete that index first" "the refusal names the index and its tag"
expect_exit 0 "$LOCKSTEP" --store "$TEST_DIR/client" pull --insecure \
  "$REGISTRY/bd/x:list"

# The way out, in order: the referrer is no obstacle to its subject.
expect_eq "$(http_status DELETE "$base/bd/x/manifests/$list")" 202 \
  "the index"
expect_eq "$(http_status DELETE "$base/bd/x/manifests/$child")" 202 \
  "the child, once no index lists it, though a referrer names it"
expect_eq "$(http_status DELETE "$base/bd/x/blobs/$layer")" 405 \
  "the layer, still used by the referrer"
expect_eq "$(http_status DELETE \
  "$base/bd/x/manifests/sha256:$(sha "$sig")")" 202 "the referrer"
expect_eq "$(http_status DELETE "$base/bd/x/blobs/$layer")" 202 \
  "the layer, once no manifest uses it"
stop_registry
expect_exit 0 "$LOCKSTEP" store verify

# Cleanup has its own path: an untagged index and its untagged child go
# in one run, and leave nothing dangling.
start_registry
base="http://$REGISTRY/v2"
put_blob 'bd-layer'
put_manifest "$child" manifest "$image"
put_manifest "$list" index "$index"
cat >policy.json <<'JSON'
[{"name": "untagged", "action": {"type": "Delete"},
  "condition": {"tagState": "untagged"}}]
JSON
expect_exit 0 "$LOCKSTEP" cleanup --policy policy.json --repository bd/x
expect_exit 0 "$LOCKSTEP" cleanup --policy policy.json --repository bd/x
expect_contains stdout.txt "delete bd/x@$child"
expect_contains stdout.txt "delete bd/x@$list"
expect_eq "$(http_status GET "$base/bd/x/manifests/$list")" 404 "index gone"
expect_eq "$(http_status GET "$base/bd/x/manifests/$child")" 404 "child gone"
expect_eq "$(http_status DELETE "$base/bd/x/blobs/$layer")" 202 \
  "the layer, its manifests gone"
stop_registry
expect_exit 0 "$LOCKSTEP" store verify
echo PASS
