# A manifest naming a data snapshot the store lacks: reproduce exits 2
# and names the snapshot and its digest (sha256sum's, for a file).
source "$(dirname "$0")/lib.sh"

printf 'x,y\n1,2\n3,4\n' >rows.csv
cat >p.yaml <<'YAML'
pipeline: snap
steps:
  snapshot:
    uses: lockstep/data-snapshot
    with: {source: rows.csv, name: rows}
  count:
    run: [sh, -c, "wc -l <inputs/data >outputs/n"]
    inputs: {data: snapshot.dataset}
    outputs: {n: Artifact}
YAML
"$LOCKSTEP" run p.yaml --json >run.json 2>/dev/null
manifest=$(json run.json 'd["manifest"]')
digest="sha256:$(sha256sum rows.csv | cut -d' ' -f1)"
expect_eq "$(json "$manifest" 'd["data"][0]["digest"]')" "$digest" \
  "snapshot digest"
expect_exit 0 "$LOCKSTEP" reproduce "$manifest"

cp "$manifest" manifest.json
export LOCKSTEP_STORE="$TEST_DIR/empty-store"
expect_exit 2 "$LOCKSTEP" reproduce manifest.json --json
expect_eq "$(json stdout.txt 'd["missing"][0]')" \
  "data snapshot rows@1 ($digest) is not in the store; pull it with \`lockstep pull\` or snapshot the original data again" \
  "missing snapshot named"
expect_eq "$(json stdout.txt 'd["steps"][0]["status"]')" missing \
  "snapshot step status"
expect_exit 2 "$LOCKSTEP" reproduce manifest.json
expect_contains stdout.txt "missing: data snapshot rows@1 ($digest)"

# Found by a tester: a folder snapshot whose file blobs are gone (only its
# tree left) was "present and verified", exit 0.
export LOCKSTEP_STORE="$TEST_DIR/folder-store"
mkdir -p folder/sub
printf x >folder/x
printf y >folder/sub/y
cat >f.yaml <<'YAML'
pipeline: snapfolder
steps:
  take:
    uses: lockstep/data-snapshot
    with: {source: folder, name: f}
YAML
"$LOCKSTEP" run f.yaml --json >frun.json 2>/dev/null
fmanifest=$(json frun.json 'd["manifest"]')
expect_exit 0 "$LOCKSTEP" reproduce "$fmanifest"
rm -f "$LOCKSTEP_STORE"/packs/*.pack
expect_exit 2 "$LOCKSTEP" reproduce "$fmanifest" --json
expect_contains stdout.txt "data snapshot f@1 ("
expect_contains stdout.txt ") is damaged in the store: file '"
expect_contains stdout.txt " is missing (and 1 more)"

# Found by a tester: a step that reads a snapshot by name (inputs: d:
# rows@1) missing from the store got no remedy in its message.
export LOCKSTEP_STORE="$TEST_DIR/named-store"
"$LOCKSTEP" data snapshot rows.csv --name rows -q
cat >named.yaml <<'YAML'
pipeline: named
steps:
  count:
    run: [sh, -c, "wc -l <inputs/d >outputs/n"]
    inputs: {d: rows@1}
    outputs: {n: Artifact}
YAML
"$LOCKSTEP" run named.yaml --json >named.json 2>/dev/null
cp "$(json named.json 'd["manifest"]')" named-manifest.json
export LOCKSTEP_STORE="$TEST_DIR/empty-store-2"
expect_exit 2 "$LOCKSTEP" reproduce named-manifest.json --json
expect_eq "$(json stdout.txt 'd["missing"][0]')" \
  "input d (snapshot:rows@1, $digest) is not in the store; pull it with \`lockstep pull\` or snapshot the original data again" \
  "named snapshot input's remedy"

# A manifest file that is not there, named as a path, is said to be
# missing; it was reported as "no run ./nosuch.json".
for target in ./nosuch.json nosuch.json /nowhere/manifest.json; do
  expect_exit 2 "$LOCKSTEP" reproduce "$target"
  expect_eq "$(cat stderr.txt)" \
    "lockstep: error: $target: no such manifest file" "reproduce $target"
done
echo "reproduce missing snapshot: ok"
