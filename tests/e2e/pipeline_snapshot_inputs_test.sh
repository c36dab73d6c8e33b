# Snapshots of every kind as pipeline inputs (NAME@V, NAME@latest): a
# plain file (its record's row_count is null), a folder (laid out file by
# file under inputs/NAME, read-only) and a CSV file. Each run succeeds and
# the step sees the snapshot's bytes; the manifest's data section names
# each snapshot with rows only for the CSV.
source "$(dirname "$0")/lib.sh"

output_of() {  # output_of RUN_JSON STEP OUTPUT: the output's bytes
  local digest
  digest=$(json "$1" "[s for s in d['steps'] if s['name']=='$2'][0]['outputs']['$3']")
  cat "$LOCKSTEP_STORE/blobs/sha256/${digest:7:2}/${digest:7}"
}

# A plain file, read through NAME@latest.
echo v1 >d.txt
expect_exit 0 "$LOCKSTEP" data snapshot d.txt --name mydata
printf 'pipeline: s\nsteps:\n  use:\n    run: [sh, -c, "cat inputs/d > outputs/o"]\n    inputs: {d: mydata@latest}\n    outputs: {o: Artifact}\n' >p.yaml
expect_exit 0 "$LOCKSTEP" run p.yaml --json
cp stdout.txt file.json
expect_eq "$(json file.json 'd["status"]')" succeeded "file snapshot run"
expect_eq "$(output_of file.json use o)" v1 "file snapshot bytes"
manifest=$(json file.json 'd["manifest"]')
expect_eq "$(json "$manifest" '[x["rows"] for x in d["data"]]')" "[None]" \
  "file snapshot rows"

# A folder with a nested file and a symlink, read through NAME@1.
mkdir -p dd/sub
echo x >dd/f
echo deep >dd/sub/g
ln -s f dd/link
expect_exit 0 "$LOCKSTEP" data snapshot dd --name folder
# Its files are packed; the step still sees them as files.
hex=$(sha256sum dd/sub/g | cut -d' ' -f1)
[[ ! -e "$LOCKSTEP_STORE/blobs/sha256/${hex:0:2}/$hex" ]] ||
  fail "sub/g is loose, not packed"
cat >q.yaml <<'YAML'
pipeline: q
steps:
  use:
    run: [sh, -c, 'cd inputs/d && find . | sort > ../../outputs/o && cat f sub/g link >> ../../outputs/o && ls -ld sub f | cut -c1-10 >> ../../outputs/o']
    inputs: {d: folder@1}
    outputs: {o: Artifact}
YAML
expect_exit 0 "$LOCKSTEP" run q.yaml --json
cp stdout.txt folder.json
expect_eq "$(json folder.json 'd["status"]')" succeeded "folder snapshot run"
expect_eq "$(output_of folder.json use o)" ".
./f
./link
./sub
./sub/g
x
deep
x
-r--r--r--
dr-xr-xr-x" "folder snapshot as the step sees it"

# Unchanged: cached. A changed file makes folder@2; pointing at it misses.
expect_exit 0 "$LOCKSTEP" run q.yaml --json
expect_eq "$(json stdout.txt 'd["steps"][0]["state"]')" cached "same folder"
echo y >dd/f
expect_exit 0 "$LOCKSTEP" data snapshot dd --name folder
sed -i 's/folder@1/folder@2/' q.yaml
expect_exit 0 "$LOCKSTEP" run q.yaml --json
expect_eq "$(json stdout.txt 'd["steps"][0]["state"]')" ran "changed folder"
expect_eq "$(output_of stdout.txt use o | sed -n 6p)" y "new folder bytes"

# CSV still works and records its rows.
printf 'a,b\n1,2\n3,4\n' >t.csv
expect_exit 0 "$LOCKSTEP" data snapshot t.csv --name table
sed 's/mydata@latest/table@latest/' p.yaml >r.yaml
expect_exit 0 "$LOCKSTEP" run r.yaml --json
manifest=$(json stdout.txt 'd["manifest"]')
expect_eq "$(json "$manifest" '[x["rows"] for x in d["data"]]')" "[2]" \
  "csv snapshot rows"
echo "pipeline snapshot inputs: ok"
