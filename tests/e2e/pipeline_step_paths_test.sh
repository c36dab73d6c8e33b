# Names and paths from a pipeline file or a manifest never reach outside
# the step folder: input and output names with `..`, code paths that
# leave the pipeline folder or land in inputs/ outputs/ tmp/, env: entries
# that are not names, and bad `with:` values all fail validation with
# file:line:column, exit 3, and touch nothing. `code: [.]` leaves the
# store out and hits the cache; --jobs 0 is a usage error.
source "$(dirname "$0")/lib.sh"

mkdir -p victim d1/d2/d3/d4
echo keep >victim/keep.txt
echo gone >victim/gone.txt
echo t >victim/t.txt

# check DIR FILE_CONTENT EXPECTED_MESSAGE: validate and run both refuse.
check() {
  printf '%s\n' "$2" >"$1/bad.yaml"
  expect_exit 3 "$LOCKSTEP" validate "$1/bad.yaml"
  expect_contains stderr.txt "$3"
  expect_exit 3 "$LOCKSTEP" run "$1/bad.yaml" --sandbox none
  expect_contains stderr.txt "$3"
}
check d1/d2/d3/d4 'pipeline: p
steps:
  a:
    run: [sh, -c, "echo evil > outputs/o"]
    outputs: {o: Artifact}
  b:
    run: [sh, -c, "echo > outputs/x"]
    inputs: {"../../../../../../victim/keep.txt": a.o}
    outputs: {x: Artifact}' \
  "d1/d2/d3/d4/bad.yaml:8:14: input name '../../../../../../victim/keep.txt' must be letters, digits, _ and -"
check . 'pipeline: p
steps:
  a:
    run: [sh, -c, "true"]
    outputs: {"../../victim/gone.txt": Artifact}' \
  "bad.yaml:5:15: output name '../../victim/gone.txt' must be letters"
check d1/d2/d3/d4 'pipeline: p
steps:
  a:
    run: [sh, -c, "echo > outputs/x"]
    code: [../../../../victim/t.txt]
    outputs: {x: Artifact}' \
  "d1/d2/d3/d4/bad.yaml:5:12: code path ../../../../victim/t.txt: leaves the pipeline folder"
check . "pipeline: p
steps:
  a:
    run: [sh, -c, 'echo > outputs/x']
    code: [$TEST_DIR/victim/t.txt]
    outputs: {x: Artifact}" \
  "bad.yaml:5:12: code path $TEST_DIR/victim/t.txt: is absolute"
# A code file under outputs/ made a step that wrote nothing "produce" it.
mkdir -p outputs && echo fake >outputs/model
check . 'pipeline: p
steps:
  a:
    run: [sh, -c, "true"]
    code: [outputs/model]
    outputs: {model: Model}' \
  "bad.yaml:5:12: code path outputs/model: is inside the step's outputs/ folder"
check . 'pipeline: p
steps:
  a:
    run: [sh, -c, "echo > outputs/x"]
    env: ["LD_PRELOAD=/x"]
    outputs: {x: Artifact}' \
  "bad.yaml:5:11: env: 'LD_PRELOAD=/x' is not a variable name"
# With env: [PATH] the program came from the host PATH while the key
# hashed the one on the fixed PATH: editing it never re-ran the step.
check . 'pipeline: p
steps:
  a:
    run: [tool]
    env: [HOME2, PATH]
    outputs: {x: Artifact}' \
  "bad.yaml:5:18: env: 'PATH' is refused: a step's program is found on"
check . 'pipeline: p
steps:
  a:
    run: [sh, -c, "echo > outputs/x"]
    env: LD_LIBRARY_PATH
    outputs: {x: Artifact}' \
  "bad.yaml:5:10: env: 'LD_LIBRARY_PATH' is refused"
# A tester found `env: [TMPDIR]` blanking the private temporary folder
# on a host without TMPDIR. Lockstep's own variables are refused, and a
# fixed one the host does not set keeps its fixed value.
check . 'pipeline: p
steps:
  a:
    run: [sh, -c, "echo > outputs/x"]
    env: [TZ, TMPDIR]
    outputs: {x: Artifact}' \
  "bad.yaml:5:15: env: 'TMPDIR' is refused: Lockstep sets it"
cat >tz.yaml <<'YAML'
pipeline: p
steps:
  a:
    run: [sh, -c, 'echo "TZ=$TZ LANG=$LANG" > outputs/x']
    env: [TZ, LANG]
    outputs: {x: Artifact}
YAML
env -u TZ -u LANG "$LOCKSTEP" run tz.yaml --sandbox none --json \
  >tz.json 2>stderr.txt || { cat stderr.txt; exit 1; }
tz=$(json tz.json \
  '[s for s in d["steps"] if s["name"]=="a"][0]["outputs"]["x"]')
expect_eq "$(cat "$LOCKSTEP_STORE/blobs/sha256/${tz:7:2}/${tz:7}")" \
  "TZ=UTC LANG=C.UTF-8" "fixed values kept"
check . 'pipeline: p
steps:
  a:
    uses: lockstep/ml-split
    inputs: {data: d@1}
    with: {label: y, test_fraction: 1.5, seed: "abc", bogus: 1}' \
  "bad.yaml:6:62: unknown with: key 'bogus' for lockstep/ml-split (known: label, test_fraction, seed)"
