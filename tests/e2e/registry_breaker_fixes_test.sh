#!/usr/bin/env bash
# The registry defects a tester found (push/pull, serve, cleanup), each
# with the input that showed it and the exact outcome now expected.
source "$(dirname "$0")/lib.sh"
source "$LOCKSTEP_SOURCE_DIR/tests/e2e/registry_lib.sh"
on_exit stop_registry
on_exit stop_hostile

# start_hostile MODE: starts tests/e2e/hostile_registry.py, sets
# HOSTILE_PID and HOSTILE (host:port).
start_hostile() {
  rm -f "$TEST_DIR/hostile.port"
  python3 "$LOCKSTEP_SOURCE_DIR/tests/e2e/hostile_registry.py" \
    "$TEST_DIR/hostile.port" "$1" &
  HOSTILE_PID=$!
  wait_for "$TEST_DIR/hostile.port"
  HOSTILE="127.0.0.1:$(cat "$TEST_DIR/hostile.port")"
}
stop_hostile() {
  if [[ -n "${HOSTILE_PID:-}" ]]; then
    kill "$HOSTILE_PID" 2>/dev/null || true
    wait "$HOSTILE_PID" 2>/dev/null || true
    HOSTILE_PID=
  fi
}
# no_temporaries: fails when the store's tmp folder holds anything.
no_temporaries() {
  local left
  left=$(find "$LOCKSTEP_STORE/tmp" -mindepth 1 2>/dev/null | head -3)
  expect_eq "$left" "" "temporaries left in the store"
}

start_registry
base="http://$REGISTRY/v2"
echo hello >"$TEST_DIR/f.txt"
expect_exit 0 "$LOCKSTEP" -q push "$TEST_DIR/f.txt" "$REGISTRY/r/x:v1" \
  --insecure

# 1. A misspelt condition key ("tagstate") was ignored, so the Delete
# policy matched every tag; twice, since the first cleanup is a dry run.
printf '[{"name":"drop-untagged","action":{"type":"Delete"},\n%s\n' \
  ' "condition":{"tagstate":"untagged"}}]' >"$TEST_DIR/p.json"
for _ in 1 2; do
  expect_exit 3 "$LOCKSTEP" cleanup --policy "$TEST_DIR/p.json"
  expect_contains "$TEST_DIR/stderr.txt" \
    'p.json:2:15: unknown key "tagstate" in [0].condition (known: tagState,'
done
expect_eq "$(http_status GET "$base/r/x/tags/list")" 200 "tags list"
expect_contains "$TEST_DIR/body.txt" '"tags":["v1"]'

# 2. A second server on a port in use started too (httplib's default
# SO_REUSEPORT), and the kernel split clients between two stores.
expect_exit 6 "$LOCKSTEP" --store "$TEST_DIR/other" registry serve \
  --listen "$REGISTRY"
expect_contains "$TEST_DIR/stderr.txt" \
  "error: cannot listen on $REGISTRY: Address already in use"
for _ in 1 2 3 4 5 6; do
  expect_eq "$(http_status GET "$base/r/x/tags/list")" 200 \
    "tags list with a second server tried"
done

# 3. pull wrote a layer that never ended until the disk was full (63 GB
# seen): now the declared size is the most it takes, and the manifest
# (whose size nothing declares) at most 4 MiB.
start_hostile endless-blob
expect_exit 4 timeout 60 "$LOCKSTEP" pull "$HOSTILE/app:v1" --insecure
expect_contains "$TEST_DIR/stderr.txt" \
  "error: GET http://$HOSTILE/v2/app/blobs/sha256:"
expect_contains "$TEST_DIR/stderr.txt" \
  ": the registry sent more than the 17 bytes expected; refused"
no_temporaries
stop_hostile
start_hostile endless-manifest
expect_exit 4 timeout 60 "$LOCKSTEP" pull "$HOSTILE/app:v1" --insecure
expect_contains "$TEST_DIR/stderr.txt" \
  "error: GET http://$HOSTILE/v2/app/manifests/v1: the registry sent more \
than the 4194304 bytes expected; refused"
no_temporaries
stop_hostile

