#!/usr/bin/env bash
# lockstep data: file and folder snapshots end to end, with the exit codes
# and JSON that scripts rely on.
source "$(dirname "$0")/lib.sh"

# A CSV file: digest is sha256sum's, records are records, not lines.
printf 'id,text\r\n1,"two\r\nlines"\r\n2,x\r\n' > crlf.csv
printf 'id,text\n1,"two\nlines"\n2,x\n' > lf.csv
$LOCKSTEP data snapshot crlf.csv --name crlf --json > crlf.json
$LOCKSTEP data snapshot lf.csv --name lf --label team=ml --json > lf.json
expect_eq "$(json crlf.json 'd["digest"]')" \
  "sha256:$(sha256sum crlf.csv | cut -d' ' -f1)" "crlf digest"
expect_eq "$(json crlf.json 'd["row_count"]')" "2" "crlf rows"
expect_eq "$(json lf.json 'd["row_count"]')" "2" "lf rows"
expect_eq "$(json lf.json 'd["labels"]["team"]')" "ml" "label"
[[ "$(json lf.json 'd["digest"]')" != "$(json crlf.json 'd["digest"]')" ]] ||
  fail "CRLF and LF files must differ"
# Found by a tester: a repeated key kept the last value, and a key could
# hold a line break. Both are refused, and nothing is recorded.
expect_exit 3 $LOCKSTEP data snapshot lf.csv --name twice --label a=1 \
  --label a=2
expect_contains stderr.txt "--label a is given twice"
expect_exit 3 $LOCKSTEP data snapshot lf.csv --name nl --label $'a\nb=1'
expect_contains stderr.txt "the key holds a line break"
expect_exit 2 $LOCKSTEP data show twice
# An empty export destination named nothing (": No such file or
# directory", exit 2).
expect_exit 3 $LOCKSTEP data export lf@1 ''
expect_contains stderr.txt "export: the destination is empty"

# Column types of a real CSV, against Python's own reading of it: integer
# when every value is one, real when every value is a number, else text.
cp "$LOCKSTEP_SOURCE_DIR/tests/data/breast_cancer.csv" bc.csv
# (In a store of its own: the listing below counts this one's snapshots.)
LOCKSTEP_STORE="$TEST_DIR/bc-store" $LOCKSTEP data snapshot bc.csv --name bc \
  --json >bc.json
expect_eq "$(json bc.json 'd["column_types"]')" "$(python3 - <<'PY'
import csv, re
rows = list(csv.reader(open("bc.csv", newline="")))
def kind(values):
    values = [v for v in values if v]
    if values and all(re.fullmatch(r"[-+]?[0-9]+", v) for v in values):
        return "integer"
    number = r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?"
    if values and all(re.fullmatch(number, v) for v in values):
        return "real"
    return "text"
print([kind(column) for column in zip(*rows[1:1001])])
PY
)" "breast cancer column types"

# A folder with a subfolder, an executable and a dangling symlink.
mkdir -p data/sub
echo one > data/a.txt
echo two > data/sub/b.txt
chmod +x data/sub/b.txt
ln -s ../missing data/dangling
$LOCKSTEP data snapshot data --name folder --json > v1.json
expect_eq "$(json v1.json 'd["version"]')" "1" "first version"
expect_eq "$(json v1.json 'd["file_count"]')" "2" "file count"

# Nothing changed: same digest, next version.
$LOCKSTEP data snapshot data --name folder --json > v2.json
expect_eq "$(json v2.json 'd["digest"]')" "$(json v1.json 'd["digest"]')" \
  "unchanged digest"
expect_eq "$(json v2.json 'd["version"]')" "2" "second version"

# Change one file, add one, remove one: diff names them.
echo ONE > data/a.txt
echo new > data/c.txt
rm data/sub/b.txt
$LOCKSTEP data snapshot data --name folder -q
$LOCKSTEP data diff folder@1 folder@3 --json > diff.json
expect_eq "$(json diff.json 'd["added"]')" "['c.txt']" "added"
expect_eq "$(json diff.json 'd["removed"]')" "['sub/b.txt']" "removed"
expect_eq "$(json diff.json 'd["changed"]')" "['a.txt']" "changed"
# What changed in it: 4 bytes ("one\n") became 4 ("ONE\n"), so the size
# stays and only the content differs.
expect_eq "$(json diff.json '[c["path"] for c in d["changes"]]')" "['a.txt']" \
  "changes paths"
