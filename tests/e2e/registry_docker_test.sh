#!/usr/bin/env bash
# Docker schema 2 manifests and manifest lists pushed and pulled by skopeo:
# an OCI layout built here is converted by skopeo (`--format v2s2`) into a
# directory, pushed unchanged, and pulled back; a manifest list over two
# v2s2 images is pushed with `--all` and pulled back. The registry serves
# the exact bytes pushed, with their media type and a Docker-Content-Digest
# equal to their sha256, and stores them under that digest.
source "$(dirname "$0")/lib.sh"
source "$LOCKSTEP_SOURCE_DIR/tests/e2e/registry_lib.sh"
on_exit stop_registry

v2=application/vnd.docker.distribution.manifest.v2+json
list=application/vnd.docker.distribution.manifest.list.v2+json
start_registry
base="http://$REGISTRY/v2"
file_sha() { sha256sum "$1" | cut -d' ' -f1; }

# Two Docker v2s2 images as skopeo's dir: layout (a manifest.json and
# blobs named by their hex digest).
make_oci_layout "$TEST_DIR/oci-a" v1 3 >/dev/null
make_oci_layout "$TEST_DIR/oci-b" v1 2 >/dev/null
for image in a b; do
  skopeo copy -q --format v2s2 "oci:$TEST_DIR/oci-$image:v1" \
    "dir:$TEST_DIR/v2s2-$image"
  expect_eq "$(json "$TEST_DIR/v2s2-$image/manifest.json" 'd["mediaType"]')" \
    "$v2" "converted media type ($image)"
done
manifest_a="$TEST_DIR/v2s2-a/manifest.json"
digest_a="sha256:$(file_sha "$manifest_a")"

# Push the v2s2 image as it is; it is served back byte for byte.
skopeo copy -q --dest-tls-verify=false "dir:$TEST_DIR/v2s2-a" \
  "docker://$REGISTRY/docker/app:v1"
expect_eq "$(http_status GET "$base/docker/app/manifests/v1" \
  -H "Accept: $v2")" 200 "GET v2s2 by tag"
cmp "$TEST_DIR/body.txt" "$manifest_a" || fail "served v2s2 bytes differ"
expect_eq "$(header Content-Type)" "$v2" "v2s2 Content-Type"
expect_eq "$(header Docker-Content-Digest)" "$digest_a" "v2s2 digest"
expect_eq "$(http_status HEAD "$base/docker/app/manifests/$digest_a")" 200 \
  "HEAD v2s2 by digest"
expect_eq "$(header Content-Type)" "$v2" "HEAD Content-Type"
expect_eq "$(header Content-Length)" "$(stat -c %s "$manifest_a")" \
  "HEAD Content-Length"
# Stored in the blob store under its digest, the same bytes.
stored="$LOCKSTEP_STORE/blobs/sha256/${digest_a:7:2}/${digest_a#sha256:}"
cmp "$stored" "$manifest_a" || fail "stored v2s2 bytes differ"

# Converting on the way (oci: -> docker:// with --format v2s2) gives the
# same manifest.
skopeo copy -q --dest-tls-verify=false --format v2s2 \
  "oci:$TEST_DIR/oci-a:v1" "docker://$REGISTRY/docker/direct:v1"
expect_eq "$(http_status GET "$base/docker/direct/manifests/v1" \
  -H "Accept: $v2")" 200 "GET converted on push"
expect_eq "$(header Docker-Content-Digest)" "$digest_a" "converted digest"

# Pulled back by tag: manifest and every blob as pushed.
skopeo copy -q --src-tls-verify=false "docker://$REGISTRY/docker/app:v1" \
  "dir:$TEST_DIR/back"
for file in "$TEST_DIR"/v2s2-a/*; do
  [[ $(basename "$file") == version ]] && continue
  cmp "$file" "$TEST_DIR/back/$(basename "$file")" ||
    fail "pulled $(basename "$file") differs"
done

# A manifest list over both images, in skopeo's dir: layout for lists
# (the list as manifest.json, each image as HEX.manifest.json).
python3 - "$TEST_DIR/list-dir" "$TEST_DIR/v2s2-a" "$TEST_DIR/v2s2-b" <<'PY'
import hashlib, json, os, shutil, sys
out, images = sys.argv[1], sys.argv[2:]
os.makedirs(out)
entries = []
for image, arch in zip(images, ["amd64", "arm64"]):
    for name in os.listdir(image):
        if len(name) == 64:
            shutil.copy(os.path.join(image, name), out)
    body = open(os.path.join(image, "manifest.json"), "rb").read()
    hexd = hashlib.sha256(body).hexdigest()
    open(os.path.join(out, hexd + ".manifest.json"), "wb").write(body)
    entries.append({
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "digest": "sha256:" + hexd, "size": len(body),
        "platform": {"architecture": arch, "os": "linux"}})
# Indented, so the stored bytes differ from any re-serialisation.
body = json.dumps({"schemaVersion": 2,
    "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
    "manifests": entries}, indent=3).encode()
open(os.path.join(out, "manifest.json"), "wb").write(body)
shutil.copy(os.path.join(images[0], "version"), out)
PY
list_body="$TEST_DIR/list-dir/manifest.json"
list_digest="sha256:$(file_sha "$list_body")"
skopeo copy -q --all --dest-tls-verify=false "dir:$TEST_DIR/list-dir" \
  "docker://$REGISTRY/docker/multi:v1"
expect_eq "$(http_status GET "$base/docker/multi/manifests/v1" \
  -H "Accept: $list")" 200 "GET list"
cmp "$TEST_DIR/body.txt" "$list_body" || fail "served list bytes differ"
expect_eq "$(header Content-Type)" "$list" "list Content-Type"
expect_eq "$(header Docker-Content-Digest)" "$list_digest" "list digest"
stored="$LOCKSTEP_STORE/blobs/sha256/${list_digest:7:2}/${list_digest#sha256:}"
cmp "$stored" "$list_body" || fail "stored list bytes differ"
# Each child is served by digest as its v2s2 bytes.
for image in a b; do
  child="$TEST_DIR/v2s2-$image/manifest.json"
  expect_eq "$(http_status GET \
    "$base/docker/multi/manifests/sha256:$(file_sha "$child")" \
    -H "Accept: $v2")" 200 "GET child $image"
  cmp "$TEST_DIR/body.txt" "$child" || fail "child $image bytes differ"
  expect_eq "$(header Content-Type)" "$v2" "child $image Content-Type"
done

# Pulled back with --all: the list and both images, byte for byte.
skopeo copy -q --all --src-tls-verify=false \
  "docker://$REGISTRY/docker/multi:v1" "dir:$TEST_DIR/list-back"
for file in "$TEST_DIR"/list-dir/*; do
  [[ $(basename "$file") == version ]] && continue
  cmp "$file" "$TEST_DIR/list-back/$(basename "$file")" ||
    fail "pulled list file $(basename "$file") differs"
done
echo PASS