# 5. push and pull waited forever on a registry that stopped answering
# (headers and 3 bytes, then nothing; or no answer at all).
# The stall must be noticed near 2 s, not seconds later (libcurl's
# low-speed check took 8): `timeout 7` ends a late client with exit 124.
start_hostile stall
expect_exit 6 timeout 7 "$LOCKSTEP" pull "$HOSTILE/app:v1" --insecure \
  --timeout 2
expect_contains "$TEST_DIR/stderr.txt" \
  ": no progress for 2 seconds; the registry stopped answering (--timeout)"
no_temporaries
stop_hostile
start_hostile silent
expect_exit 6 timeout 60 "$LOCKSTEP" pull "$HOSTILE/app:v1" --insecure \
  --timeout 2
expect_contains "$TEST_DIR/stderr.txt" \
  "error: GET http://$HOSTILE/v2/app/manifests/v1: no progress for 2"
expect_exit 6 timeout 60 "$LOCKSTEP" push "$TEST_DIR/f.txt" \
  "$HOSTILE/app:v2" --insecure --timeout 2
expect_contains "$TEST_DIR/stderr.txt" \
  "error: HEAD http://$HOSTILE/v2/app/blobs/sha256:"
expect_contains "$TEST_DIR/stderr.txt" ": no progress for 2 seconds"
stop_hostile
expect_exit 64 "$LOCKSTEP" pull "$REGISTRY/r/x:v1" --insecure --timeout 0

# 6. An --access file with "write" given twice let the last list win
# (bob could push); unknown keys were ignored.
printf '%s\n' \
  'ana:$2y$05$Ive5VVNutKrZ5SrTBlZ52OJdloVD3CIbq/Ssr44m6h.etaQXF7bh.' \
  >"$TEST_DIR/h.htp"
printf '{"rules": [{"repository": "team/*", "write": ["ana"],\n%s\n' \
  '  "write": ["ana", "bob"]}]}' >"$TEST_DIR/acc.json"
expect_exit 3 "$LOCKSTEP" registry serve --listen "127.0.0.1:$(free_port)" \
  --htpasswd "$TEST_DIR/h.htp" --access "$TEST_DIR/acc.json"
expect_contains "$TEST_DIR/stderr.txt" \
  'acc.json:2:3: key "write" appears twice in the same object'
printf '{"rules": [{"repository": "team/*", "wrte": ["ana"]}]}' \
  >"$TEST_DIR/acc.json"
expect_exit 3 "$LOCKSTEP" registry serve --listen "127.0.0.1:$(free_port)" \
  --htpasswd "$TEST_DIR/h.htp" --access "$TEST_DIR/acc.json"
expect_contains "$TEST_DIR/stderr.txt" \
  'acc.json:1:37: unknown key "wrte" in rules[0] (known: repository,'

# 7. _catalog listed every repository, also those the caller may not
# read (basic), and to an anonymous token (token mode).
printf '%s\n' \
  'bob:$2y$05$v64eWxcNBeLWMfx6jgpVB.EvGkQL3Trbullh9VHV2JtXyN9QWJT.i' \
  >>"$TEST_DIR/h.htp"
cat >"$TEST_DIR/acc.json" <<'JSON'
{"anonymousPull": ["public/*"],
 "rules": [{"repository": "team/*", "read": ["*"], "write": ["ana"]},
           {"repository": "private", "read": ["bob"], "write": ["bob"]},
           {"repository": "public/*", "read": ["*"], "write": ["ana"]}]}
