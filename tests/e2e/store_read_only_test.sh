#!/usr/bin/env bash
# A store on a read-only file system. Every command once said "SQLite
# script failed: unable to open database file" (brk-P finding 7); then
# readers said why but still could not read it, since SQLite in WAL mode
# writes beside a database even to read it. Commands that only read now
# open the lineage database and the registry index read-only; commands
# that write still say why they cannot.
source "$(dirname "$0")/lib.sh"
source "$LOCKSTEP_SOURCE_DIR/tests/e2e/registry_lib.sh"
private_mounts
on_exit stop_registry

S="$TEST_DIR/store"
printf 'x,y\n1,2\n' >a.csv
expect_exit 0 "$LOCKSTEP" data snapshot a.csv --name a -q --store "$S"
make_oci_layout "$TEST_DIR/image" v1 2 >/dev/null
start_registry --store "$S"
skopeo copy -q --dest-tls-verify=false "oci:$TEST_DIR/image:v1" \
  "docker://$REGISTRY/app:v1" || fail "push to the writable store"
stop_registry

# read_only DIR: mounts DIR read-only over itself, or skips the test.
read_only() {
  mount --bind "$1" "$1"
  if ! mount -o remount,ro,bind "$1" 2>/dev/null; then
    umount "$1"
    echo "SKIP: cannot mount a folder read-only here"
    exit 0
  fi
  on_exit "umount -l '$1'"
}
read_only "$S"

# Readers read.
expect_exit 0 "$LOCKSTEP" data list --json --store "$S"
expect_eq "$(json stdout.txt '[s["name"] for s in d["snapshots"]]')" \
  "['a']" "data list on a read-only store"
expect_exit 0 "$LOCKSTEP" data verify a --store "$S"
expect_exit 0 "$LOCKSTEP" runs list --json --store "$S"
expect_exit 0 "$LOCKSTEP" store info --store "$S"
expect_exit 0 "$LOCKSTEP" store verify --store "$S"
expect_contains stdout.txt "no problems"

# A read-only server serves what the store holds.
start_registry --store "$S" --read-only
expect_eq "$(http_status GET "http://$REGISTRY/v2/app/tags/list")" 200 \
  "tags on a read-only store"
expect_eq "$(cat "$TEST_DIR/body.txt")" '{"name":"app","tags":["v1"]}' \
  "its tags"
skopeo copy -q --src-tls-verify=false "docker://$REGISTRY/app:v1" \
  "oci:$TEST_DIR/pulled:v1" || fail "pull from a read-only store"
stop_registry

# Writers say why they cannot.
why="is on a read-only file system, and SQLite writes beside a database \
even to read it"
expect_exit 6 "$LOCKSTEP" data snapshot a.csv --name b --store "$S"
expect_eq "$(cat stderr.txt)" "lockstep: error: $S/metadata.db: cannot \
open the database: $S $why" "a snapshot into a read-only store"
expect_exit 6 "$LOCKSTEP" registry serve --listen "127.0.0.1:$(free_port)" \
  --store "$S"
expect_eq "$(cat stderr.txt)" "lockstep: error: $S/registry/index.db: \
cannot open the database: $S/registry $why" "a server that writes"

# A store that never served has no registry index to read: a read-only
# server serves an empty registry.
E="$TEST_DIR/empty"
expect_exit 0 "$LOCKSTEP" data snapshot a.csv --name a -q --store "$E"
read_only "$E"
start_registry --store "$E" --read-only
expect_eq "$(http_status GET "http://$REGISTRY/v2/_catalog")" 200 \
  "a read-only server on a store that never served"
expect_eq "$(cat "$TEST_DIR/body.txt")" '{"repositories":[]}' "its catalog"
stop_registry

# A copy taken while a writer held the database has transactions in its
# write-ahead log. With the log's index (-shm) they are read through the
# log; without it they cannot be, and the reader says it does not see
# them rather than failing.
W="$TEST_DIR/writing"
expect_exit 0 "$LOCKSTEP" data snapshot a.csv --name a -q --store "$W"
python3 -c '
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
db.execute("SELECT count(*) FROM sqlite_master").fetchall()
print("open", flush=True)
time.sleep(60)' "$W/metadata.db" >holder.txt &
holder=$!
on_exit "kill $holder 2>/dev/null || true"
for _ in $(seq 1 100); do
  [[ -s holder.txt ]] && break
  sleep 0.05
done
printf 'x,y\n3,4\n' >b.csv
expect_exit 0 "$LOCKSTEP" data snapshot b.csv --name b -q --store "$W"
cp -a "$W" "$TEST_DIR/with-log"
kill "$holder"
[[ -s "$TEST_DIR/with-log/metadata.db-wal" ]] ||
  fail "the copy has no write-ahead log to read"
cp -a "$TEST_DIR/with-log" "$TEST_DIR/log-only"
rm "$TEST_DIR/log-only/metadata.db-shm"
read_only "$TEST_DIR/with-log"
read_only "$TEST_DIR/log-only"
expect_exit 0 "$LOCKSTEP" data list --json --store "$TEST_DIR/with-log"
expect_eq "$(json stdout.txt '[s["name"] for s in d["snapshots"]]')" \
  "['a', 'b']" "read through the write-ahead log"
expect_eq "$(cat stderr.txt)" "" "nothing to warn of"
expect_exit 0 "$LOCKSTEP" data list --json --store "$TEST_DIR/log-only"
expect_eq "$(json stdout.txt '[s["name"] for s in d["snapshots"]]')" \
  "['a']" "the database as it was before the log"
db="$TEST_DIR/log-only/metadata.db"
expect_eq "$(cat stderr.txt)" "lockstep: warning: $db: transactions in \
its write-ahead log ($db-wal) are not seen: it is read as it was when the \
log was last folded in" "the warning"

# Another user's idle store: a read-only server would have to read its
# index as immutable and would never see the owner's later pushes (a
# tester's finding), so it refuses; a short command still reads it.
if command -v runuser >/dev/null && id nobody >/dev/null 2>&1; then
  O="$TEST_DIR/owned"
  expect_exit 0 "$LOCKSTEP" data snapshot a.csv --name a -q --store "$O"
  start_registry --store "$O"
  skopeo copy -q --dest-tls-verify=false "oci:$TEST_DIR/image:v1" \
    "docker://$REGISTRY/app:v1" || fail "push to the owner's store"
  stop_registry
  chmod 755 "$TEST_DIR"
  expect_exit 6 runuser -u nobody -- "$LOCKSTEP" registry serve \
    --read-only --store "$O" --listen "127.0.0.1:$(free_port)"
  expect_contains stderr.txt "$O/registry is not writable by this user"
  expect_exit 0 runuser -u nobody -- "$LOCKSTEP" data list --store "$O"
  expect_contains stdout.txt "a@1"
fi
echo "store read-only: ok"
