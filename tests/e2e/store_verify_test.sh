#!/usr/bin/env bash
# lockstep store verify: a whole store checked at rest. Each kind of
# damage is made by hand, and the check must name it (a tester had to
# write their own checker to find an index left with a missing child).
source "$(dirname "$0")/lib.sh"
source "$LOCKSTEP_SOURCE_DIR/tests/e2e/registry_lib.sh"
on_exit stop_registry

blob_path() {
  echo "$LOCKSTEP_STORE/blobs/sha256/${1:0:2}/$1"
}

# A file snapshot, and a file pushed to the store's own registry.
printf 'id,x\n1,a\n2,b\n' >rows.csv
$LOCKSTEP -q data snapshot rows.csv --name rows
echo pushed >pushed.txt
start_registry
expect_exit 0 "$LOCKSTEP" -q push pushed.txt "$REGISTRY/app/files:v1" \
  --insecure
stop_registry

expect_exit 0 "$LOCKSTEP" store verify --json
expect_eq "$(json stdout.txt 'd["problems"]')" "[]" "a fresh store is sound"
# rows.csv, pushed.txt, the empty config and the manifest.
expect_eq "$(json stdout.txt 'd["blobsChecked"]')" 4 "blobs re-hashed"

# A manifest_refs row deleted by hand: gc marks from those rows, so it
# would sweep the pushed file while app/files:v1 needs it. Found from the
# manifest's own bytes.
pushed=$(sha256sum pushed.txt | cut -d' ' -f1)
db="$LOCKSTEP_STORE/registry/index.db"
manifest=$(sqlite3 "$db" \
  "SELECT manifest FROM manifest_refs WHERE child = 'sha256:$pushed'")
sqlite3 "$db" "DELETE FROM manifest_refs WHERE child = 'sha256:$pushed'"
expect_exit 1 "$LOCKSTEP" store verify --json
expect_eq "$(json stdout.txt \
  '[(p["kind"], p["digest"]) for p in d["problems"]]')" \
  "[('index', 'sha256:$pushed')]" "a lost manifest_refs row"
sqlite3 "$db" "INSERT INTO manifest_refs VALUES \
  ('app/files', '$manifest', 'sha256:$pushed', 0)"
expect_exit 0 "$LOCKSTEP" store verify

# Found by a tester: a blob DELETE (accepted then) unlinked a layer from
# its repository. Its bytes are still in the store, but the registry no
# longer serves it in app/files, so v1 does not pull; verify said "no
# problems".
link="repository = 'app/files' AND digest = 'sha256:$pushed'"
row=$(sqlite3 "$db" "SELECT size || ', ' || pushed_ms FROM blob_links \
  WHERE $link")
sqlite3 "$db" "DELETE FROM blob_links WHERE $link"
expect_exit 1 "$LOCKSTEP" store verify --json
expect_eq "$(json stdout.txt \
  '[(p["kind"], p["digest"], p["detail"]) for p in d["problems"]]')" \
  "[('dangling', 'sha256:$pushed', 'app/files@$manifest references a blob \
app/files does not have')]" "a layer its repository does not have"
sqlite3 "$db" "INSERT INTO blob_links VALUES \
  ('app/files', 'sha256:$pushed', $row)"
expect_exit 0 "$LOCKSTEP" store verify

# A flipped byte in the snapshot's bytes.
rows=$(sha256sum rows.csv | cut -d' ' -f1)
chmod u+w "$(blob_path "$rows")"
printf 'X' | dd of="$(blob_path "$rows")" bs=1 seek=3 conv=notrunc \
  2>/dev/null
expect_exit 1 "$LOCKSTEP" store verify
expect_contains stdout.txt "corrupt sha256:$rows"
# One problem, in the singular (found by a tester: "1 problems").
grep -q "followed: 1 problem$" stdout.txt || fail "no '1 problem' line"
# --no-hash follows references only: the bytes are there.
expect_exit 0 "$LOCKSTEP" store verify --no-hash