JSON
stop_registry
start_registry --htpasswd "$TEST_DIR/h.htp" --access "$TEST_DIR/acc.json"
base="http://$REGISTRY/v2"
ana=(-u 'ana:secret pass')
bob=(-u 'bob:hunter2')
for at in team/app:ana public/p:ana private:bob; do
  user=${at#*:}
  creds=("${ana[@]}")
  [[ $user == bob ]] && creds=("${bob[@]}")
  expect_eq "$(http_status POST \
    "$base/${at%:*}/blobs/uploads/?digest=sha256:$(sha "$at")" \
    --data-binary "$at" "${creds[@]}")" 201 "upload to ${at%:*}"
done
expect_eq "$(http_status GET "$base/_catalog" "${ana[@]}")" 200 "ana catalog"
expect_eq "$(cat "$TEST_DIR/body.txt")" \
  '{"repositories":["public/p","team/app"]}' "what ana sees"
expect_eq "$(http_status GET "$base/_catalog?n=1" "${bob[@]}")" 200 \
  "bob catalog"
expect_eq "$(cat "$TEST_DIR/body.txt")" '{"repositories":["private"]}' \
  "bob's first page"
expect_eq "$(http_status GET "$base/_catalog?n=5&last=private" \
  "${bob[@]}")" 200 "bob's second page"
expect_eq "$(cat "$TEST_DIR/body.txt")" \
  '{"repositories":["public/p","team/app"]}' "bob's second page"
stop_registry
start_registry --htpasswd "$TEST_DIR/h.htp" --access "$TEST_DIR/acc.json" \
  --auth token
base="http://$REGISTRY/v2"
expect_eq "$(http_status GET \
  "http://$REGISTRY/token?service=lockstep&scope=registry:catalog:*")" \
  200 "anonymous token"
token=$(json "$TEST_DIR/body.txt" 'd["token"]')
expect_eq "$(http_status GET "$base/_catalog" \
  -H "Authorization: Bearer $token")" 200 "anonymous catalog"
expect_eq "$(cat "$TEST_DIR/body.txt")" '{"repositories":["public/p"]}' \
  "what an anonymous token sees"

# 10. A non-bcrypt htpasswd line was blamed on the --access file.
cp "$TEST_DIR/h.htp" "$TEST_DIR/old.htp"
echo 'old:S3iGgzRWx/TSU' >>"$TEST_DIR/old.htp"
expect_exit 3 "$LOCKSTEP" registry serve --listen "127.0.0.1:$(free_port)" \
  --htpasswd "$TEST_DIR/old.htp" --access "$TEST_DIR/acc.json"
expect_contains "$TEST_DIR/stderr.txt" \
  "error: $TEST_DIR/old.htp:3:5: only bcrypt entries"
# ... and, refused, it made no store behind a mistyped --store.
expect_exit 3 "$LOCKSTEP" --store "$TEST_DIR/typo-store" registry serve \
  --listen "127.0.0.1:$(free_port)" --htpasswd "$TEST_DIR/old.htp"
[[ ! -e "$TEST_DIR/typo-store" ]] || fail "a refused serve made a store"

# 11. `registry immutable 'Bad Name!'` was recorded and protected nothing.
expect_exit 3 "$LOCKSTEP" registry immutable 'Bad Name!'
expect_contains "$TEST_DIR/stderr.txt" \
  "error: invalid repository name 'Bad Name!': want at most 255 characters \
matching [a-z0-9]+"

# 12. cleanup of an unknown repository printed nothing and exited 0.
printf '[{"name":"d","action":"Delete","condition":{"tagState":"any"}}]' \
  >"$TEST_DIR/any.json"
expect_exit 2 "$LOCKSTEP" cleanup --policy "$TEST_DIR/any.json" \
  --repository no-such-repo
expect_contains "$TEST_DIR/stderr.txt" \
  "error: repository no-such-repo does not exist in this registry"

# 13. A PUT refused for a missing ?digest= still appended its body, so
# the retry with the right digest failed with DIGEST_INVALID.
stop_registry
start_registry
base="http://$REGISTRY/v2"
expect_eq "$(http_status POST "$base/k/blobs/uploads/")" 202 \
  "start an upload"
location=$(header Location)
expect_eq "$(http_status PUT "http://$REGISTRY$location" \
  --data-binary zz)" 400 "PUT without a digest"
