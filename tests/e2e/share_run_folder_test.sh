#!/usr/bin/env bash
# A run that reads a folder snapshot, pushed and pulled: the folder's
# small files travel in a pack bundle (data/files-1.pack), its large file
# as a layer of its own, and the pulled run lacks nothing.
source "$(dirname "$0")/lib.sh"
source "$LOCKSTEP_SOURCE_DIR/tests/e2e/registry_lib.sh"
on_exit stop_registry

export LOCKSTEP_STORE="$TEST_DIR/registry-store"
start_registry

mkdir -p "$TEST_DIR/a/docs/sub" && cd "$TEST_DIR/a"
export LOCKSTEP_STORE="$TEST_DIR/a/.lockstep"
echo alpha >docs/a.txt
echo beta >docs/sub/b.txt
echo gamma >docs/sub/c.txt
head -c 70000 /dev/zero >docs/large.bin
"$LOCKSTEP" data snapshot docs --name docs -q
cat >pipeline.yaml <<'YAML'
pipeline: folder-demo
steps:
  count:
    run: [sh, -c, 'printf "{\"files\": %s}" $(find inputs/data -type f | wc -l) >outputs/score']
    inputs:
      data: docs@1
    outputs:
      score: Metrics
YAML
"$LOCKSTEP" run pipeline.yaml --json >run.json 2>/dev/null
run_id=$(json run.json 'd["run_id"]')

expect_exit 0 "$LOCKSTEP" push --json --insecure "$run_id" \
  "$REGISTRY/team/folder:run1"
curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
  "http://$REGISTRY/v2/team/folder/manifests/run1" >m.json
title=org.opencontainers.image.title
expect_eq "$(json m.json "[(l['annotations']['$title'],
  l['mediaType'].split('/')[1])
  for l in d['layers'] if 'data/docs@1/' in l['annotations']['$title']
  or l['annotations']['$title'].endswith('.pack')]")" \
  "[('data/files-1.pack', 'vnd.lockstep.pack.v1'), \
('data/docs@1/large.bin', 'octet-stream')]" \
  "the folder's files: a bundle and the large file"
expect_eq "$(json m.json "[l['annotations']['lockstep.files']
  for l in d['layers'] if l['mediaType'].endswith('pack.v1')]")" \
  "['3']" "files in the bundle"

mkdir -p "$TEST_DIR/b" && cd "$TEST_DIR/b"
export LOCKSTEP_STORE="$TEST_DIR/b/.lockstep"
expect_exit 0 "$LOCKSTEP" pull --json --insecure "$REGISTRY/team/folder:run1"
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["run"]')" "$run_id" "run"
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["missing"]')" "[]" "missing"
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["bundledFiles"]')" 3 "unbundled"
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["snapshots"]')" "['docs@1']" \
  "snapshots"
expect_exit 0 "$LOCKSTEP" data verify docs@1

# Found by a tester: a machine whose own first snapshot is also docs@1
# (versions count from 1 everywhere) got exit 3 after the run had been
# registered, on every retry. The run keeps its snapshot by digest; this
# store's docs@1 stays its own; reproduce finds everything.
mkdir -p "$TEST_DIR/c/mine" && cd "$TEST_DIR/c"
export LOCKSTEP_STORE="$TEST_DIR/c/.lockstep"
echo mine >mine/x.txt
"$LOCKSTEP" data snapshot mine --name docs --json >mine.json
expect_exit 0 "$LOCKSTEP" pull --json --insecure "$REGISTRY/team/folder:run1"
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["snapshotsNamedOtherwiseHere"]')" \
  "['docs@1']" "the clash is reported"
expect_contains "$TEST_DIR/stderr.txt" "snapshot docs@1 here is another dataset"
expect_exit 0 "$LOCKSTEP" data show docs@1 --json
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["digest"]')" \
  "$(json mine.json 'd["digest"]')" "this store's docs@1 unchanged"
# The pulled step read the run's own dataset, not this store's docs@1.
expect_exit 0 "$LOCKSTEP" runs show "$run_id" --json
expect_eq "$(json "$TEST_DIR/stdout.txt" \
  'd["steps"][0]["inputs"]["data"]["digest"]')" \
  "$(json "$TEST_DIR/b/.lockstep/runs/$run_id/manifest.json" \
    'd["data"][0]["digest"]')" "the pulled step's input"
expect_exit 0 "$LOCKSTEP" pull --insecure "$REGISTRY/team/folder:run1"
pulled=$(json "$TEST_DIR/b/.lockstep/runs/$run_id/manifest.json" \
  'd["data"][0]["digest"]')
if command -v sqlite3 >/dev/null; then
  expect_eq "$(sqlite3 "$LOCKSTEP_STORE/metadata.db" "select count(*) \
from artifacts a join types t on t.id = a.type_id \
where t.name = 'Dataset' and a.digest = '$pulled'")" 1 \
    "the run's dataset, recorded once over two pulls"
fi
expect_exit 0 "$LOCKSTEP" reproduce "$run_id"

# Pushed on from here, the run carries its own docs@1 record, not this
# store's (found by a tester: this store's dataset went out under the
# run's name, and the result could not be pulled).
expect_exit 0 "$LOCKSTEP" push --insecure "$run_id" \
  "$REGISTRY/team/folder:again"
mkdir -p "$TEST_DIR/d" && cd "$TEST_DIR/d"
export LOCKSTEP_STORE="$TEST_DIR/d/.lockstep"
expect_exit 0 "$LOCKSTEP" pull --insecure "$REGISTRY/team/folder:again"
expect_exit 0 "$LOCKSTEP" data show docs@1 --json
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["digest"]')" "$pulled" \
  "the run's docs@1, passed on"
echo "share_run_folder_test: ok"
