#!/usr/bin/env bash
# `registry serve` and `registry immutable` findings of a tester (brk-E
# F5-F8): each with the input that showed it and the outcome now expected.
source "$(dirname "$0")/lib.sh"
source "$LOCKSTEP_SOURCE_DIR/tests/e2e/registry_lib.sh"
on_exit stop_registry

oci=application/vnd.oci.image
start_registry
base="http://$REGISTRY/v2"
# A config and a layer in r/app.
printf '{}' >"$TEST_DIR/config"
printf 'layer bytes' >"$TEST_DIR/layer"
for blob in config layer; do
  digest="sha256:$(sha "$(cat "$TEST_DIR/$blob")")"
  expect_eq "$(http_status POST "$base/r/app/blobs/uploads/?digest=$digest" \
    --data-binary "@$TEST_DIR/$blob")" 201 "upload $blob"
done
config="{\"mediaType\":\"application/vnd.oci.empty.v1+json\",\
\"digest\":\"sha256:$(sha '{}')\",\"size\":2}"
layer_digest="sha256:$(sha 'layer bytes')"
missing_digest="sha256:$(sha 'never uploaded')"
layer="{\"mediaType\":\"$oci.layer.v1.tar\",\"digest\":\"$layer_digest\","

# F5. "layers" twice: the last (empty) list won and the manifest, whose
# first list names a blob never pushed, was stored.
dup="{\"schemaVersion\":2,\"mediaType\":\"$oci.manifest.v1+json\",\
\"config\":$config,\"layers\":[{\"mediaType\":\"$oci.layer.v1.tar\",\
\"digest\":\"$missing_digest\",\"size\":14}],\"layers\":[]}"
expect_eq "$(http_status PUT "$base/r/app/manifests/dup" \
  -H "Content-Type: $oci.manifest.v1+json" --data-binary "$dup")" 400 \
  "a manifest with a repeated key"
expect_contains "$TEST_DIR/body.txt" '"code":"MANIFEST_INVALID"'
expect_contains "$TEST_DIR/body.txt" \
  'key \"layers\" appears twice in the same object'
expect_eq "$(http_status GET "$base/r/app/manifests/dup")" 404 \
  "the refused manifest is not stored"

# F8. A size of 10.0 was "missing or negative".
float="{\"schemaVersion\":2,\"mediaType\":\"$oci.manifest.v1+json\",\
\"config\":$config,\"layers\":[${layer}\"size\":11.0}]}"
expect_eq "$(http_status PUT "$base/r/app/manifests/v1" \
  -H "Content-Type: $oci.manifest.v1+json" --data-binary "$float")" 400 \
  "a size of 11.0"
expect_contains "$TEST_DIR/body.txt" \
  'layers[0].size: must be a whole number of bytes, not 11.0'

# F8. A Content-Type in another case was refused; it is the same type,
# and the registry serves its lower-case spelling.
good="{\"schemaVersion\":2,\"mediaType\":\"$oci.manifest.v1+json\",\
\"config\":$config,\"layers\":[${layer}\"size\":11}]}"
expect_eq "$(http_status PUT "$base/r/app/manifests/v1" \
  -H 'Content-Type: Application/VND.OCI.Image.Manifest.v1+JSON' \
  --data-binary "$good")" 201 "a Content-Type in mixed case"
expect_eq "$(http_status GET "$base/r/app/manifests/v1")" 200 "get v1"
expect_eq "$(header Content-Type)" "$oci.manifest.v1+json" \
  "the media type served"

# F8. Every bad n was "n must be >= 0".
for case in "2abc|n must be a whole number, not '2abc'" \
            "2.5|n must be a whole number, not '2.5'" \
            "-1|n must be >= 0, not -1" \
            "99999999999999999999|n=99999999999999999999 is too large"; do
  n=${case%%|*}
  expect_eq "$(http_status GET "$base/_catalog?n=$n")" 400 "catalog n=$n"
  expect_contains "$TEST_DIR/body.txt" "PAGINATION_NUMBER_INVALID"
  expect_contains "$TEST_DIR/body.txt" "${case#*|}"
  expect_eq "$(http_status GET "$base/r/app/tags/list?n=$n")" 400 \
    "tags n=$n"
  expect_contains "$TEST_DIR/body.txt" "${case#*|}"
done
stop_registry

# F6. A repository never pushed (a typo) was recorded and reported
# immutable; a --store that did not exist was created.
expect_exit 2 "$LOCKSTEP" registry immutable r/ap
expect_contains "$TEST_DIR/stderr.txt" \
  "error: repository r/ap is not known: nothing was pushed to it; check \
the name, or pass --create"
expect_exit 0 "$LOCKSTEP" registry immutable r/app
expect_contains "$TEST_DIR/stdout.txt" "r/app: tags are now immutable"
expect_exit 0 "$LOCKSTEP" registry immutable next/app --create
expect_exit 2 "$LOCKSTEP" --store "$TEST_DIR/typo/.lockstep" \
  registry immutable r/app