check . 'pipeline: p
steps:
  a:
    uses: lockstep/ml-split
    inputs: {data: d@1}
    with: {label: y, test_fraction: 1.5, seed: 3}' \
  "bad.yaml:6:37: lockstep/ml-split with: test_fraction must be a number between 0 and 1 (exclusive), not 1.5"
# A -p value is checked like a literal, before anything runs.
cat >split.yaml <<'YAML'
pipeline: p
params: {f: 0.3}
steps:
  a:
    uses: lockstep/ml-split
    inputs: {data: d@1}
    with: {label: y, test_fraction: "${{ params.f }}"}
YAML
expect_exit 3 "$LOCKSTEP" run split.yaml --sandbox none -p f=1.5
expect_contains stderr.txt "split.yaml:7:37: lockstep/ml-split with: test_fraction must be a number between 0 and 1 (exclusive), not 1.5 (the value given to param 'f')"
check . 'pipeline: p
steps:
  a:
    uses: lockstep/data-snapshot
    with: {source: d.csv, name: d, bogus: 1}' \
  "bad.yaml:5:43: unknown with: key 'bogus' for lockstep/data-snapshot (known: source, name)"
check . 'pipeline: p
steps:
  a:
    run: [sh, -c, "echo > outputs/x"]
    code: [missing.py]
    outputs: {x: Artifact}' \
  "bad.yaml:5:12: code file 'missing.py' does not exist (looked in $TEST_DIR)"
rm -r outputs
expect_eq "$(cat victim/keep.txt victim/gone.txt victim/t.txt | tr '\n' ' ')" \
  "keep gone t " "victim files"

# --jobs below 1 is a usage error naming the flag, before anything runs.
printf 'pipeline: p\nsteps:\n  a: {run: [sh, -c, "echo > outputs/x"], outputs: {x: Artifact}}\n' >ok.yaml
for jobs in 0 -1 x; do
  expect_exit 64 "$LOCKSTEP" run ok.yaml --sandbox none --jobs "$jobs"
  expect_contains stderr.txt "--jobs"
done
expect_exit 0 "$LOCKSTEP" run ok.yaml --sandbox none --jobs 1

# code: [.] next to the store: the store is not code, the key is stable.
mkdir proj
echo 'print(1)' >proj/fit.py
cat >proj/p.yaml <<'YAML'
pipeline: dot
steps:
  a:
    run: [sh, -c, 'ls -A > outputs/files']
    code: [.]
    outputs: {files: Artifact}
YAML
export LOCKSTEP_STORE="$TEST_DIR/proj/.lockstep"
(cd proj && "$LOCKSTEP" run p.yaml --sandbox none --json) >run1.json
(cd proj && "$LOCKSTEP" run p.yaml --sandbox none --json) >run2.json
expect_eq "$(json run2.json 'd["steps"][0]["state"]')" cached "second run"
out=$(json run1.json 'd["steps"][0]["outputs"]["files"]')
expect_eq "$(tr '\n' ' ' <"$LOCKSTEP_STORE/blobs/sha256/${out:7:2}/${out:7}")" \
  "fit.py inputs outputs p.yaml tmp " "step folder"

# A manifest is untrusted: an input name with `..` in a step record is
# refused by reproduce, and the file it names is untouched.
manifest=$(json run1.json 'd["manifest"]')
python3 - "$manifest" "$TEST_DIR" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
inv = m["steps"][0]["invocation"]
inv["outputs"] = ["../../../../../../../../" + sys.argv[2][1:] +
                  "/victim/gone.txt"]
# Hashed again as manifest.md says, so that only the names are wrong.
import hashlib
def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)
def digest(value):
    return "sha256:" + hashlib.sha256(canonical(value).encode()).hexdigest()
old = m["field_hashes"]["steps"]
m["field_hashes"]["steps"] = (digest(m["steps"]) if old.startswith("sha256:")
                              else digest(m["steps"])[7:])
del m["manifest_hash"]
m["manifest_hash"] = digest(m)
open("evil.json", "w").write(canonical(m) + "\n")
PY
expect_exit 3 "$LOCKSTEP" reproduce evil.json
expect_contains stderr.txt "malformed step record"
expect_eq "$(cat victim/gone.txt)" gone "victim after reproduce"

# Found by a tester: an output that is a link resolving outside outputs/
# aborted the whole run (exit 3, no manifest, the finally: step skipped).
# It fails its step: exit 1, the run recorded, the finally: step runs.
cat >outlink.yaml <<'YAML'
pipeline: outlink
steps:
  make:
    run: [sh, -c, 'echo data > outputs/x']
    outputs: {x: Dataset}
  forward:
    run: [sh, -c, 'ln -s ../inputs/x outputs/y']
    inputs: {x: make.x}
    outputs: {y: Dataset}
  notify:
    finally: true
    run: [sh, -c, 'echo "${{ run.status }}" > outputs/note']
    outputs: {note: Artifact}
YAML
expect_exit 1 "$LOCKSTEP" run outlink.yaml --sandbox none --json
expect_eq "$(json stdout.txt 'd["status"]')" failed "run status"
expect_eq "$(json stdout.txt \
  '[(s["name"], s["state"]) for s in d["steps"]]')" \
  "[('make', 'ran'), ('forward', 'failed'), ('notify', 'ran')]" "steps"
expect_contains stdout.txt "output 'y' is a link that resolves outside \
outputs/; an output must be a file or folder inside it"
expect_eq "$(json "$(json stdout.txt 'd["manifest"]')" 'd["status"]')" \
  failed "manifest status"
echo "pipeline step paths: ok"
