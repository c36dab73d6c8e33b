#!/usr/bin/env bash
# lockstep data snapshot of PostgreSQL tables, for three faults a tester
# found: the text depended on session settings, ?table= was parsed as SQL,
# and a table without a primary key and with a json or point column could
# not be read. Every expected CSV is written here by hand.
source "$(dirname "$0")/lib.sh"

PG_DIR="$TEST_DIR/pg"
chmod o+x "$TEST_DIR"
URL=$("$LOCKSTEP_SOURCE_DIR/tests/testing/pg_server.sh" start "$PG_DIR")
on_exit '"$LOCKSTEP_SOURCE_DIR/tests/testing/pg_server.sh" stop "$PG_DIR"'
psql -qX "$URL" -c "CREATE DATABASE dat"
DB=${URL%/postgres}/dat

# digest_of FILE: the digest a snapshot of exactly these bytes must have.
digest_of() {
  echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"
}

# snapshot NAME URL-QUERY [env...]: snapshots $DB?URL-QUERY and prints
# its digest.
snapshot() {
  local name=$1 query=$2
  shift 2
  env "$@" $LOCKSTEP data snapshot "$DB?$query" --name "$name" --json \
    > snap.json
  json snap.json 'd["digest"]'
}

# ---- 1. Output settings are pinned ----
psql -qX "$DB" <<'SQL'
CREATE TABLE f (x double precision);
INSERT INTO f VALUES (0.1::float8 + 0.2::float8);
CREATE TABLE typed (id int PRIMARY KEY, ts timestamptz, d date,
                    iv interval, b bytea, m money, r real,
                    x double precision, pt point, t text);
INSERT INTO typed VALUES (1, '2024-01-01 00:00:00+00', '2024-03-05',
  '1 day 02:03:04', '\x00ff', 1234.5, 0.1, 0.1::float8 + 0.2::float8,
  '(0.1,2)', 'é');
SQL
printf 'x\n0.30000000000000004\n' > f-sum.csv
printf 'x\n0.3\n' > f-three.csv
printf '%s\n' 'id,ts,d,iv,b,m,r,x,pt,t' \
  '1,2024-01-01 00:00:00+00,2024-03-05,1 day 02:03:04,\x00ff,"$1,234.50",0.1,0.30000000000000004,"(0.1,2)",é' \
  > typed.csv

# Under the server's defaults: the text the defaults give, so snapshots
# taken before the settings were pinned keep their digests.
expect_eq "$(snapshot fl table=f)" "$(digest_of f-sum.csv)" "f, defaults"
expect_eq "$(snapshot ty table=typed)" "$(digest_of typed.csv)" \
  "typed, defaults"

# Found by a tester: with extra_float_digits=0 the sum was written 0.3,
# the digest of a table that holds 0.3.
psql -qX "$URL" <<'SQL'
ALTER DATABASE dat SET extra_float_digits = 0;
ALTER DATABASE dat SET DateStyle = 'SQL, DMY';
ALTER DATABASE dat SET IntervalStyle = 'sql_standard';
ALTER DATABASE dat SET bytea_output = 'escape';
ALTER ROLE postgres IN DATABASE dat SET TimeZone = 'America/New_York';
SQL
expect_eq "$(snapshot fl table=f)" "$(digest_of f-sum.csv)" \
  "f, extra_float_digits=0"
expect_eq "$(snapshot fl table=f PGOPTIONS='-c extra_float_digits=-3')" \
  "$(digest_of f-sum.csv)" "f, PGOPTIONS"
expect_eq "$(snapshot fl 'options=-c%20extra_float_digits%3D-3&table=f')" \
  "$(digest_of f-sum.csv)" "f, options= in the URL"
expect_eq "$(snapshot ty table=typed)" "$(digest_of typed.csv)" \
  "typed, other database and role settings"
expect_eq "$(snapshot ty table=typed PGCLIENTENCODING=LATIN1 \
  PGOPTIONS='-c TimeZone=Asia/Kolkata -c DateStyle=German')" \
  "$(digest_of typed.csv)" "typed, other client settings"
psql -qX "$DB" -c "UPDATE f SET x = 0.3"
expect_eq "$(snapshot fl table=f)" "$(digest_of f-three.csv)" \
  "f holding 0.3, extra_float_digits=0"
psql -qX "$URL" -c "ALTER DATABASE dat RESET ALL" \
  -c "ALTER ROLE postgres IN DATABASE dat RESET ALL"

echo "data_table_postgresql_test: ok"
