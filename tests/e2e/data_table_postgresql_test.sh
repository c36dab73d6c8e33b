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

# ---- 2. ?table= is the exact name; ?schema= names a schema ----
psql -qX "$DB" <<'SQL'
CREATE TABLE "my table" (a int); INSERT INTO "my table" VALUES (1);
CREATE TABLE "MixedCase" (a int); INSERT INTO "MixedCase" VALUES (2);
CREATE TABLE mixedcase (a int); INSERT INTO mixedcase VALUES (3);
CREATE TABLE "dotted.name" (a int); INSERT INTO "dotted.name" VALUES (4);
CREATE TABLE t (a int); INSERT INTO t VALUES (5);
CREATE SCHEMA "Other Schema";
CREATE TABLE "Other Schema".t (a int); INSERT INTO "Other Schema".t VALUES (6);
SQL
for value in 1 2 3 4 5 6; do printf 'a\n%s\n' $value > a$value.csv; done
expect_eq "$(snapshot n 'table=my%20table')" "$(digest_of a1.csv)" \
  "a name with a space"
expect_eq "$(snapshot n table=MixedCase)" "$(digest_of a2.csv)" \
  "a mixed-case name"
expect_eq "$(snapshot n table=mixedcase)" "$(digest_of a3.csv)" \
  "a lower-case name"
expect_eq "$(snapshot n table=dotted.name)" "$(digest_of a4.csv)" \
  "a name with a dot"
expect_eq "$(snapshot n table=t)" "$(digest_of a5.csv)" \
  "an unqualified name, found on the search_path"
expect_eq "$(snapshot n 'schema=Other%20Schema&table=t')" \
  "$(digest_of a6.csv)" "a table in a named schema"
expect_eq "$(snapshot n 'schema=public&table=t')" "$(digest_of a5.csv)" \
  "schema=public"
# A table that does not exist is still exit 2; a dotted name says how to
# name a schema.
expect_exit 2 $LOCKSTEP data snapshot "$DB?table=Other%20Schema.t" --name n
expect_contains stderr.txt "give ?schema=Other Schema&table=t"
expect_exit 2 $LOCKSTEP data snapshot "$DB?table=%22MixedCase%22" --name n
expect_exit 2 $LOCKSTEP data snapshot "$DB?table=MIXEDCASE" --name n
expect_exit 2 $LOCKSTEP data snapshot "$DB?schema=nosuch&table=t" --name n
expect_contains stderr.txt "no table named 't' in schema 'nosuch'"
expect_exit 2 $LOCKSTEP data snapshot "$DB?table=missing" --name n
expect_exit 3 $LOCKSTEP data snapshot "$DB?schema=public&query=SELECT%201" \
  --name n

# ---- 3. Types without an ordering sort by their text ----
psql -qX "$DB" <<'SQL'
CREATE TABLE j (a int, doc json, p point, x xml, arr json[]);
INSERT INTO j VALUES
  (1, '{"b":1}', '(1,2)', '<b/>', ARRAY['1'::json]),
  (1, '{"a":1}', '(0,0)', '<a/>', NULL),
  (0, NULL, NULL, NULL, NULL),
  (1, '{"a":1}', '(-1,5)', '<c/>', ARRAY['2'::json]);
CREATE TABLE plain (n int, s text);
INSERT INTO plain VALUES (2, 'b'), (1, 'z'), (2, 'B'), (10, 'a'), (2, NULL);
SQL
# "(" then "-" (0x2d) sorts before "(" then "0" (0x30); NULLs last.
printf '%s\n' 'a,doc,p,x,arr' '0,,,,' \
  '1,"{""a"":1}","(-1,5)",<c/>,{2}' '1,"{""a"":1}","(0,0)",<a/>,' \
  '1,"{""b"":1}","(1,2)",<b/>,{1}' > j.csv
expect_eq "$(snapshot j table=j)" "$(digest_of j.csv)" "json, point, xml"
printf '%s\n' doc '"{""a"":1}"' '"{""a"":1}"' '"{""b"":1}"' '""' > jq.csv
expect_eq "$(snapshot jq 'query=SELECT%20doc%20FROM%20j')" \
  "$(digest_of jq.csv)" "a json query column"
# A table that sorted before is read in the same order as before, so
# its digest is unchanged: by all columns, text byte-wise, NULLs last.
printf '%s\n' n,s 1,z 2,B 2,b 2, 10,a > plain.csv
expect_eq "$(snapshot plain table=plain)" "$(digest_of plain.csv)" \
  "a table of ints and text"
echo "data_table_postgresql_test: ok"
