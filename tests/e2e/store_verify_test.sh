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

# A flipped byte in the snapshot's bytes.
rows=$(sha256sum rows.csv | cut -d' ' -f1)
chmod u+w "$(blob_path "$rows")"
printf 'X' | dd of="$(blob_path "$rows")" bs=1 seek=3 conv=notrunc \
  2>/dev/null
expect_exit 1 "$LOCKSTEP" store verify
expect_contains stdout.txt "corrupt sha256:$rows"
expect_contains stdout.txt "1 problems"
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

# A store that does not exist is not created by verifying it.
LOCKSTEP_STORE="$TEST_DIR/none" expect_exit 2 "$LOCKSTEP" store verify
[[ ! -e "$TEST_DIR/none" ]] || fail "verify created a store"
echo PASS
