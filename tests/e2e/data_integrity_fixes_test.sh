#!/usr/bin/env bash
# Defects a tester found in data handling, each with its failing input:
# durations that overflowed into the past, a lost metadata.db silently
# replaced, a one-column NULL row not counted, snapshot names that climb
# out of their folder, a removed snapshot reported as a missing blob,
# manifests with repeated keys, and integer params past 2^53.
source "$(dirname "$0")/lib.sh"

printf 'a\n1\n' >e.csv

# 1. Durations: 106751991167d times 86,400,000 ms wrapped int64 to a time
# in the past, and the next gc removed the snapshot. A flag's is a usage
# error (64), a pipeline file's malformed input (3).
expect_exit 64 "$LOCKSTEP" data snapshot e.csv --name ovf \
  --expires 106751991167d
expect_contains "$TEST_DIR/stderr.txt" \
  "--expires: duration '106751991167d' is too long: at most 1000000d"
expect_exit 2 "$LOCKSTEP" data show ovf
"$LOCKSTEP" data snapshot e.csv --name long --expires 1000000d -q
expect_exit 64 "$LOCKSTEP" gc --dry-run --grace 99999999999999999999d
expect_contains "$TEST_DIR/stderr.txt" "--grace: duration"
expect_exit 0 "$LOCKSTEP" gc --grace 0s
expect_exit 0 "$LOCKSTEP" data show long --json
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["removed"]')" False \
  "a 1000000d snapshot survives gc"
cat >policy.json <<'JSON'
[{"name": "old", "action": {"type": "Delete"},
  "condition": {"tagState": "any", "olderThan": "99999999999999999999d"}}]
JSON
expect_exit 3 "$LOCKSTEP" cleanup --policy policy.json
expect_contains "$TEST_DIR/stderr.txt" "olderThan: duration"

cat >timeout.yaml <<'YAML'
pipeline: t
steps:
  a:
    run: [sh, -c, 'echo 1 >outputs/n']
    timeout: 1000001d
    outputs:
      n: Artifact
YAML
expect_exit 3 "$LOCKSTEP" run timeout.yaml --sandbox none
expect_contains "$TEST_DIR/stderr.txt" \
  "timeout.yaml:5:14: timeout: duration '1000001d' is too long"
expect_exit 64 "$LOCKSTEP" runs list --since 99999999999999d
expect_contains "$TEST_DIR/stderr.txt" "--since: duration"

# 8. Snapshot names become registry references and paths.
# '-rf' (found by a second tester) would read as a flag on a command line.
for name in 'a/../../x' 'a//b' 'a/' '/a' '.a' 'a/.b' 'a/./b' '-rf' 'a/-x'; do
  expect_exit 3 "$LOCKSTEP" data snapshot e.csv --name "$name"
  expect_contains "$TEST_DIR/stderr.txt" "is not a valid snapshot name"
done
"$LOCKSTEP" data snapshot e.csv --name team/iris-2.1_x -q

# 3. A one-column table with a NULL: the row was written as an empty
# line, which no CSV reader counts. Python's csv.writer writes it "".
sqlite3 n.db "create table t(x text); insert into t values (NULL),('a');"
expect_exit 0 "$LOCKSTEP" data snapshot "sqlite:n.db?table=t" --name nt \
  --json
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["row_count"]')" 2 "row_count"
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["digest"]')" \
  "sha256:$(printf 'x\n""\na\n' | sha256sum | cut -d' ' -f1)" "nt digest"
expect_exit 0 "$LOCKSTEP" data verify nt
# Found by a tester: the relative path was recorded as typed, while a
# file's is recorded absolute (and a pipeline's SQLite path too).
expect_exit 0 "$LOCKSTEP" data show nt --json
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["source"]')" \
  "sqlite://$TEST_DIR/n.db?table=t" "relative SQLite source recorded"

# 9. An input whose snapshot gc removed names the snapshot and why.
"$LOCKSTEP" data snapshot e.csv --name rm --expires 1s -q
cat >rm.yaml <<'YAML'
pipeline: removed
steps:
  count:
    run: [sh, -c, 'wc -l <inputs/data >outputs/n']
    inputs:
      data: rm@latest
    outputs:
      n: Artifact