expect_contains "$TEST_DIR/body.txt" DIGEST_INVALID
expect_eq "$(http_status GET "http://$REGISTRY$location")" 204 \
  "upload status"
expect_eq "$(header Range)" "0-0" "upload still empty"
expect_eq "$(http_status PUT \
  "http://$REGISTRY$location?digest=sha256:$(sha zz)" \
  --data-binary zz)" 201 "the retry with the digest"

# 15. --chunk-size 0, -5 and 1e21 were accepted silently.
for size in 0 -5 1e21; do
  expect_exit 64 "$LOCKSTEP" push "$TEST_DIR/f.txt" "$REGISTRY/r/x:v3" \
    --insecure --chunk-size "$size"
  expect_contains "$TEST_DIR/stderr.txt" "--chunk-size"
done
expect_exit 0 "$LOCKSTEP" -q push "$TEST_DIR/f.txt" "$REGISTRY/r/x:v3" \
  --insecure --chunk-size 1

# 9. Exit codes as docs/exit-codes.md has them: a missing tag, digest or
# --subject is 2 (was 6), a folder given as a file 3 (was 6), and a
# missing login 5 in both auth modes (token mode was 6).
expect_exit 2 "$LOCKSTEP" pull "$REGISTRY/r/x:nope" --insecure
expect_contains "$TEST_DIR/stderr.txt" "error: $REGISTRY/r/x: no tag nope"
missing="sha256:$(sha 'not pushed anywhere')"
expect_exit 2 "$LOCKSTEP" pull "$REGISTRY/r/x@$missing" --insecure
expect_contains "$TEST_DIR/stderr.txt" \
  "error: $REGISTRY/r/x: no manifest $missing"
expect_exit 2 "$LOCKSTEP" push "$TEST_DIR/f.txt" "$REGISTRY/r/x:v4" \
  --insecure --subject "$missing"
expect_contains "$TEST_DIR/stderr.txt" \
  "error: --subject $missing is not a manifest in r/x"
mkdir "$TEST_DIR/folder"
expect_exit 3 "$LOCKSTEP" push "$TEST_DIR/folder" "$REGISTRY/r/x:v4" \
  --insecure
expect_contains "$TEST_DIR/stderr.txt" \
  "error: $TEST_DIR/folder is a folder: push the files in it"
# 14. pull --output wrote two layers titled alike to one file, exit 0;
# and push titled two files by their names alone, so `push one/x.txt
# two/x.txt` made such layers.
mkdir -p "$TEST_DIR/one" "$TEST_DIR/two"
echo first >"$TEST_DIR/one/x.txt"
echo second >"$TEST_DIR/two/x.txt"
first="sha256:$(sha256sum "$TEST_DIR/one/x.txt" | cut -d' ' -f1)"
second="sha256:$(sha256sum "$TEST_DIR/two/x.txt" | cut -d' ' -f1)"
expect_exit 3 "$LOCKSTEP" -q push "$TEST_DIR/one/x.txt" "$TEST_DIR/two/x.txt" \
  "$REGISTRY/r/twins:v1" --insecure
expect_contains "$TEST_DIR/stderr.txt" \
  "$second are both titled x.txt; nothing was pushed"
(cd "$TEST_DIR" && expect_exit 0 "$LOCKSTEP" -q push one/x.txt two/x.txt \
  "$REGISTRY/r/twins:v2" --insecure)
# Another tool may still send such layers.
for file in one two; do
  expect_eq "$(curl -s -o /dev/null -w '%{http_code}' -X POST \
    --data-binary "@$TEST_DIR/$file/x.txt" \
    "http://$REGISTRY/v2/r/twins/blobs/uploads/?digest=sha256:$(sha256sum \
      "$TEST_DIR/$file/x.txt" | cut -d' ' -f1)")" 201 "blob upload"
