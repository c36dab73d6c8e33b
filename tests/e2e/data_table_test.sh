#!/usr/bin/env bash
# lockstep data: SQLite and PostgreSQL tables snapshot to the same bytes as
# a hand export of the same rows in the documented order.
source "$(dirname "$0")/lib.sh"

# SQLite, exported by hand with Python's csv module (minimal quoting, LF).
sqlite3 shop.db <<'SQL'
CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT, price REAL);
INSERT INTO orders VALUES (2, 'pen, blue', 1.5), (1, 'a "quoted" item', 3.0),
  (3, 'two' || char(10) || 'lines', NULL);
SQL
python3 - shop.db hand.csv <<'PY'
import csv, sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("SELECT * FROM orders ORDER BY id")
out = csv.writer(open(sys.argv[2], "w", newline=""), lineterminator="\n")
out.writerow([d[0] for d in rows.description])
out.writerows(rows)
PY
$LOCKSTEP data snapshot "sqlite://$TEST_DIR/shop.db?table=orders" \
  --name orders --json > sqlite.json
expect_eq "$(json sqlite.json 'd["digest"]')" \
  "sha256:$(sha256sum hand.csv | cut -d' ' -f1)" "sqlite digest"
expect_eq "$(json sqlite.json 'd["row_count"]')" "3" "sqlite rows"
expect_eq "$(json sqlite.json 'd["column_types"]')" \
  "['INTEGER', 'TEXT', 'REAL']" "sqlite types"
expect_exit 2 $LOCKSTEP data snapshot "sqlite://$TEST_DIR/shop.db?table=nope" \
  --name x
# Found by a tester: a query naming a missing table was exit 3; a
# mistyped query stays 3.
expect_exit 2 $LOCKSTEP data snapshot \
  "sqlite://$TEST_DIR/shop.db?query=SELECT%20*%20FROM%20nope" --name x
expect_exit 3 $LOCKSTEP data snapshot \
  "sqlite://$TEST_DIR/shop.db?query=SELEKT%201" --name x

# PostgreSQL: a throwaway server, exported by hand with psql's \copy.
PG_DIR="$TEST_DIR/pg"
chmod o+x "$TEST_DIR"
URL=$("$LOCKSTEP_SOURCE_DIR/tests/testing/pg_server.sh" start "$PG_DIR")
on_exit '"$LOCKSTEP_SOURCE_DIR/tests/testing/pg_server.sh" stop "$PG_DIR"'
psql -q "$URL" <<'SQL'
CREATE TABLE orders (id int PRIMARY KEY, item text, price numeric,
                     paid boolean);
INSERT INTO orders VALUES (2, 'pen, blue', 1.50, true),
  (1, 'a "quoted" item', 3, false), (3, E'two\nlines', NULL, NULL),
  (4, '', 0, true);
SQL
psql -q "$URL" -c "\\copy (SELECT * FROM orders ORDER BY id) TO '$TEST_DIR/pg.csv' WITH CSV HEADER"
$LOCKSTEP data snapshot "$URL?table=orders" --name pg --json > pg.json
expect_eq "$(json pg.json 'd["digest"]')" \
  "sha256:$(sha256sum pg.csv | cut -d' ' -f1)" "postgresql digest"
expect_eq "$(json pg.json 'd["row_count"]')" "4" "postgresql rows"
expect_eq "$(json pg.json 'd["column_types"]')" \
  "['integer', 'text', 'numeric', 'boolean']" "postgresql types"

# A query source, and an exported table equal to the hand export.
$LOCKSTEP data snapshot "$URL?query=SELECT%20id%20FROM%20orders" --name q \
  --json > q.json
expect_eq "$(json q.json 'd["row_count"]')" "4" "query rows"
$LOCKSTEP data export pg@1 pg-export.csv -q
cmp pg-export.csv pg.csv || fail "export differs from the hand export"
expect_exit 2 $LOCKSTEP data snapshot "$URL?table=missing" --name x

# A primary key whose columns are not the table's first, in another
# order: rows are read by (b, a), whatever their physical order. A no-op
# UPDATE moves a row to the end of the heap and must not change a byte.
psql -q "$URL" <<'SQL'
CREATE TABLE kk (a text, b int, v text, PRIMARY KEY (b, a));
INSERT INTO kk VALUES ('y', 1, 'three'), ('x', 2, 'two'), ('x', 1, 'one'),
  ('B', 1, 'upper');
SQL
psql -q "$URL" -c "\copy (SELECT * FROM kk ORDER BY b, a COLLATE \"C\") TO '$TEST_DIR/kk.csv' WITH CSV HEADER"
expect_eq "$(sed -n 2,3p kk.csv | tr '\n' ' ')" "B,1,upper x,1,one " \
  "hand export in key order"
$LOCKSTEP data snapshot "$URL?table=kk" --name kk --json > kk1.json
psql -q "$URL" -c "UPDATE kk SET v = v WHERE a = 'B'"
$LOCKSTEP data snapshot "$URL?table=kk" --name kk --json > kk2.json
expect_eq "$(json kk1.json 'd["digest"]')" \
  "sha256:$(sha256sum kk.csv | cut -d' ' -f1)" "composite key digest"
expect_eq "$(json kk2.json 'd["digest"]')" "$(json kk1.json 'd["digest"]')" \
  "composite key digest after a no-op update"
echo "data_table_test: ok"
