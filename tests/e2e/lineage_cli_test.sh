#!/usr/bin/env bash
# The lineage store's commands against a SQLite store: store migrate/info,
# runs list/show with filters, lineage and diff error paths and exit codes.
source "$(dirname "$0")/lib.sh"

mkdir -p "$LOCKSTEP_STORE/blobs"

expect_exit 0 "$LOCKSTEP" store migrate --json
expect_eq "$(json stdout.txt 'd["from_version"], d["to_version"]')" "0 5" \
  "migrate creates the newest schema"
expect_exit 0 "$LOCKSTEP" store info --json
expect_eq "$(json stdout.txt 'd["backend"], d["schema_version"]')" \
  "sqlite 5" "store info"

# Two runs written straight into the database, as the engine would.
db="$LOCKSTEP_STORE/metadata.db"
sqlite3 "$db" "
INSERT INTO types (kind, name) VALUES ('context', 'run');
INSERT INTO contexts (type_id, name, properties, create_time_ms)
  VALUES (1, 'r1', '{}', 0), (1, 'r2', '{}', 0);
INSERT INTO runs VALUES
  ('r1', 1, 'iris', 'succeeded', 1767225600000, 1767225660000, '', '',
   '{\"team\":\"a\"}'),
  ('r2', 2, 'wine', 'failed', 1767312000000, 1767312060000, '', '', '{}');"

expect_exit 0 "$LOCKSTEP" runs list --json
expect_eq "$(json stdout.txt '[r["run_id"] for r in d["runs"]]')" \
  "['r2', 'r1']" "newest first"
expect_exit 0 "$LOCKSTEP" runs list --label team=a --json
expect_eq "$(json stdout.txt '[r["run_id"] for r in d["runs"]]')" "['r1']" \
  "label filter"
# A label with no key is refused, as `run --label =x` is (it was
# accepted and ignored, listing every run).
expect_exit 3 "$LOCKSTEP" runs list --label =a --json
expect_contains stderr.txt "--label: expected key=value, got '=a'"
# Found by a tester: --limit 0 or -1 listed every run, and a malformed
# digest was "not found" (exit 2) rather than a bad argument.
expect_exit 0 "$LOCKSTEP" runs list --limit 1 --json
expect_eq "$(json stdout.txt '[r["run_id"] for r in d["runs"]]')" "['r2']" \
  "limit 1"
expect_exit 64 "$LOCKSTEP" runs list --limit 0
expect_exit 64 "$LOCKSTEP" runs list --limit -1
expect_exit 3 "$LOCKSTEP" lineage sha256:zz
expect_contains stderr.txt "digest 'sha256:zz' is not 64 lowercase hex"
expect_exit 0 "$LOCKSTEP" runs list --since 2026-01-02 --json
expect_eq "$(json stdout.txt '[r["run_id"] for r in d["runs"]]')" "['r2']" \
  "since filter"
expect_exit 0 "$LOCKSTEP" runs show r1 --json
expect_eq "$(json stdout.txt 'd["started"], d["steps"]')" \
  "2026-01-01T00:00:00.000Z []" "runs show"
expect_exit 64 "$LOCKSTEP" runs list --since tomorrow
expect_exit 2 "$LOCKSTEP" runs show nope

expect_exit 2 "$LOCKSTEP" lineage \
  "sha256:$(printf absent | sha256sum | cut -d' ' -f1)"
expect_exit 3 "$LOCKSTEP" lineage notaref
expect_exit 2 "$LOCKSTEP" lineage r1/train/model
expect_exit 2 "$LOCKSTEP" diff r1 nope
expect_exit 1 "$LOCKSTEP" diff r1 r2 --json
expect_eq "$(json stdout.txt 'd["identical"]')" "False" "diff marks"
expect_exit 0 "$LOCKSTEP" diff r1 r1

# Bad flag values are usage errors with a readable range or choice list.
expect_exit 64 "$LOCKSTEP" lineage r1/train/model --depth -1
expect_contains stderr.txt "not in range 0 to 2147483647"
expect_exit 64 "$LOCKSTEP" runs list --status bogus
expect_contains stderr.txt "succeeded"

# A newer schema is refused naming both versions, and nothing changes.
sqlite3 "$db" "UPDATE schema_version SET version = 7"
expect_exit 5 "$LOCKSTEP" runs list
expect_contains stderr.txt "version 7, newer than version 5"
expect_exit 5 "$LOCKSTEP" store migrate
expect_eq "$(sqlite3 "$db" 'SELECT version FROM schema_version')" "7" \
  "migrate leaves a newer store alone"
echo PASS
