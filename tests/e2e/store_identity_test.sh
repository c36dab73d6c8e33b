# A store's id and generation (docs/registry.md, "Garbage collection"):
# gc and cleanup refuse, with exit 4, a lineage database that does not
# record the store (another store's, a fresh PostgreSQL database) or is
# older than it (a metadata.db restored from a backup); a PostgreSQL
# database the store has always used needs no --trust-metadata; a store
# of the previous schema version gets its id from `store migrate`.
source "$(dirname "$0")/lib.sh"

printf 'x,y\n1,2\n' >a.csv
cat >policy.json <<'JSON'
[{"name": "keep", "action": {"type": "Keep"},
  "condition": {"tagState": "any"}}]
JSON
cat >p.yaml <<'YAML'
pipeline: p
steps:
  a:
    run: [sh, -c, "echo hi > outputs/greeting"]
    outputs:
      greeting: Dataset
YAML
S="$LOCKSTEP_STORE"

# A new store gets an id; each retention root advances its generation.
expect_exit 0 "$LOCKSTEP" data snapshot a.csv --name first -q
id=$(cat "$S/store-id")
[[ "$id" =~ ^[0-9a-f]{32}$ ]] || fail "store-id is '$id'"
expect_eq "$(cat "$S/store-generation")" 1 "generation after a snapshot"
expect_eq "$(sqlite3 "$S/metadata.db" \
  'SELECT store_id, generation FROM stores')" "$id|1" \
  "the database records the store"
expect_exit 0 "$LOCKSTEP" run p.yaml --sandbox none
expect_eq "$(cat "$S/store-generation")" 2 "generation after a run"
expect_exit 0 "$LOCKSTEP" gc --dry-run --grace 0s
expect_exit 0 "$LOCKSTEP" cleanup --policy policy.json

# A metadata.db restored from a backup taken before the last snapshot.
sqlite3 "$S/metadata.db" ".backup '$TEST_DIR/backup.db'"
printf 'x,y\n3,4\n' >b.csv
expect_exit 0 "$LOCKSTEP" data snapshot b.csv --name second -q
rm -f "$S/metadata.db-wal" "$S/metadata.db-shm"
cp backup.db "$S/metadata.db"
expect_exit 4 "$LOCKSTEP" gc --grace 0s
expect_eq "$(cat stderr.txt)" "lockstep: error: gc refuses to run: the \
lineage database $S/metadata.db is older than this store: it is at \
generation 2 and $S/store-generation at 3, as a copy restored from an old \
backup would be; gc would delete what this store's runs and snapshots \
need. Use the store's own lineage database, or pass --trust-metadata if \
$S/metadata.db holds every run and snapshot of this store" "older copy"
expect_exit 4 "$LOCKSTEP" cleanup --policy policy.json
expect_contains stderr.txt "cleanup refuses to run: the lineage database"
# Writing to the old copy does not make it catch up with the store.
expect_exit 0 "$LOCKSTEP" data snapshot b.csv --name third -q
expect_exit 0 "$LOCKSTEP" data snapshot a.csv --name fourth -q
expect_exit 4 "$LOCKSTEP" gc --dry-run --grace 0s
expect_contains stderr.txt "is older than this store: it is at generation 2"
expect_exit 0 "$LOCKSTEP" gc --dry-run --grace 0s --trust-metadata
expect_exit 0 "$LOCKSTEP" store info --json
expect_eq "$(json stdout.txt \
  'd["store_id"], d["store_generation"], d["database_generation"]')" \
  "$id 3 2" "store info shows both generations"
expect_exit 0 "$LOCKSTEP" store info
expect_contains stdout.txt "store: $id (generation 3; in this database: \
generation 2)"

# Another store's database names the store it does record.
expect_exit 0 "$LOCKSTEP" data snapshot a.csv --name other -q \
  --store "$TEST_DIR/other"
other_id=$(cat "$TEST_DIR/other/store-id")
[[ "$other_id" != "$id" ]] || fail "two stores share an id"
expect_exit 4 "$LOCKSTEP" gc --grace 0s \
  --metadata "$TEST_DIR/other/metadata.db"
expect_contains stderr.txt "the lineage database \
$TEST_DIR/other/metadata.db is not this store's: it does not record \
store $id ($S/store-id) but only store $other_id; gc would delete"

# A store of the previous schema version (2: no stores table, no id).
L="$TEST_DIR/legacy"
expect_exit 0 "$LOCKSTEP" run p.yaml --sandbox none --store "$L"
rm "$L/store-id" "$L/store-generation"
sqlite3 "$L/metadata.db" \
  "DROP TABLE stores; ALTER TABLE executions DROP COLUMN properties_of; \
  UPDATE schema_version SET version = 2"