done
expect_eq "$(printf '{}' | curl -s -o /dev/null -w '%{http_code}' -X POST \
  --data-binary @- \
  "http://$REGISTRY/v2/r/twins/blobs/uploads/?digest=sha256:$(sha '{}')")" \
  201 "config upload"
cat >"$TEST_DIR/twins.json" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
"config":{"mediaType":"application/vnd.oci.empty.v1+json",
"digest":"sha256:$(sha '{}')","size":2},
"layers":[{"mediaType":"text/plain","digest":"$first","size":6,
"annotations":{"org.opencontainers.image.title":"x.txt"}},
{"mediaType":"text/plain","digest":"$second","size":7,
"annotations":{"org.opencontainers.image.title":"x.txt"}}]}
JSON
expect_eq "$(http_status PUT "http://$REGISTRY/v2/r/twins/manifests/v1" \
  -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
  --data-binary "@$TEST_DIR/twins.json")" 201 "manifest put"
expect_exit 3 "$LOCKSTEP" pull "$REGISTRY/r/twins:v1" --insecure \
  --output "$TEST_DIR/out"
expect_contains "$TEST_DIR/stderr.txt" \
  "$second are both titled x.txt; nothing was registered or written"
[[ ! -e "$TEST_DIR/out" ]] || fail "--output was written to"
expect_exit 0 "$LOCKSTEP" pull "$REGISTRY/r/twins:v2" --insecure \
  --output "$TEST_DIR/out2"
cmp "$TEST_DIR/one/x.txt" "$TEST_DIR/out2/one/x.txt" || fail "one/x.txt"
cmp "$TEST_DIR/two/x.txt" "$TEST_DIR/out2/two/x.txt" || fail "two/x.txt"

# 15. pull --output wrote a layer titled "model/weights.bin" (as oras
# titles files pushed from a folder) under its digest instead.
weights=weights-bytes
config='{}'
for blob in "$weights" "$config"; do
  expect_eq "$(printf '%s' "$blob" | curl -s -o /dev/null -w '%{http_code}' \
    -X POST --data-binary @- -H 'Content-Type: application/octet-stream' \
    "http://$REGISTRY/v2/r/nested/blobs/uploads/?digest=sha256:$(
      sha "$blob")")" \
    201 "blob upload"
done
cat >"$TEST_DIR/nested.json" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
"config":{"mediaType":"application/vnd.oci.empty.v1+json",
"digest":"sha256:$(sha "$config")","size":2},
"layers":[{"mediaType":"application/octet-stream",
"digest":"sha256:$(sha "$weights")","size":${#weights},
"annotations":{"org.opencontainers.image.title":"model/weights.bin"}},
{"mediaType":"application/octet-stream",
"digest":"sha256:$(sha "$config")","size":2,
"annotations":{"org.opencontainers.image.title":"../escape"}}]}
JSON
expect_eq "$(http_status PUT "http://$REGISTRY/v2/r/nested/manifests/v1" \
  -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
  --data-binary "@$TEST_DIR/nested.json")" 201 "manifest put"
expect_exit 0 "$LOCKSTEP" pull "$REGISTRY/r/nested:v1" --insecure --json \
  --output "$TEST_DIR/nested"
expect_eq "$(cat "$TEST_DIR/nested/model/weights.bin")" "$weights" "nested"
expect_eq "$(cat "$TEST_DIR/nested/$(sha "$config")")" "$config" \
  "a title climbing out is written under its digest"
[[ ! -e "$TEST_DIR/escape" ]] || fail "a title climbed out of --output"
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["files"]')" \
  "['$TEST_DIR/nested/model/weights.bin', \
'$TEST_DIR/nested/$(sha "$config")']" \
  "files"

# 16. Files pulled on their own (no Lockstep record) were kept by
# nothing: the next gc swept them.
pulled="$TEST_DIR/pulled-store"
LOCKSTEP_STORE="$pulled" expect_exit 0 "$LOCKSTEP" pull --json --insecure \
  "$REGISTRY/r/nested:v1"
