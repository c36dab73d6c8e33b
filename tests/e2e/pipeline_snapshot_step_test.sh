# The built-in `uses: lockstep/data-snapshot` step takes the same
# snapshots as `lockstep data snapshot`: a folder (which it used to
# refuse), a plain file and a SQLite table, with the same digests, kinds
# and row counts; downstream steps see a folder's files under inputs/.
# An unchanged source reuses its version; a changed one makes the next.
source "$(dirname "$0")/lib.sh"

mkdir -p dd/sub
echo x >dd/f
echo deep >dd/sub/g
echo v1 >d.txt
python3 -c "
import sqlite3; c = sqlite3.connect('shop.db')
c.execute('CREATE TABLE t (id INTEGER, name TEXT)')
c.execute(\"INSERT INTO t VALUES (1, 'a'), (2, 'b')\"); c.commit()"
cat >p.yaml <<YAML
pipeline: snaps
steps:
  folder:
    uses: lockstep/data-snapshot
    with: {source: dd, name: folder}
  file:
    uses: lockstep/data-snapshot
    with: {source: d.txt, name: file}
  table:
    uses: lockstep/data-snapshot
    with: {source: "sqlite://$TEST_DIR/shop.db?table=t", name: table}
  use:
    run: [sh, -c, 'cat inputs/d/f inputs/d/sub/g inputs/t inputs/r > outputs/o']
    inputs: {d: folder.dataset, t: file.dataset, r: table.dataset}
    outputs: {o: Artifact}
YAML
states() {
  json "$1" '" ".join(s["name"] + "=" + s["state"]
                      for s in sorted(d["steps"], key=lambda s: s["name"]))'
}
expect_exit 0 "$LOCKSTEP" run p.yaml --json
cp stdout.txt run1.json
expect_eq "$(states run1.json)" "file=ran folder=ran table=ran use=ran" \
  "first run"
digest=$(json run1.json \
  "[s for s in d['steps'] if s['name']=='use'][0]['outputs']['o']")
expect_eq "$(cat "$LOCKSTEP_STORE/blobs/sha256/${digest:7:2}/${digest:7}")" \
  "x
deep
v1
id,name
1,a
2,b" "downstream view of the three snapshots"

# Same records as the CLI's own snapshots of the same sources.
"$LOCKSTEP" data list --json >list.json
expect_eq "$(json list.json '[(s["ref"], s["kind"], s["row_count"]) for s in d["snapshots"]]')" \
  "[('file@1', 'file', None), ('folder@1', 'folder', None), ('table@1', 'table', 2)]" \
  "pipeline snapshots"
for source in dd d.txt "sqlite://$TEST_DIR/shop.db?table=t"; do
  "$LOCKSTEP" data snapshot "$source" --name "cli-$RANDOM" --json >cli.json
  expect_eq "$(json list.json "[s['digest'] for s in d['snapshots'] if s['source'].endswith('${source##*/}')][0]")" \
    "$(json cli.json 'd["digest"]')" "digest of $source"
done

# Unchanged: versions reused, nothing new. A changed folder: folder@2.
expect_exit 0 "$LOCKSTEP" run p.yaml --json
expect_eq "$(states stdout.txt)" \
  "file=reused folder=reused table=reused use=cached" "unchanged sources"
# Found by a tester: --no-cache showed the snapshot steps as cached. They
# read their sources and reuse the versions, which the summary now says.
expect_exit 0 "$LOCKSTEP" run p.yaml --no-cache
expect_contains stdout.txt "  file: reused"
expect_contains stdout.txt "  use: ran"
expect_not_contains stdout.txt "cached"
echo y >dd/f
expect_exit 0 "$LOCKSTEP" run p.yaml --json
expect_eq "$(states stdout.txt)" "file=reused folder=ran table=reused use=ran" \
  "changed folder"
"$LOCKSTEP" data show folder --json >show.json
expect_eq "$(json show.json 'd["version"]')" 2 "new folder version"

# A missing source: the step's location and the source, exit 2 like
# `data snapshot` (found by a tester: it was 3, malformed input).
sed -i 's/source: dd,/source: nope,/' p.yaml
expect_exit 2 "$LOCKSTEP" run p.yaml
expect_contains stderr.txt "p.yaml:5:20: step 'folder' (lockstep/data-snapshot): $TEST_DIR/nope: No such file or directory"

# Found by a tester: a relative SQLite URL resolved against the current
# folder, not the pipeline file's. Run from elsewhere, it reads the
# pipeline folder's database and records the absolute URL.
mkdir -p rel elsewhere
cp shop.db rel/
cat >rel/q.yaml <<'YAML'
pipeline: relsqlite
steps:
  table:
    uses: lockstep/data-snapshot
    with: {source: "sqlite:shop.db?table=t", name: reltable}
YAML
(cd elsewhere && expect_exit 0 "$LOCKSTEP" run ../rel/q.yaml)
expect_exit 0 "$LOCKSTEP" data show reltable --json
expect_eq "$(json stdout.txt 'd["source"]')" \
  "sqlite://$TEST_DIR/rel/shop.db?table=t" "recorded source"
expect_eq "$(json stdout.txt 'd["row_count"]')" 2 "rows"

# Found by a tester: run from its own folder as `run q.yaml` (no folder
# in the name), the same URL became sqlite:///shop.db, exit 2.
sed -i 's/name: reltable/name: fromhere/' rel/q.yaml
(cd rel && expect_exit 0 "$LOCKSTEP" run q.yaml)
expect_exit 0 "$LOCKSTEP" data show fromhere --json
expect_eq "$(json stdout.txt 'd["source"]')" \
  "sqlite://$TEST_DIR/rel/shop.db?table=t" "source of a bare file name"
echo "pipeline snapshot step: ok"