expect_eq "$(json diff.json 'd["changes"][0]["what"][0].split()[0]')" \
  "content" "what changed"
expect_eq "$(json diff.json 'd["changes"][0]["what"][0].split()[3]')" \
  "sha256:$(sha256sum data/a.txt | cut -d' ' -f1)" "new content digest"

# Names are exact bytes: JSON carries a newline as a newline, and only a
# name JSON cannot hold (invalid UTF-8) is shown with \xNN escapes.
mkdir odd && echo x > odd/plain
odd_store=(--store "$TEST_DIR/odd-store")
$LOCKSTEP "${odd_store[@]}" data snapshot odd --name odd -q
printf 'n' > "odd/new
line.txt"
printf 'b' > "odd/$(printf 'caf\xe9')"
$LOCKSTEP "${odd_store[@]}" data snapshot odd --name odd -q
$LOCKSTEP "${odd_store[@]}" data diff odd@1 odd@2 --json > odd.json
expect_eq "$(json odd.json 'd["added"]')" "['caf\\\\xe9', 'new\\nline.txt']" \
  "odd names"

# list and show.
$LOCKSTEP data list --json > list.json
expect_eq "$(json list.json 'len(d["snapshots"])')" "5" "snapshot count"
$LOCKSTEP data show folder --json > show.json
expect_eq "$(json show.json 'd["version"]')" "3" "show picks the latest"

# Export rebuilds the folder exactly, links included.
$LOCKSTEP data export folder@1 restored -q
expect_eq "$(cat restored/sub/b.txt)" "two" "exported content"
[[ -x restored/sub/b.txt ]] || fail "executable bit lost"
expect_eq "$(readlink restored/dangling)" "../missing" "exported link"
expect_exit 3 $LOCKSTEP data export folder@1 restored

# Verify: clean, then a corrupt blob is named and exits 1. Small files
# are packed: the rot goes into the pack holding "two\n".
expect_exit 0 $LOCKSTEP data verify folder@1
pack=$(grep -l "two" "$LOCKSTEP_STORE"/packs/*.pack)
chmod u+w "$pack"
sed -i 's/two/twO/' "$pack"
expect_exit 1 $LOCKSTEP data verify folder@1
expect_contains "$TEST_DIR/stdout.txt" "sub/b.txt"
expect_exit 1 $LOCKSTEP data verify folder@1 --json
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["ok"]')" "False" "verify json"

# Expiry shows in the listing.
$LOCKSTEP data snapshot lf.csv --name short --expires 1s -q
sleep 1.1
$LOCKSTEP data list > list.txt
expect_contains list.txt "expired"

# Exit codes: unknown snapshot 2, bad source 3, taken version 3.
expect_exit 2 $LOCKSTEP data show nope@1
expect_exit 2 $LOCKSTEP data verify folder@99
expect_exit 2 $LOCKSTEP data snapshot does-not-exist --name x
expect_exit 3 $LOCKSTEP data snapshot "sqlite:///nowhere.db" --name x
expect_exit 2 $LOCKSTEP data snapshot "sqlite:///nowhere.db?table=t" --name x
expect_exit 3 $LOCKSTEP data snapshot data --name folder --version 1

# A mode change alone is named as such in the text form.
chmod +x data/c.txt
$LOCKSTEP data snapshot data --name folder -q
$LOCKSTEP data diff folder@3 folder@4 >diff.txt
expect_contains diff.txt "M c.txt (executable false -> true)"

# Found by a tester: a CSV whose quote never closes was snapshotted with
# no word; the bytes are pinned as they are, with a warning.
printf 'a,b\n1,"open\n2,3\n' >open.csv
expect_exit 0 "$LOCKSTEP" data snapshot open.csv --name open
expect_contains stderr.txt "open.csv: CSV ends inside a quoted field (unterminated quote); snapshotted as it is, with 1 rows counted"
echo "data_snapshot_test: ok"