expect_eq "$(json "$TEST_DIR/stdout.txt" 'len(d["artifacts"])')" 2 \
  "each layer recorded"
LOCKSTEP_STORE="$pulled" expect_exit 0 "$LOCKSTEP" pull --json --insecure \
  "$REGISTRY/r/nested:v1"
expect_eq "$(json "$TEST_DIR/stdout.txt" 'len(d["artifacts"])')" 2 \
  "a second pull records nothing new"
LOCKSTEP_STORE="$pulled" expect_exit 0 "$LOCKSTEP" gc --grace 0s
held="$pulled/blobs/sha256/$(sha "$weights" | cut -c1-2)/$(sha "$weights")"
[[ -e "$held" ]] || fail "gc swept a pulled file"
# An index pulled on its own recorded nothing, and gc swept it all.
child="sha256:$(sha256sum "$TEST_DIR/nested.json" | cut -d' ' -f1)"
printf '%s' "{\"schemaVersion\":2,\
\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\
\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\
\"digest\":\"$child\",\"size\":$(stat -c %s "$TEST_DIR/nested.json")}]}" \
  >"$TEST_DIR/index.json"
expect_eq "$(http_status PUT "http://$REGISTRY/v2/r/nested/manifests/idx" \
  -H 'Content-Type: application/vnd.oci.image.index.v1+json' \
  --data-binary "@$TEST_DIR/index.json")" 201 "index put"
indexed="$TEST_DIR/index-store"
LOCKSTEP_STORE="$indexed" expect_exit 0 "$LOCKSTEP" pull --json --insecure \
  "$REGISTRY/r/nested:idx"
expect_eq "$(json "$TEST_DIR/stdout.txt" 'len(d["artifacts"])')" 1 \
  "the index recorded"
LOCKSTEP_STORE="$indexed" expect_exit 0 "$LOCKSTEP" gc --grace 0s
held="$indexed/blobs/sha256/$(sha "$weights" | cut -c1-2)/$(sha "$weights")"
[[ -e "$held" ]] || fail "gc swept a layer of a pulled index"
[[ -e "$indexed/blobs/sha256/${child:7:2}/${child:7}" ]] ||
  fail "gc swept the child manifest of a pulled index"

# 17. A push to REPO@sha256:X ignored X and exited 0; X did not exist.
wrong="sha256:$(sha 'not this manifest')"
expect_exit 3 "$LOCKSTEP" push "$TEST_DIR/f.txt" "$REGISTRY/r/x@$wrong" \
  --insecure
expect_contains "$TEST_DIR/stderr.txt" ", not $wrong; push to a tag"
# ... before any blob went up; and the right digest is printed once.
expect_exit 3 "$LOCKSTEP" push "$TEST_DIR/f.txt" "$REGISTRY/r/y@$wrong" \
  --insecure
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' \
  "http://$REGISTRY/v2/r/y/tags/list")" 404 "no repository made"
expect_exit 0 "$LOCKSTEP" push "$TEST_DIR/f.txt" "$REGISTRY/r/y:v1" \
  --insecure
right=$(sed 's/.*@//' "$TEST_DIR/stdout.txt")
expect_exit 0 "$LOCKSTEP" push "$TEST_DIR/f.txt" "$REGISTRY/r/y@$right" \
  --insecure
expect_eq "$(cat "$TEST_DIR/stdout.txt")" "$REGISTRY/r/y@$right" \
  "a digest target printed once"

# 18. Moving an immutable tag exited 5, which means no usable login.
echo one >"$TEST_DIR/im1.txt"
echo two >"$TEST_DIR/im2.txt"
expect_exit 0 "$LOCKSTEP" -q push "$TEST_DIR/im1.txt" "$REGISTRY/im/x:v1" \
  --insecure
