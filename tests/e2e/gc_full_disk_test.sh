#!/usr/bin/env bash
# gc on a full disk (brk-P finding 2): gc, gc --dry-run and cleanup all
# failed with SQLite's "database or disk is full", since their databases
# need room to record what they remove, and the operator was left to
# delete files by hand. A store now holds a 1 MiB reserve that gc and
# cleanup free first on a full disk; gc makes it again after sweeping.
source "$(dirname "$0")/lib.sh"
small_disk disk 20m
export LOCKSTEP_STORE="$TEST_DIR/disk/store"

head -c 1000000 /dev/urandom >keep.bin
echo '[{"name": "old", "action": {"type": "Delete"},
  "condition": {"tagState": "untagged"}}]' >policy.json
head -c 6000000 /dev/urandom >junk.bin
"$LOCKSTEP" -q data snapshot keep.bin --name keep
"$LOCKSTEP" -q data snapshot junk.bin --name junk --expires 1s
junk="sha256:$(sha256sum junk.bin | cut -c1-64)"
[[ -f $LOCKSTEP_STORE/reserve ]] || fail "a new store has no reserve"
sleep 1.2  # junk expires

fill_disk disk 0
expect_eq "$(df -B1 --output=avail disk | tail -1 | tr -d ' ')" 0 \
  "the disk is full"
# A command that only reads said "SQLite script failed: disk I/O error",
# then named the full disk; it now reads the database read-only.
expect_exit 0 "$LOCKSTEP" data list --json
expect_eq "$(json stdout.txt '[s["name"] for s in d["snapshots"]]')" \
  "['junk', 'keep']" "reading on a full disk"
expect_exit 0 "$LOCKSTEP" gc --grace 0s
expect_contains stderr.txt "the disk is full: using the store's 1024 KiB \
space reserve"
expect_contains stdout.txt "remove snapshot junk@1"
expect_contains stdout.txt "swept $junk (6000000 bytes)"
[[ -f $LOCKSTEP_STORE/reserve ]] || fail "gc did not make the reserve again"
expect_eq "$(stat -c %s "$LOCKSTEP_STORE/reserve")" 1048576 "reserve size"

# A dry run on a full disk failed the same way (SQLite writes its log
# beside a database even to read it): it uses the reserve too, and the
# gc after it, with the room the dry run left, makes it again.
fill_disk disk 0
expect_exit 0 "$LOCKSTEP" gc --dry-run --grace 0s
expect_contains stderr.txt "the disk is full: using the store's 1024 KiB \
space reserve"
[[ ! -f $LOCKSTEP_STORE/reserve ]] || fail "the dry run kept the reserve"
expect_exit 0 "$LOCKSTEP" cleanup --dry-run --policy policy.json
rm disk/filler
expect_exit 0 "$LOCKSTEP" gc --grace 0s
[[ -f $LOCKSTEP_STORE/reserve ]] || fail "gc did not make the reserve again"

expect_exit 0 "$LOCKSTEP" store verify
expect_exit 0 "$LOCKSTEP" data verify keep@1
echo "gc on a full disk: ok"
