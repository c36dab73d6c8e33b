#!/usr/bin/env bash
# Pushing a folder snapshot to an OCI registry and pulling it into an
# empty store: the record is re-registered, `data verify` passes, the
# export is byte-identical, and a different NAME@V already there is an
# error while the same one is fine.
source "$(dirname "$0")/lib.sh"
source "$LOCKSTEP_SOURCE_DIR/tests/e2e/registry_lib.sh"
on_exit stop_registry

export LOCKSTEP_STORE="$TEST_DIR/registry-store"
start_registry

mkdir -p "$TEST_DIR/a/docs/sub" && cd "$TEST_DIR/a"
export LOCKSTEP_STORE="$TEST_DIR/a/.lockstep"
echo alpha >docs/a.txt
echo beta >docs/sub/b.txt
echo alpha >docs/sub/same.txt
chmod +x docs/sub/b.txt
"$LOCKSTEP" data snapshot docs --name docs --label team=ml --json >snap.json
tree_digest=$(json snap.json 'd["digest"]')
# The files are packed: the push reads them from the pack.
hex=$(sha256sum docs/a.txt | cut -d' ' -f1)
[[ ! -e "$LOCKSTEP_STORE/blobs/sha256/${hex:0:2}/$hex" ]] ||
  fail "a.txt is loose, not packed"
expect_eq "$(ls "$LOCKSTEP_STORE/packs" | wc -l)" 1 "one pack in A (a small folder)"

expect_exit 0 "$LOCKSTEP" push --json --insecure snapshot:docs@1 \
  "$REGISTRY/data/docs:v1"
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["kind"]')" snapshot "kind"
# Record, tree, and one bundle of the two distinct small files
# (same.txt repeats a.txt).
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["layers"]')" 3 "layers"
curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
  "http://$REGISTRY/v2/data/docs/manifests/v1" >m.json
expect_eq "$(json m.json 'd["artifactType"]')" \
  application/vnd.lockstep.snapshot.v1 "artifactType"
expect_eq "$(json m.json '[l["mediaType"] for l in d["layers"]][:2]')" \
  "['application/vnd.lockstep.snapshot.v1+json', 'application/vnd.lockstep.tree.v1']" \
  "record and tree layers"
expect_eq "$(json m.json 'd["layers"][1]["digest"]')" "$tree_digest" "tree"
expect_eq "$(json m.json 'd["layers"][2]["mediaType"]')" \
  application/vnd.lockstep.pack.v1 "bundle layer"
expect_eq "$(json m.json 'd["layers"][2]["annotations"]["lockstep.files"]')" \
  2 "files in the bundle"

mkdir -p "$TEST_DIR/b" && cd "$TEST_DIR/b"
export LOCKSTEP_STORE="$TEST_DIR/b/.lockstep"
expect_exit 0 "$LOCKSTEP" pull --json --insecure "$REGISTRY/data/docs:v1"
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["snapshots"]')" "['docs@1']" \
  "registered"
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["bundledFiles"]')" 2 "unbundled"
# The small files arrive packed, as `data snapshot` stores them.
[[ ! -e "$LOCKSTEP_STORE/blobs/sha256/${hex:0:2}/$hex" ]] ||
  fail "a.txt arrived loose, not packed"
expect_eq "$(ls "$LOCKSTEP_STORE/packs" | wc -l)" 1 "one pack in B"
expect_exit 0 "$LOCKSTEP" data verify docs@1
expect_exit 0 "$LOCKSTEP" data show docs@1 --json
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["labels"]["team"]')" ml "label"
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["digest"]')" "$tree_digest" \
  "digest in B"
expect_exit 0 "$LOCKSTEP" data export docs@1 "$TEST_DIR/b/out"
diff -r "$TEST_DIR/a/docs" "$TEST_DIR/b/out" || fail "export differs"
[[ -x "$TEST_DIR/b/out/sub/b.txt" ]] || fail "execute bit lost"

# Pulling the same snapshot again is fine.
expect_exit 0 "$LOCKSTEP" pull --insecure "$REGISTRY/data/docs:v1"

# docs@1 with other bytes in the destination store is refused.
mkdir -p "$TEST_DIR/c/other" && cd "$TEST_DIR/c"
export LOCKSTEP_STORE="$TEST_DIR/c/.lockstep"
echo different >other/x.txt
"$LOCKSTEP" data snapshot other --name docs -q
expect_exit 3 "$LOCKSTEP" pull --insecure "$REGISTRY/data/docs:v1"
expect_contains "$TEST_DIR/stderr.txt" "snapshot docs@1 already exists here"
echo "share_snapshot_test: ok"