"$LOCKSTEP" registry immutable im/x -q
expect_exit 3 "$LOCKSTEP" push "$TEST_DIR/im2.txt" "$REGISTRY/im/x:v1" \
  --insecure
expect_contains "$TEST_DIR/stderr.txt" "DENIED: tag v1 in im/x is immutable"

# 19. A pull by digest printed the digest twice; --output naming a file
# failed after the pull with a message naming a temporary file; https
# to a plain-HTTP registry said only "SSL connect error".
nested=$(curl -s -o /dev/null -w '%header{docker-content-digest}' \
  -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
  "http://$REGISTRY/v2/r/nested/manifests/v1")
expect_exit 0 "$LOCKSTEP" pull "$REGISTRY/r/nested@$nested" --insecure
expect_eq "$(head -1 "$TEST_DIR/stdout.txt")" "$REGISTRY/r/nested@$nested" \
  "pulled reference"
expect_exit 3 "$LOCKSTEP" pull "$REGISTRY/r/nested:v1" --insecure \
  --output "$TEST_DIR/f.txt"
expect_contains "$TEST_DIR/stderr.txt" \
  "--output: $TEST_DIR/f.txt is not a folder; nothing was registered or \
written"
expect_exit 6 "$LOCKSTEP" pull "$REGISTRY/r/nested:v1"
expect_contains "$TEST_DIR/stderr.txt" \
  "if the registry serves plain HTTP, give --insecure"

# 20. Every fault in the Docker config file was reported as "wants a
# user name and password"; credential helpers were not asked.
mkdir -p "$TEST_DIR/helpers" "$TEST_DIR/helped"
cat >"$TEST_DIR/helpers/docker-credential-test" <<'SH'
#!/bin/sh
read host
echo "$host" >"$(dirname "$0")/asked"
printf '{"ServerURL":"%s","Username":"ana","Secret":"secret pass"}\n' "$host"
SH
chmod +x "$TEST_DIR/helpers/docker-credential-test"
for mode in basic token; do
  stop_registry
  start_registry --htpasswd "$TEST_DIR/h.htp" --auth "$mode"
  export DOCKER_CONFIG="$TEST_DIR/no-logins"
  expect_exit 5 "$LOCKSTEP" push "$TEST_DIR/f.txt" "$REGISTRY/r/x:v4" \
    --insecure
  expect_contains "$TEST_DIR/stderr.txt" \
    "no login for $REGISTRY in $TEST_DIR/no-logins/config.json"

  export DOCKER_CONFIG="$TEST_DIR/helped"
  echo "{\"credHelpers\": {\"$REGISTRY\": \"test\"}}" \
    >"$DOCKER_CONFIG/config.json"
  PATH="$TEST_DIR/helpers:$PATH" expect_exit 0 "$LOCKSTEP" -q push \
    "$TEST_DIR/f.txt" "$REGISTRY/r/x:helped-$mode" --insecure
  expect_eq "$(cat "$TEST_DIR/helpers/asked")" "$REGISTRY" "helper asked"
done
printf '{"auths": {\n  "%s": {"auth": "not base64!"}}}' "$REGISTRY" \
  >"$DOCKER_CONFIG/config.json"
expect_exit 3 "$LOCKSTEP" push "$TEST_DIR/f.txt" "$REGISTRY/r/x:v5" \
  --insecure
expect_contains "$TEST_DIR/stderr.txt" \
  "$DOCKER_CONFIG/config.json:2:$((${#REGISTRY} + 8)): \
auths.\"$REGISTRY\".auth: is not base64"
echo '{"credsStore": "absent"}' >"$DOCKER_CONFIG/config.json"
expect_exit 5 "$LOCKSTEP" push "$TEST_DIR/f.txt" "$REGISTRY/r/x:v5" \
  --insecure
expect_contains "$TEST_DIR/stderr.txt" \
  "docker-credential-absent (named in $DOCKER_CONFIG/config.json) could \
not be run"

echo PASS
