#!/usr/bin/env bash
# A `data snapshot` stopped by SIGINT or SIGTERM exits 130 with one line,
# removes its temp files and records nothing; the store stays clean and
# the next snapshot succeeds. It died by the signal (exit 143 for
# SIGTERM, not a documented code) and left its temp files in tmp/ for a
# day: 609 MiB after 13 kills (found by a tester).
source "$(dirname "$0")/lib.sh"

# Sparse, so it costs no disk to make, but reading and copying its GiB
# takes the snapshot a second or more: long enough to be caught writing.
mkdir folder
truncate -s 1G folder/big.bin
for i in $(seq 1 300); do echo "row $i" >"folder/small-$i.txt"; done
truncate -s 1G big.bin

# temp_files: what the store's tmp/ holds (empty when it has none).
temp_files() {
  ls -A "$LOCKSTEP_STORE/tmp" 2>/dev/null || true
}

# interrupt SIGNAL SOURCE NAME: starts the snapshot, waits for its large
# file's temp copy (tmp/data-*), and sends SIGNAL. The process is
# stopped (SIGSTOP) while the copy is seen to exist, so that it cannot
# finish between the look and the signal.
interrupt() {
  local signal=$1 source=$2 name=$3
  "$LOCKSTEP" data snapshot "$source" --name "$name" \
    >"$name.out" 2>"$name.err" &
  local pid=$!
  local seen=""
  for _ in $(seq 1 1000); do
    if compgen -G "$LOCKSTEP_STORE/tmp/data-*" >/dev/null; then
      kill -STOP "$pid"
      if compgen -G "$LOCKSTEP_STORE/tmp/data-*" >/dev/null; then
        seen=yes
        break
      fi
      kill -CONT "$pid"
    fi
    sleep 0.01
  done
  [[ -n "$seen" ]] || { kill -KILL "$pid"; fail "$name: no temp file seen"; }
  kill -"$signal" "$pid"
  kill -CONT "$pid"
  local status=0
  wait "$pid" || status=$?
  expect_eq "$status" 130 "$name: exit code after SIG$signal"
  expect_eq "$(cat "$name.err")" \
    "lockstep: error: data snapshot interrupted: no snapshot was recorded" \
    "$name: the one line said"
  expect_eq "$(cat "$name.out")" "" "$name: nothing on stdout"
  expect_eq "$(temp_files)" "" "$name: files left in tmp/"
}

# The store exists before the first interrupted snapshot, so that its
# tmp/ holds only what the snapshots write.
echo a >a.txt
"$LOCKSTEP" data snapshot a.txt --name a -q
expect_eq "$(temp_files)" "" "tmp/ before"

interrupt INT folder tree
interrupt TERM big.bin file

# Nothing recorded, and the store checks clean.
"$LOCKSTEP" data list --json >list.json
expect_eq "$(json list.json '[s["name"] for s in d["snapshots"]]')" "['a']" \
  "snapshots listed"
expect_exit 0 "$LOCKSTEP" store verify

# Both snapshots then succeed, with the bytes' own digest.
"$LOCKSTEP" data snapshot big.bin --name file --json >file.json
expect_eq "$(json file.json 'd["digest"]')" \
  "sha256:$(sha256sum big.bin | cut -d' ' -f1)" "file digest"
"$LOCKSTEP" data snapshot folder --name tree --json >tree.json
expect_eq "$(json tree.json 'd["file_count"]')" 301 "folder files"
expect_eq "$(json tree.json 'd["version"]')" 1 "folder version"
expect_eq "$(temp_files)" "" "tmp/ after"
echo "data snapshot interrupt: ok"