# The snapshot's bytes gone, and the pushed file under the manifest.
pushed=$(sha256sum pushed.txt | cut -d' ' -f1)
rm -f "$(blob_path "$rows")" "$(blob_path "$pushed")"
expect_exit 1 "$LOCKSTEP" store verify --json
expect_eq "$(json stdout.txt \
  'sorted((p["kind"], p["digest"]) for p in d["problems"])')" \
  "[('dangling', 'sha256:$pushed'), ('missing', 'sha256:$rows')]" \
  "what is gone, and who needs it"
expect_contains stdout.txt "references a blob that is not in the store"
expect_contains stdout.txt "rows@1"

# Found by a tester: with registry/index.db gone, verify said "no
# problems" and gc would have swept every pushed blob.
mv "$LOCKSTEP_STORE/registry/index.db" "$TEST_DIR/index.db.saved"
rm -f "$LOCKSTEP_STORE/registry/index.db-wal" \
  "$LOCKSTEP_STORE/registry/index.db-shm"
expect_exit 4 "$LOCKSTEP" store verify
expect_contains stderr.txt "the registry index is missing"
expect_exit 4 "$LOCKSTEP" gc --dry-run
expect_contains stderr.txt "refusing to start a fresh one"
[[ ! -e "$LOCKSTEP_STORE/registry/index.db" ]] || fail "an index was made"
mv "$TEST_DIR/index.db.saved" "$LOCKSTEP_STORE/registry/index.db"

# A folder's small files go into a pack; the same bytes are loose too,
# as an upload of them makes. Each copy is re-hashed where it lies.
export LOCKSTEP_STORE="$TEST_DIR/packed"
mkdir small
for i in 1 2 3; do echo "small file $i" >"small/f$i.txt"; done
$LOCKSTEP -q data snapshot small --name small
pack=$(ls "$LOCKSTEP_STORE"/packs/*.pack)
for f in small/*; do
  h=$(sha256sum "$f" | cut -d' ' -f1)
  mkdir -p "$LOCKSTEP_STORE/blobs/sha256/${h:0:2}"
  cp "$f" "$LOCKSTEP_STORE/blobs/sha256/${h:0:2}/$h"
done
expect_exit 0 "$LOCKSTEP" store verify --json
expect_eq "$(json stdout.txt 'd["packsChecked"]')" 1 "one pack"
chmod u+w "$pack"
cp "$pack" sound.pack
# pack_entry OFFSET: the digest the pack's index names at data OFFSET,
# read with the layout of docs/formats/pack.md.
pack_entry() {
  python3 - "$pack" "$1" <<'PY'
import sys
b = open(sys.argv[1], "rb").read()
at = int.from_bytes(b[-48:-40], "big")
n = int.from_bytes(b[-40:-32], "big")
for i in range(n):
    e = b[at + 48 * i:at + 48 * (i + 1)]
    if int.from_bytes(e[32:40], "big") == int(sys.argv[2]):
        print(e[:32].hex())
PY
}
flip_bit() {
  python3 -c 'import sys; p, o = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read()); b[o] ^= 1; open(p, "wb").write(b)' \
    "$1" "$2"
}

# A flipped bit in the packed copy of a blob that is loose as well.
first=$(pack_entry 0)
flip_bit "$pack" 2
expect_exit 1 "$LOCKSTEP" store verify --json
expect_eq "$(json stdout.txt \
  '[(p["kind"], p["digest"], p["file"]) for p in d["problems"]]')" \
  "[('corrupt', 'sha256:$first', '$pack')]" "the packed copy, named"

# A flipped bit in the pack's index (the first entry's digest).
cp sound.pack "$pack"
index_at=$(python3 -c 'import sys; b = open(sys.argv[1], "rb").read()
print(int.from_bytes(b[-48:-40], "big"))' "$pack")
flip_bit "$pack" $((index_at + 5))
expect_exit 1 "$LOCKSTEP" store verify --json
expect_eq "$(json stdout.txt \
  '[(p["kind"], p["digest"], p["file"]) for p in d["problems"]]')" \
  "[('corrupt', '', '$pack')]" "the pack's damaged index, named"
expect_contains stdout.txt "its index does not hash to its name"

# A store that does not exist is not created by verifying it.
LOCKSTEP_STORE="$TEST_DIR/none" expect_exit 2 "$LOCKSTEP" store verify
[[ ! -e "$TEST_DIR/none" ]] || fail "verify created a store"
echo PASS
