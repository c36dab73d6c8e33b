#!/usr/bin/env bash
# `lockstep gc` and `lockstep cleanup` against a store that a running
# `lockstep registry serve` is pushing into: the dry run changes nothing,
# an upload in flight survives gc, a swept blob then HEADs as 404, and a
# repository's first cleanup is a dry run that lists tags one by one.
source "$(dirname "$0")/lib.sh"
source "$LOCKSTEP_SOURCE_DIR/tests/e2e/registry_lib.sh"
on_exit stop_registry

start_registry
base="http://$REGISTRY/v2"

digest=$(make_oci_layout "$TEST_DIR/src" v1 3)
skopeo copy -q --dest-tls-verify=false \
  "oci:$TEST_DIR/src:v1" "docker://$REGISTRY/app:v1"
orphan="sha256:$(sha 'uploaded, never used')"
expect_eq "$(http_status POST "$base/app/blobs/uploads/?digest=$orphan" \
  --data-binary 'uploaded, never used')" 201 "orphan upload"
sleep 0.05

# Dry run: names the orphan, removes nothing.
expect_exit 0 "$LOCKSTEP" gc --dry-run --grace 0s --json
expect_eq "$(json "$TEST_DIR/stdout.txt" '[s["digest"] for s in d["swept"]]')" \
  "['$orphan']" "dry-run sweep list"
expect_eq "$(http_status HEAD "$base/app/blobs/$orphan")" 200 \
  "HEAD after dry run"

# An upload in flight while gc runs: its bytes survive and it completes.
http_status POST "$base/app/blobs/uploads/" >/dev/null
location=$(header Location)
expect_eq "$(http_status PATCH "http://$REGISTRY$location" \
  -H 'Content-Range: 0-8' --data-binary 'in flight')" 202 "chunk"
expect_exit 0 "$LOCKSTEP" gc --grace 0s --json
expect_eq "$(json "$TEST_DIR/stdout.txt" '[s["digest"] for s in d["swept"]]')" \
  "['$orphan']" "sweep list"
expect_eq "$(http_status PUT \
  "http://$REGISTRY$location?digest=sha256:$(sha 'in flight')")" 201 \
  "finish after gc"
expect_eq "$(http_status HEAD "$base/app/blobs/sha256:$(sha 'in flight')")" \
  200 "fresh blob kept"
expect_eq "$(http_status HEAD "$base/app/blobs/$orphan")" 404 \
  "swept blob HEAD"

# The image itself is intact.
skopeo copy -q --src-tls-verify=false \
  "docker://$REGISTRY/app:v1" "oci:$TEST_DIR/back:v1"
for blob in "$TEST_DIR"/src/blobs/sha256/*; do
  cmp "$blob" "$TEST_DIR/back/blobs/sha256/$(basename "$blob")" ||
    fail "blob $(basename "$blob") changed after gc"
done

# Cleanup: three tags share the image's digest; a policy drops dev-*.
http_status GET "$base/app/manifests/v1" >/dev/null
cp "$TEST_DIR/body.txt" "$TEST_DIR/manifest.json"
for tag in dev-1 dev-2 release-1; do
  expect_eq "$(http_status PUT "$base/app/manifests/$tag" \
    -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary "@$TEST_DIR/manifest.json")" 201 "tag $tag"
done
cat >"$TEST_DIR/policy.json" <<'JSON'
[{"name": "drop-dev", "action": {"type": "Delete"},
  "condition": {"tagState": "tagged", "tagPrefixes": ["dev-"]}}]
JSON
# A policy with a key given twice is refused before it decides anything.
printf '[{"name": "p", "action": "Keep",\n  "action": "Delete"}]\n' \
  >"$TEST_DIR/twice.json"
expect_exit 3 "$LOCKSTEP" cleanup --policy "$TEST_DIR/twice.json"
expect_contains "$TEST_DIR/stderr.txt" \
  'twice.json:2:3: key "action" appears twice in the same object'
expect_exit 0 "$LOCKSTEP" cleanup --policy "$TEST_DIR/policy.json"
expect_contains "$TEST_DIR/stdout.txt" \
  "delete app:dev-1  (policy drop-dev (Delete)) [dry run]"
expect_contains "$TEST_DIR/stdout.txt" \
  "delete app:dev-2  (policy drop-dev (Delete)) [dry run]"
expect_contains "$TEST_DIR/stdout.txt" "keep   app:release-1  (no policy matched)"
expect_contains "$TEST_DIR/stderr.txt" "first cleanup of app: dry run only"
grep -q "app@" "$TEST_DIR/stdout.txt" && fail "a digest line was printed"
http_status GET "$base/app/tags/list" >/dev/null
expect_eq "$(json "$TEST_DIR/body.txt" 'd["tags"]')" \
  "['dev-1', 'dev-2', 'release-1', 'v1']" "tags after the dry run"

expect_exit 0 "$LOCKSTEP" cleanup --policy "$TEST_DIR/policy.json"
http_status GET "$base/app/tags/list" >/dev/null
expect_eq "$(json "$TEST_DIR/body.txt" 'd["tags"]')" "['release-1', 'v1']" \
  "tags after cleanup"
expect_eq "$(http_status GET "$base/app/manifests/$digest")" 200 \
  "digest still held by the other tags"
echo PASS