YAML
sleep 1.2
expect_exit 0 "$LOCKSTEP" gc --grace 0s
expect_exit 2 "$LOCKSTEP" run rm.yaml --sandbox none
expect_contains "$TEST_DIR/stderr.txt" "rm.yaml:"
expect_contains "$TEST_DIR/stderr.txt" \
  "snapshot rm@1 was removed by gc (expired"
grep -q "is not in the store" "$TEST_DIR/stderr.txt" &&
  fail "still reports a missing blob"

# 6. Int params past 2^53 - 1 cannot be recorded exactly (RFC 8785).
cat >params.yaml <<'YAML'
pipeline: params
params:
  n: 1
  big: {type: float, default: 1.5}
steps:
  echo:
    run: [sh, -c, 'echo ${{ params.n }} >outputs/n']
    outputs:
      n: Artifact
YAML
expect_exit 3 "$LOCKSTEP" run params.yaml --sandbox none \
  -p n=9007199254740993
expect_contains "$TEST_DIR/stderr.txt" \
  "-p n: param 'n': the integer 9007199254740993 is outside"
expect_exit 3 "$LOCKSTEP" run params.yaml --sandbox none \
  -p n=-99999999999999999999
expect_contains "$TEST_DIR/stderr.txt" "param 'n': the integer"
printf '{"n": 9007199254740993}\n' >p.json
expect_exit 3 "$LOCKSTEP" run params.yaml --sandbox none --params p.json
expect_contains "$TEST_DIR/stderr.txt" "p.json:1:2: param 'n': the integer"
sed 's/  n: 1/  n: 99999999999999999999/' params.yaml >big.yaml
expect_exit 3 "$LOCKSTEP" run big.yaml --sandbox none
expect_contains "$TEST_DIR/stderr.txt" \
  "big.yaml:3:6: param 'n': the integer 99999999999999999999 is outside"
expect_exit 0 "$LOCKSTEP" run params.yaml --sandbox none \
  -p n=9007199254740991 --json
cp "$TEST_DIR/stdout.txt" run.json
run_id=$(json run.json 'd["run_id"]')
manifest="$LOCKSTEP_STORE/runs/$run_id/manifest.json"
expect_eq "$(json "$manifest" 'd["params"]["n"]["value"]')" \
  9007199254740991 "largest exact int recorded"

# 7. A repeated key in a manifest: JSON readers disagree on which copy
# counts, and the hash covers only one.
python3 - "$manifest" dup.json <<'PY'
import sys
text = open(sys.argv[1]).read()
assert text.count('"status":"succeeded"') == 1
open(sys.argv[2], "w").write(
    text.replace('"status":"succeeded"',
                 '"status":"failed","status":"succeeded"'))
PY
expect_exit 3 "$LOCKSTEP" manifest verify dup.json
expect_contains "$TEST_DIR/stderr.txt" "appears twice in the same object"
expect_exit 3 "$LOCKSTEP" reproduce dup.json
expect_contains "$TEST_DIR/stderr.txt" "appears twice in the same object"
expect_exit 0 "$LOCKSTEP" manifest verify "$manifest"

# 2. A lost or emptied metadata.db is not replaced by a fresh one while
# run manifests remain: gc would then sweep those runs' outputs.
output=$(json run.json 'd["steps"][0]["outputs"]["n"]')
[[ "$output" == sha256:* ]] || fail "no output digest: $output"
sqlite3 "$LOCKSTEP_STORE/metadata.db" ".backup saved.db"
: >"$LOCKSTEP_STORE/metadata.db"
rm -f "$LOCKSTEP_STORE"/metadata.db-wal "$LOCKSTEP_STORE"/metadata.db-shm
expect_exit 4 "$LOCKSTEP" runs list
expect_contains "$TEST_DIR/stderr.txt" \
  "$LOCKSTEP_STORE/metadata.db: the metadata database is empty"
