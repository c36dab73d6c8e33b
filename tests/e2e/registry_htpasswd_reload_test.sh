#!/usr/bin/env bash
# Found by a tester with buildah: a user removed with `htpasswd -D` could
# still push until the server restarted. The server now follows its
# --htpasswd and --access files (looking at most once a second): removed
# users get 401 and added ones get in, without a restart; a broken file
# keeps the users read before, with one warning, until it is fixed.
source "$(dirname "$0")/lib.sh"
source "$LOCKSTEP_SOURCE_DIR/tests/e2e/registry_lib.sh"
on_exit stop_registry

users="$TEST_DIR/users"
htpasswd -cbB "$users" ana 'ana secret' 2>/dev/null
htpasswd -bB "$users" carl 'carl secret' 2>/dev/null

# push_blob TEXT CURL_ARGS...: a monolithic upload of a blob holding
# TEXT to team/app; prints the status.
push_blob() {
  printf '%s' "$1" >blob.bin
  local digest
  digest=$(sha "$1")
  shift
  http_status POST "$base/team/app/blobs/uploads/?digest=sha256:$digest" \
    -H 'Content-Type: application/octet-stream' --data-binary @blob.bin "$@"
}

# until_status EXPECTED CMD...: reruns CMD (which prints a status) until
# it prints EXPECTED, for 3 s at most (the server looks once a second);
# prints the last status.
until_status() {
  local expected=$1 got
  shift
  for _ in $(seq 1 30); do
    got=$("$@")
    [[ $got == "$expected" ]] && break
    sleep 0.1
  done
  echo "$got"
}

start_registry --htpasswd "$users"
base="http://$REGISTRY/v2"
expect_eq "$(push_blob one -u 'carl:carl secret')" 201 "carl pushes"
expect_eq "$(http_status GET "$base/" -u 'carl:carl secret')" 200 "carl /v2/"

# Removed: htpasswd -D rewrites the file in place.
htpasswd -D "$users" carl 2>/dev/null
expect_eq "$(until_status 401 http_status GET "$base/" -u 'carl:carl secret')" \
  401 "removed user on /v2/"
expect_eq "$(push_blob two -u 'carl:carl secret')" 401 "removed user pushes"
expect_eq "$(push_blob two -u 'ana:ana secret')" 201 "ana still pushes"
expect_contains "$TEST_DIR/registry.log" "users changed: read again"

# Added.
htpasswd -bB "$users" erin 'erin secret' 2>/dev/null
expect_eq "$(until_status 201 push_blob three -u 'erin:erin secret')" 201 \
  "added user pushes"

# Replaced by rename (as an editor or a deployment tool does).
cp "$users" users.new
htpasswd -D users.new erin 2>/dev/null
mv users.new "$users"
expect_eq "$(until_status 401 push_blob four -u 'erin:erin secret')" 401 \
  "user removed by rename"

# Broken: the users read before stay, one warning names file and line.
cp "$users" users.good
echo 'dave:{SHA}plain' >>"$users"
sleep 1.2
for _ in 1 2 3; do
  expect_eq "$(push_blob five -u 'ana:ana secret')" 201 "ana, file broken"
done
expect_eq "$(http_status GET "$base/" -u 'erin:erin secret')" 401 \
  "erin, file broken"
expect_eq "$(grep -c "$users:2:6: only bcrypt" "$TEST_DIR/registry.log")" 1 \
  "one warning per change"
# Missing: the same.
rm "$users"
sleep 1.2
expect_eq "$(push_blob six -u 'ana:ana secret')" 201 "ana, file missing"
# Fixed.
cp users.good "$users"
htpasswd -bB "$users" erin 'erin secret' 2>/dev/null
expect_eq "$(until_status 201 push_blob seven -u 'erin:erin secret')" 201 \
  "erin, file fixed"
stop_registry

# The access rules file is followed as well.
cat >access.json <<'JSON'
{"rules": [{"repository": "team/*", "read": ["*"], "write": ["ana"]}]}
JSON
start_registry --htpasswd "$users" --access "$TEST_DIR/access.json"
base="http://$REGISTRY/v2"
expect_eq "$(push_blob eight -u 'erin:erin secret')" 403 "erin may not push"
cat >access.json <<'JSON'
{"rules": [{"repository": "team/*", "read": ["*"], "write": ["*"]}]}
JSON
expect_eq "$(until_status 201 push_blob eight -u 'erin:erin secret')" 201 \
  "erin may push once the rules say so"
stop_registry

# Token flow: a token issued before its user was removed stops working.
start_registry --htpasswd "$users" --auth token
base="http://$REGISTRY/v2"
curl -s -u 'erin:erin secret' -o token.json \
  "http://$REGISTRY/token?service=lockstep&scope=repository:team/app:pull,push"
token=$(json token.json 'd["token"]')
expect_eq "$(push_blob nine -H "Authorization: Bearer $token")" 201 \
  "erin pushes with a token"
htpasswd -D "$users" erin 2>/dev/null
expect_eq "$(until_status 401 http_status GET "$base/team/app/tags/list" \
  -H "Authorization: Bearer $token")" 401 "token of a removed user"
echo "PASS"
