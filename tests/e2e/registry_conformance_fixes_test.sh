#!/usr/bin/env bash
# Registry defects a conformance tester found, each with the request that
# showed it and the exact answer now expected: auth flags without an
# htpasswd file, an empty blob's length, the page size `n`, descriptor
# sizes and schemaVersion, repository names holding route words, and a
# token whose user may not push.
source "$(dirname "$0")/lib.sh"
source "$LOCKSTEP_SOURCE_DIR/tests/e2e/registry_lib.sh"
on_exit stop_registry

# --auth (or --access, or half of the TLS pair) without what it needs
# left an open registry that looked guarded: now a usage error. (Under
# `timeout`: a server that starts anyway must fail the test, not hang it.)
listen="127.0.0.1:$(free_port)"
expect_exit 64 timeout 10 "$LOCKSTEP" registry serve --listen "$listen" \
  --auth token
expect_contains stderr.txt "--htpasswd"
expect_exit 64 timeout 10 "$LOCKSTEP" registry serve --listen "$listen" \
  --access access.json
expect_exit 64 timeout 10 "$LOCKSTEP" registry serve --listen "$listen" \
  --tls-cert cert.pem

start_registry
base="http://$REGISTRY/v2"

# An empty blob: Content-Length 0 on HEAD and GET (there was none, and a
# keep-alive GET then had no end).
empty="sha256:$(sha '')"
expect_eq "$(http_status POST "$base/e/blobs/uploads/?digest=$empty" \
  --data-binary '')" 201 "empty blob pushed"
expect_eq "$(http_status HEAD "$base/e/blobs/$empty")" 200 "HEAD empty blob"
expect_eq "$(header Content-Length)" 0 "HEAD empty Content-Length"
expect_eq "$(curl -s -m 5 -o "$TEST_DIR/body.txt" -D "$TEST_DIR/headers.txt" \
  -w '%{http_code}' "$base/e/blobs/$empty")" 200 "GET empty blob"
expect_eq "$(header Content-Length)" 0 "GET empty Content-Length"
expect_eq "$(stat -c %s "$TEST_DIR/body.txt")" 0 "GET empty body"

# Manifests: the config is the empty blob, one 5-byte layer.
layer="sha256:$(sha 'layer')"
http_status POST "$base/e/blobs/uploads/?digest=$layer" \
  --data-binary 'layer' >/dev/null
manifest() {  # manifest LAYER_SIZE [SCHEMA_VERSION_JSON]
  printf '{%s"mediaType":"application/vnd.oci.image.manifest.v1+json",'\
'"config":{"mediaType":"application/vnd.oci.image.config.v1+json",'\
'"digest":"%s","size":0},"layers":[{"mediaType":'\
'"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%s}]}' \
    "${2-\"schemaVersion\":2,}" "$empty" "$layer" "$1"
}
put_manifest() {  # put_manifest TAG BODY
  http_status PUT "$base/e/manifests/$1" --data-binary "$2" \
    -H 'Content-Type: application/vnd.oci.image.manifest.v1+json'
}
# A size the blob does not have: every later pull would fail on it.
expect_eq "$(put_manifest wrong "$(manifest 10)")" 400 "wrong layer size"
expect_contains "$TEST_DIR/body.txt" MANIFEST_INVALID
expect_contains "$TEST_DIR/body.txt" "layers[0]: size 10 differs from $layer's 5 bytes"
expect_eq "$(put_manifest none "$(manifest 5 '')")" 400 "no schemaVersion"
expect_contains "$TEST_DIR/body.txt" "schemaVersion: must be 2"
expect_eq "$(put_manifest one "$(manifest 5 '"schemaVersion":1,')")" 400 \
  "schemaVersion 1"
expect_eq "$(put_manifest good "$(manifest 5)")" 201 "right sizes"
for tag in t1 t2 t3; do put_manifest "$tag" "$(manifest 5)" >/dev/null; done

# The page size is a whole number or refused, for tags and the catalog.
# An empty n= is no page size, as for distribution (a later tester).
for n in 0x2 2.5 2abc -1; do
  expect_eq "$(http_status GET "$base/e/tags/list?n=$n")" 400 "tags n=$n"
  expect_contains "$TEST_DIR/body.txt" PAGINATION_NUMBER_INVALID
  expect_eq "$(http_status GET "$base/_catalog?n=$n")" 400 "catalog n=$n"
done
expect_eq "$(http_status GET "$base/e/tags/list?n=2")" 200 "tags n=2"
expect_eq "$(cat "$TEST_DIR/body.txt")" '{"name":"e","tags":["good","t1"]}' "n=2 page"