# It names one of the store's manifests, whichever it finds first: runs
# that failed earlier in this test have manifests too (since f1f866a),
# and which comes first depends on the folder's order.
named=$(grep -o "$LOCKSTEP_STORE/runs/[^/]*/manifest.json" \
  "$TEST_DIR/stderr.txt" | head -1)
[[ -n "$named" && -f "$named" ]] ||
  fail "the refusal names no manifest of the store: $(cat stderr.txt)"
expect_exit 4 "$LOCKSTEP" gc --dry-run --grace 0s
rm "$LOCKSTEP_STORE/metadata.db"
expect_exit 4 "$LOCKSTEP" runs list
expect_contains "$TEST_DIR/stderr.txt" "the metadata database is missing"
[[ ! -e "$LOCKSTEP_STORE/metadata.db" ]] || fail "a fresh database was made"
expect_exit 4 "$LOCKSTEP" data snapshot e.csv --name after-loss
expect_exit 4 "$LOCKSTEP" run params.yaml --sandbox none
expect_exit 4 "$LOCKSTEP" store migrate
expect_exit 4 "$LOCKSTEP" store info
[[ ! -e "$LOCKSTEP_STORE/metadata.db" ]] || fail "a fresh database was made"
cp saved.db "$LOCKSTEP_STORE/metadata.db"
expect_exit 0 "$LOCKSTEP" runs list
expect_contains "$TEST_DIR/stdout.txt" "$run_id"

# gc with another database swept every snapshot's blobs of the store:
# it refuses one that does not record the store, unless told to trust it.
expect_exit 4 "$LOCKSTEP" gc --dry-run --grace 0s \
  --metadata "$TEST_DIR/elsewhere.db"
expect_contains "$TEST_DIR/stderr.txt" \
  "the lineage database $TEST_DIR/elsewhere.db is not this store's: it"
LOCKSTEP_METADATA="$TEST_DIR/elsewhere.db" \
  expect_exit 4 "$LOCKSTEP" gc --grace 0s
# Defence in depth: gc keeps what a manifest in runs/ needs even when
# the lineage database it is given does not list that run.
expect_exit 0 "$LOCKSTEP" gc --dry-run --grace 0s --json \
  --metadata "$TEST_DIR/elsewhere.db" --trust-metadata
expect_eq "$(json "$TEST_DIR/stdout.txt" \
  '"'"$output"'" in [s["digest"] for s in d["swept"]]')" False \
  "the run's output is kept"

# 4. A folder output holding a name that is not UTF-8 (names are exact
# bytes) aborted the run with "Can't translate pathname ... to UTF-8".
cat >raw.yaml <<'YAML'
pipeline: raw-names
steps:
  make:
    run: [sh, -c, 'mkdir outputs/d; printf x > "$(printf "outputs/d/bad\377")"']
    outputs:
      d: Dataset
  read:
    run: [sh, -c, 'cat "$(printf "inputs/d/bad\377")" >outputs/copy']
    inputs:
      d: make.d
    outputs:
      copy: Artifact
YAML
expect_exit 0 "$LOCKSTEP" run raw.yaml --sandbox none --json
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["steps"][1]["outputs"]["copy"]')" \
  "sha256:$(printf x | sha256sum | cut -d' ' -f1)" "bytes read back"

# A store with snapshots only: the marker left beside the database says
# it existed.
"$LOCKSTEP" data snapshot e.csv --name only --store "$TEST_DIR/snaps" -q
rm "$TEST_DIR/snaps/metadata.db"*
expect_exit 4 "$LOCKSTEP" data list --store "$TEST_DIR/snaps"
expect_contains "$TEST_DIR/stderr.txt" \
  "snaps/.metadata.db.created shows it held lineage"

# A fresh store still gets its database.
expect_exit 0 "$LOCKSTEP" data snapshot e.csv --name fresh \
  --store "$TEST_DIR/other"
[[ -s "$TEST_DIR/other/metadata.db" ]] || fail "no database in a new store"
echo PASS
