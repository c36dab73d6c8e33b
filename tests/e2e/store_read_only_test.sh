#!/usr/bin/env bash
# A store on a read-only file system (brk-P finding 7): every command
# said "SQLite script failed: unable to open database file: unable to
# open database file", and `registry serve --read-only` could not serve
# a store that never served.
source "$(dirname "$0")/lib.sh"
source "$LOCKSTEP_SOURCE_DIR/tests/e2e/registry_lib.sh"
private_mounts
on_exit stop_registry

S="$TEST_DIR/store"
printf 'x,y\n1,2\n' >a.csv
expect_exit 0 "$LOCKSTEP" data snapshot a.csv --name a -q --store "$S"
mount --bind "$S" "$S"
if ! mount -o remount,ro,bind "$S" 2>/dev/null; then
  umount "$S"
  echo "SKIP: cannot mount a folder read-only here"
  exit 0
fi
on_exit "umount -l '$S'"

why="is on a read-only file system, and SQLite writes beside a database \
even to read it"
for command in "runs list" "data list" "store verify"; do
  # shellcheck disable=SC2086  # The command's words.
  expect_exit 6 "$LOCKSTEP" $command --store "$S"
  expect_eq "$(cat stderr.txt)" "lockstep: error: $S/metadata.db: cannot \
open the database: $S $why" "$command on a read-only store"
done

# A store that never served has no registry index to read: a read-only
# server serves an empty registry, and one that writes says why not.
start_registry --store "$S" --read-only
expect_eq "$(http_status GET "http://$REGISTRY/v2/_catalog")" 200 \
  "a read-only server on a read-only store"
expect_eq "$(cat "$TEST_DIR/body.txt")" '{"repositories":[]}' "its catalog"
stop_registry
expect_exit 6 "$LOCKSTEP" registry serve --listen 127.0.0.1:1 --store "$S"
expect_eq "$(cat stderr.txt)" "lockstep: error: $S/registry/index.db: \
cannot open the database: $S $why" "a server that writes"
echo "store read-only: ok"