expect_exit 5 "$LOCKSTEP" gc --grace 0s --store "$L"
expect_contains stderr.txt "the metadata schema is version 2 and this \
lockstep uses version 5; run \`lockstep store migrate\`"
expect_exit 0 "$LOCKSTEP" store migrate --json --store "$L"
legacy_id=$(cat "$L/store-id")
expect_eq "$(json stdout.txt \
  'd["from_version"], d["to_version"], d["store_id"], d["store"]')" \
  "2 5 $legacy_id recorded" "migrate records the store"
expect_eq "$(cat "$L/store-generation")" 1 "generation after migrate"
expect_exit 0 "$LOCKSTEP" gc --grace 0s --store "$L"
expect_exit 0 "$LOCKSTEP" store migrate --store "$L"
expect_contains stdout.txt "store $legacy_id: already recorded in this database"
# A copy of the database taken while the run ran lists it as running,
# without its manifest: the manifest on disk still keeps its output.
output=$(json "$(ls "$L"/runs/*/manifest.json)" \
  'd["steps"][0]["outputs"]["greeting"]["digest"]')
sqlite3 "$L/metadata.db" \
  "UPDATE runs SET status = 'running', manifest_path = ''"
expect_exit 0 "$LOCKSTEP" gc --dry-run --grace 0s --json --store "$L" \
  --trust-metadata
expect_eq "$(json stdout.txt '"'"$output"'" in [s["digest"] for s in \
  d["swept"]]')" False "the output of a run listed as running is kept"
# A store without an id, its database already current: exit 5 until
# store migrate makes one.
rm "$L/store-id"
expect_exit 5 "$LOCKSTEP" gc --grace 0s --store "$L"
expect_contains stderr.txt "gc refuses to run: $L/store-id is missing (a \
store made by an older Lockstep); run \`lockstep store migrate\` once"

# A creation killed after its folders but before its id (brk-P finding
# 6) left them empty: the next command finishes the store, and gc and
# verify take it for a new store, not one from an older Lockstep.
H="$TEST_DIR/half"
mkdir -p "$H/blobs/sha256" "$H/runs" "$H/tmp" "$H/work"
expect_exit 2 "$LOCKSTEP" data list --store "$H"
expect_eq "$(cat stderr.txt)" "lockstep: error: no Lockstep store at $H \
(run a pipeline or snapshot data to create one, or pass --store)" \
  "an unfinished store is no store to a command that reads"
expect_exit 0 "$LOCKSTEP" data snapshot a.csv --name first --store "$H"
expect_eq "$(cat stderr.txt)" "lockstep: created a new store at $H" \
  "an unfinished store is finished"
[[ "$(cat "$H/store-id")" =~ ^[0-9a-f]{32}$ ]] || fail "no store-id in $H"
expect_exit 0 "$LOCKSTEP" store verify --store "$H"
expect_exit 0 "$LOCKSTEP" gc --grace 0s --store "$H"

# PostgreSQL: the database the store has always used needs no
# --trust-metadata; a fresh database and an older one are refused.
PG_DIR="$TEST_DIR/pg"
URL=$("$LOCKSTEP_SOURCE_DIR/tests/testing/pg_server.sh" start "$PG_DIR")
on_exit '"$LOCKSTEP_SOURCE_DIR/tests/testing/pg_server.sh" stop "$PG_DIR"'
P="$TEST_DIR/pgstore"
expect_exit 0 "$LOCKSTEP" data snapshot a.csv --name first -q \
  --store "$P" --metadata "$URL"
expect_exit 0 "$LOCKSTEP" run p.yaml --sandbox none --store "$P" \
  --metadata "$URL"
expect_exit 0 "$LOCKSTEP" gc --grace 0s --store "$P" --metadata "$URL"
expect_exit 0 "$LOCKSTEP" cleanup --policy policy.json --store "$P" \
  --metadata "$URL"
psql -q "$URL" -c "CREATE DATABASE fresh"
FRESH="${URL%/postgres}/fresh"
expect_exit 4 "$LOCKSTEP" gc --grace 0s --store "$P" --metadata "$FRESH"
expect_exit 0 "$LOCKSTEP" store info --store "$P" --metadata "$FRESH"
expect_contains stdout.txt "(generation 2; in this database: not recorded)"
expect_exit 4 "$LOCKSTEP" gc --grace 0s --store "$P" --metadata "$FRESH"
expect_contains stderr.txt "the lineage database $FRESH is not this \
store's: it does not record store $(cat "$P/store-id") ($P/store-id) but \
no store at all (a fresh database)"
psql -q "$URL" -c "UPDATE stores SET generation = generation - 1"
expect_exit 4 "$LOCKSTEP" gc --grace 0s --store "$P" --metadata "$URL"
expect_contains stderr.txt "is older than this store: it is at generation 1 \
and $P/store-generation at 2"
echo "store identity: ok"