# Repository names may hold "manifests" or "blobs/uploads" as parts; the
# route is read from the right, as references hold no '/'.
for repo in a/manifests/x a/blobs/uploads; do
  expect_eq "$(http_status POST "$base/$repo/blobs/uploads/?digest=$layer" \
    --data-binary 'layer')" 201 "push to $repo"
  expect_eq "$(http_status GET "$base/$repo/blobs/$layer")" 200 \
    "GET blob in $repo"
  expect_eq "$(cat "$TEST_DIR/body.txt")" layer "blob body in $repo"
done
stop_registry

# Token auth: bob may only read team/*. A pull token does not let him
# push, and a new token would not either, so the answer is 403 DENIED as
# with basic auth, not a 401 asking him to log in again.
htpasswd -Bbc htpasswd ana anapw 2>/dev/null
htpasswd -Bb htpasswd bob bobpw 2>/dev/null
cat >access.json <<'JSON'
{"rules": [{"repository": "team/*", "read": ["*"], "write": ["ana"]}]}
JSON
start_registry --htpasswd htpasswd --access access.json --auth token
base="http://$REGISTRY/v2"
token_for() {  # token_for USER:PASSWORD SCOPE
  curl -s -u "$1" "http://$REGISTRY/token?service=lockstep&scope=$2" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}
bob=$(token_for bob:bobpw repository:team/x:pull,push)
expect_eq "$(http_status POST "$base/team/x/blobs/uploads/" \
  -H "Authorization: Bearer $bob")" 403 "bob may not push"
expect_contains "$TEST_DIR/body.txt" DENIED
# ana may push; her pull-only token is too narrow, which Docker's token
# spec answers with 401 and error="insufficient_scope".
ana=$(token_for ana:anapw repository:team/x:pull)
expect_eq "$(http_status POST "$base/team/x/blobs/uploads/" \
  -H "Authorization: Bearer $ana")" 401 "ana's pull token"
expect_contains "$TEST_DIR/headers.txt" 'error="insufficient_scope"'
ana=$(token_for ana:anapw repository:team/x:pull,push)
expect_eq "$(http_status POST "$base/team/x/blobs/uploads/" \
  -H "Authorization: Bearer $ana")" 202 "ana's push token"
stop_registry

# A mount without `from` (the spec's automatic content discovery) starts
# an upload (202), as distribution's does (the conformance suite's
# OCI_AUTOMATIC_CROSSMOUNT=0); with --automatic-mount (its =1) it mounts
# from any repository that holds the blob and that the caller may read:
# 201. There was no way to the second (noted by a conformance tester).
htpasswd -Bb htpasswd cy cypw 2>/dev/null
cat >access.json <<'JSON'
{"rules": [{"repository": "team/*", "read": ["*"], "write": ["ana", "cy"]},
           {"repository": "secret/*", "read": ["ana"], "write": ["ana"]}]}
JSON
start_registry --htpasswd htpasswd --access access.json
base="http://$REGISTRY/v2"
shared="sha256:$(sha 'a shared layer')"
expect_eq "$(http_status POST "$base/secret/a/blobs/uploads/?digest=$shared" \
  -u ana:anapw --data-binary 'a shared layer')" 201 "pushed to secret/a"
expect_eq "$(http_status POST "$base/team/ana/blobs/uploads/?mount=$shared" \
  -u ana:anapw)" 202 "no automatic mount by default"
stop_registry
start_registry --htpasswd htpasswd --access access.json --automatic-mount
base="http://$REGISTRY/v2"
expect_eq "$(http_status POST "$base/team/cy/blobs/uploads/?mount=$shared" \
  -u cy:cypw)" 202 "cy may not read secret/a: an upload"
expect_eq "$(http_status HEAD "$base/team/cy/blobs/$shared" -u cy:cypw)" \
  404 "not mounted for cy"
expect_eq "$(http_status POST "$base/team/ana/blobs/uploads/?mount=$shared" \
  -u ana:anapw)" 201 "ana mounts from what she may read"
expect_eq "$(header Location)" "/v2/team/ana/blobs/$shared" "mount Location"
expect_eq "$(http_status HEAD "$base/team/ana/blobs/$shared" -u bob:bobpw)" \
  200 "mounted blob"
unknown="sha256:$(sha 'in no repository')"
expect_eq "$(http_status POST "$base/team/ana/blobs/uploads/?mount=$unknown" \
  -u ana:anapw)" 202 "nothing to mount: an upload"
[[ $(header Location) == /v2/team/ana/blobs/uploads/* ]] ||
  fail "no upload Location: $(header Location)"
echo "registry conformance fixes: ok"
