#!/usr/bin/env bash
# Found by a tester: a killed `data export` of a folder left its staging
# folder (.export-<16 hex>) beside DEST forever. The next export into the
# same parent removes those whose flock it can take, and only those.
source "$(dirname "$0")/lib.sh"

mkdir -p tree/sub
for i in $(seq 1 50); do head -c 100000 /dev/urandom >"tree/sub/f$i"; done
expect_exit 0 "$LOCKSTEP" -q data snapshot tree --name tree
mkdir out

# Left by a process that died: no one holds its lock.
mkdir -p out/.export-0123456789abcdef/sub
echo partial >out/.export-0123456789abcdef/sub/f1
# Held by a live export, and a user's own folder: both stay.
mkdir out/.export-fedcba9876543210 out/.export-config
(exec 9<out/.export-fedcba9876543210 && flock 9 && touch locked &&
  exec sleep 60) &
holder=$!
on_exit "kill $holder"
wait_for locked

expect_exit 0 "$LOCKSTEP" data export tree@1 out/copy
[[ ! -e out/.export-0123456789abcdef ]] || fail "the stale folder stayed"
[[ -d out/.export-fedcba9876543210 ]] || fail "a held folder was removed"
[[ -d out/.export-config ]] || fail "a user's folder was removed"
diff -r tree out/copy || fail "the export differs"
expect_eq "$(ls -A out | sort | tr '\n' ' ')" \
  ".export-config .export-fedcba9876543210 copy " "what out/ holds"

# A real kill mid-way leaves a folder the next export removes.
"$LOCKSTEP" -q data export tree@1 out/killed &
pid=$!
for _ in $(seq 1 200); do
  compgen -G 'out/.export-[0-9a-f]*' | grep -qv fedcba && break
  sleep 0.005
done
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
expect_exit 0 "$LOCKSTEP" data export tree@1 out/again
expect_eq "$(ls -A out | grep -c '^\.export-[0-9a-f]\{16\}$')" 1 \
  "staging folders left (only the held one)"
echo PASS
