#!/usr/bin/env bash
# A dry run only looks: `gc --dry-run` and `cleanup --dry-run` in a store
# that never served made it an empty registry index (and the marker that
# says one existed), which a dry run must not write.
source "$(dirname "$0")/lib.sh"

printf 'a,b\n1,2\n' >t.csv
expect_exit 0 "$LOCKSTEP" -q data snapshot t.csv --name t
echo '[{"name": "old", "action": {"type": "Delete"},
  "condition": {"tagState": "any"}}]' >policy.json

expect_exit 0 "$LOCKSTEP" gc --dry-run
expect_contains stdout.txt "kept sha256:"
expect_exit 0 "$LOCKSTEP" cleanup --policy policy.json --dry-run
[[ ! -e "$LOCKSTEP_STORE/registry" ]] || fail "a dry run made registry/"
[[ ! -e "$LOCKSTEP_STORE/.registry-index.created" ]] ||
  fail "a dry run left the index marker"

# A real gc may make it; a dry run after that reads the real index.
expect_exit 0 "$LOCKSTEP" gc
[[ -e "$LOCKSTEP_STORE/.registry-index.created" ]] || fail "gc: no marker"
expect_exit 0 "$LOCKSTEP" gc --dry-run

# And a lost index is refused by a dry run as by a real one.
rm "$LOCKSTEP_STORE/registry/index.db"*
expect_exit 4 "$LOCKSTEP" gc --dry-run
expect_contains stderr.txt "the registry index is missing"
echo PASS
