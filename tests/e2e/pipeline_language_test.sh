# The pipeline language end to end: typed params from defaults, -p and
# --params; needs; if: over params and earlier outputs; per-step
# cache: false and always_run.
source "$(dirname "$0")/lib.sh"

cat >p.yaml <<'YAML'
pipeline: language
params:
  n: 2
  lr: 1e-5
  ratio: 1.0
  name: "2"
  flag: true
  items: [a, b]
  opts: {depth: 3}
steps:
  show:
    run: [sh, -c, 'printf "%s|" "$@" > outputs/values', sh, '${{ params.n }}', '${{ params.lr }}', '${{ params.ratio }}', '${{ params.name }}', '${{ params.flag }}', '${{ params.items }}', '${{ params.opts }}']
    outputs:
      values: Artifact
  decide:
    run: [sh, -c, 'echo ${{ params.n }} > outputs/count']
    outputs:
      count: Metrics
  big:
    if: steps.decide.outputs.count > 2
    run: [sh, -c, 'echo big > outputs/r']
    outputs:
      r: Artifact
  small:
    if: steps.decide.outputs.count <= 2 && params.flag
    run: [sh, -c, 'echo small > outputs/r']
    outputs:
      r: Artifact
  first:
    run: [sh, -c, 'sleep 0.3; date +%s%N > /tmp/x; echo 1 > outputs/t']
    outputs:
      t: Artifact
  after:
    needs: [first]
    cache: false
    run: [sh, -c, 'echo after > outputs/t']
    outputs:
      t: Artifact
  every:
    always_run: true
    run: [sh, -c, 'echo every > outputs/t']
    outputs:
      t: Artifact
YAML
run() {
  "$LOCKSTEP" run p.yaml --sandbox none --json "$@" >run.json 2>run.err ||
    { cat run.err >&2; fail "run $* failed"; }
}
state() {
  json run.json "[s for s in d['steps'] if s['name']=='$1'][0]['state']"
}
blob_text() {
  local digest
  digest=$(json run.json "[s for s in d['steps'] if s['name']=='$1'][0]['outputs']['$2']")
  cat "$LOCKSTEP_STORE/blobs/sha256/${digest:7:2}/${digest:7}"
}

run
expect_eq "$(blob_text show values)" \
  '2|0.00001|1.0|2|true|["a","b"]|{"depth":3}|' "typed param values"
# The manifest keeps every param's type: 2 is an int, "2" a string,
# 1e-5 and 1.0 floats.
manifest=$(json run.json 'd["manifest"]')
expect_eq "$(json "$manifest" '" ".join(d["params"][k]["type"] for k in ["n", "lr", "ratio", "name", "flag", "items", "opts"])')" \
  "int float float string bool list map" "param types"
expect_eq "$(state big)" skipped "if false"
expect_eq "$(state small)" ran "if true"
expect_eq "$(state after)" ran "needs"
# needs orders without data: `after` is decided only once `first` is done.
order=$(json run.json '[s["name"] for s in d["steps"]]')
python3 - "$order" <<'PY' || fail "after ran before first: $order"
import ast, sys
order = ast.literal_eval(sys.argv[1])
sys.exit(0 if order.index("first") < order.index("after") else 1)
PY

run
expect_eq "$(state show)" cached "show cached"
expect_eq "$(state after)" ran "cache: false runs every time"
expect_eq "$(state every)" ran "always_run runs every time"

# -p keeps the declared type; a bad value names the param.
run -p n=3
expect_eq "$(state big)" ran "-p n=3 makes big run"
expect_eq "$(state small)" skipped "-p n=3 skips small"
expect_exit 3 "$LOCKSTEP" run p.yaml --sandbox none -p n=abc
expect_contains stderr.txt "n"

# --params FILE: JSON values with their types.
echo '{"n": 5, "flag": false, "items": ["x"]}' >params.json
run --params params.json
expect_eq "$(blob_text show values)" \
  '5|0.00001|1.0|2|false|["x"]|{"depth":3}|' "--params values"
expect_eq "$(state small)" skipped "--params flag false"
# On a terminal: an overall bar and a live line per running step; off a
# terminal (run.err above), plain log lines only.
if command -v script >/dev/null; then
  script -qc "$LOCKSTEP run p.yaml --sandbox none --no-cache" /dev/null \
    >tty.txt 2>&1 || true
  expect_contains tty.txt "7/7 steps"
  expect_contains tty.txt "first: running"
  # Found by a tester: TERM=dumb got the cursor codes.
  TERM=dumb script -qc "$LOCKSTEP run p.yaml --sandbox none --no-cache" \
    /dev/null >dumb.txt 2>&1 || true
  if grep -q $'\e\[' dumb.txt; then fail "cursor codes with TERM=dumb"; fi
  expect_not_contains dumb.txt "/7 steps"
fi
if grep -q "steps \[\|/7 steps" run.err; then fail "progress bar off a tty"; fi

# An optional input left unset is an absent file, keyed as null; set, it
# is the producer's output.
cat >opt.yaml <<'YAML'
pipeline: optional
steps:
  base:
    run: [sh, -c, 'echo base > outputs/b']
    outputs:
      b: Artifact
  use:
    run: [sh, -c, 'if [ -e inputs/extra ]; then cat inputs/extra; else echo none; fi > outputs/r']
    inputs:
      extra: {optional: true}
    outputs:
      r: Artifact
YAML
"$LOCKSTEP" run opt.yaml --sandbox none --json >run.json 2>run.err ||
  { cat run.err; fail "optional run failed"; }
expect_eq "$(blob_text use r)" none "unset optional input"
sed -i 's/extra: {optional: true}/extra: {from: base.b, optional: true}/' \
  opt.yaml
"$LOCKSTEP" run opt.yaml --sandbox none --json >run.json 2>run.err ||
  { cat run.err; fail "optional run failed"; }
expect_eq "$(blob_text use r)" base "set optional input"
echo ok