[[ ! -e "$TEST_DIR/typo" ]] || fail "registry immutable created a store"
start_registry
base="http://$REGISTRY/v2"
expect_eq "$(http_status GET "$base/_catalog")" 200 "catalog"
expect_eq "$(cat "$TEST_DIR/body.txt")" \
  '{"repositories":["next/app","r/app"]}' "no r/ap in the catalog"
stop_registry

# F7. Every TLS refusal said "cannot load TLS certificate X and key Y".
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
  -keyout "$TEST_DIR/a.key" -out "$TEST_DIR/a.crt" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=b \
  -keyout "$TEST_DIR/b.key" -out "$TEST_DIR/b.crt" 2>/dev/null
port=$(free_port)
serve_tls() {
  "$LOCKSTEP" registry serve --listen "127.0.0.1:$port" --tls-cert "$1" \
    --tls-key "$2"
}
expect_exit 3 serve_tls "$TEST_DIR/a.crt" "$TEST_DIR/b.key"
expect_contains "$TEST_DIR/stderr.txt" "error: $TEST_DIR/b.key: this \
private key does not belong to the certificate in $TEST_DIR/a.crt"
expect_exit 2 serve_tls "$TEST_DIR/nope.crt" "$TEST_DIR/a.key"
expect_contains "$TEST_DIR/stderr.txt" \
  "error: $TEST_DIR/nope.crt: No such file or directory"
expect_exit 2 serve_tls "$TEST_DIR/a.crt" "$TEST_DIR/nope.key"
expect_contains "$TEST_DIR/stderr.txt" \
  "error: $TEST_DIR/nope.key: No such file or directory"
expect_exit 3 serve_tls "$TEST_DIR/a.key" "$TEST_DIR/a.key"
expect_contains "$TEST_DIR/stderr.txt" \
  "error: $TEST_DIR/a.key: not a PEM certificate"
expect_exit 3 serve_tls "$TEST_DIR/a.crt" "$TEST_DIR/a.crt"
expect_contains "$TEST_DIR/stderr.txt" \
  "error: $TEST_DIR/a.crt: not a PEM private key"
openssl pkey -in "$TEST_DIR/a.key" -aes256 -passout pass:pw \
  -out "$TEST_DIR/locked.key"
expect_exit 3 serve_tls "$TEST_DIR/a.crt" "$TEST_DIR/locked.key"
expect_contains "$TEST_DIR/stderr.txt" "locked.key: an encrypted private key"
# A malformed flag value is a usage error, as an unknown flag is. The
# timeout: "PORTx" used to be read as PORT, and that server never ends.
for listen in 127.0.0.1:abc "127.0.0.1:${port}x" 127.0.0.1:0 nocolon; do
  expect_exit 64 timeout 10 "$LOCKSTEP" registry serve --listen "$listen"
  expect_contains "$TEST_DIR/stderr.txt" "--listen"
done

# F8. A lower-case "basic" scheme got 401: schemes are case-insensitive.
htpasswd -cbB "$TEST_DIR/users" ana 'ana pw' 2>/dev/null
start_registry --htpasswd "$TEST_DIR/users"
base="http://$REGISTRY/v2"
credentials=$(printf 'ana:ana pw' | base64)
for scheme in Basic basic BASIC; do
  expect_eq "$(http_status GET "$base/" \
    -H "Authorization: $scheme $credentials")" 200 "scheme $scheme"
done
stop_registry

# F8. The token realm came from the request's Host header; --token-realm
# names it, and a lower-case "bearer" is accepted.
start_registry --htpasswd "$TEST_DIR/users" --auth token
base="http://$REGISTRY/v2"
http_status GET "$base/r/app/tags/list" -H 'Host: elsewhere.example' \
  >/dev/null
scope='service="lockstep",scope="repository:r/app:pull"'
expect_eq "$(header WWW-Authenticate)" \
  "Bearer realm=\"http://elsewhere.example/token\",$scope" \
  "the realm without --token-realm (documented)"
stop_registry
start_registry --htpasswd "$TEST_DIR/users" --auth token \
  --token-realm https://registry.example/token
base="http://$REGISTRY/v2"
http_status GET "$base/r/app/tags/list" -H 'Host: elsewhere.example' \
  >/dev/null
expect_eq "$(header WWW-Authenticate)" \
  "Bearer realm=\"https://registry.example/token\",$scope" \
  "the realm with --token-realm"
token=$(curl -s -u 'ana:ana pw' \
  "http://$REGISTRY/token?service=lockstep&scope=repository:r/app:pull" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
expect_eq "$(http_status GET "$base/r/app/tags/list" \
  -H "Authorization: bearer $token")" 200 "scheme bearer"
stop_registry
expect_exit 64 "$LOCKSTEP" registry serve --htpasswd "$TEST_DIR/users" \
  --auth basic --token-realm https://registry.example/token
expect_contains "$TEST_DIR/stderr.txt" "applies only with --auth token"
expect_exit 64 "$LOCKSTEP" registry serve --htpasswd "$TEST_DIR/users" \
  --auth token --token-realm 'registry.example/token'
expect_contains "$TEST_DIR/stderr.txt" "--token-realm must be an http"
