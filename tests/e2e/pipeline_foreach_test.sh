# for_each: fan-out over a list param or an earlier step's output, with a
# parallelism limit; each iteration is its own cached execution step[i],
# and a later step collects the iterations' outputs as a folder.
source "$(dirname "$0")/lib.sh"

cat >p.yaml <<YAML
pipeline: fanout
params:
  depths: [2, 4, "8"]
steps:
  train:
    for_each: \${{ params.depths }}
    parallelism: 2
    run: [sh, -c, 'echo start >> $TEST_DIR/log; sleep 0.5; echo "depth \${{ item }}" > outputs/model; echo end >> $TEST_DIR/log']
    outputs:
      model: Model
  collect:
    run: [sh, -c, 'for f in inputs/models/*; do echo "\$(basename \$f): \$(cat \$f)"; done > outputs/all']
    inputs:
      models: train.model
    outputs:
      all: Artifact
  plan:
    run: [sh, -c, 'echo "[{\"n\": 1}, {\"n\": 2}]" > outputs/list']
    outputs:
      list: Artifact
  each:
    for_each: \${{ steps.plan.outputs.list }}
    run: [sh, -c, 'echo \${{ item.n }} > outputs/v']
    outputs:
      v: Artifact
YAML
run() {
  "$LOCKSTEP" run p.yaml --sandbox none --jobs 4 --json "$@" >run.json \
    2>run.err || { cat run.err >&2; fail "run $* failed"; }
  json run.json '" ".join(sorted(s["name"] + "=" + s["state"] for s in d["steps"]))'
}
out_of() {
  json run.json "[s for s in d['steps'] if s['name']=='$1'][0]['outputs']['$2']"
}
blob() { echo "$LOCKSTEP_STORE/blobs/sha256/${1:7:2}/${1:7}"; }

expect_eq "$(run)" "collect=ran each=ran each[0]=ran each[1]=ran plan=ran train=ran train[0]=ran train[1]=ran train[2]=ran" "first run"
expect_eq "$(cat "$(blob "$(out_of collect all)")")" "0: depth 2
1: depth 4
2: depth 8" "collected outputs"
expect_eq "$(cat "$(blob "$(out_of 'each[1]' v)")")" 2 "item field"

# parallelism: 2 means never three iterations at once, but two did
# overlap (--jobs 4 allows it).
python3 - log <<'PY' || fail "parallelism not respected: $(cat log)"
import sys
running = peak = 0
for line in open(sys.argv[1]):
    running += 1 if line.strip() == "start" else -1
    peak = max(peak, running)
sys.exit(0 if peak == 2 else 1)
PY

# Cached per iteration: one new item runs only that iteration; the
# string "8" and the int 8 are different items.
expect_eq "$(run -p 'depths=[2, 4, "8", 16]')" "collect=ran each=cached each[0]=cached each[1]=cached plan=cached train=ran train[0]=cached train[1]=cached train[2]=cached train[3]=ran" "added item"
# The int 8 runs again, makes the same bytes as "8" did, so the collected
# folder is identical and its consumer is a cache hit.
expect_eq "$(run -p 'depths=[2, 4, 8]')" "collect=cached each=cached each[0]=cached each[1]=cached plan=cached train=ran train[0]=cached train[1]=cached train[2]=ran" "int item"

# A failing iteration fails the step; the collector is skipped.
sed -i 's/sleep 0.5; echo/test "${{ item }}" != 4 || exit 7; echo/' p.yaml
"$LOCKSTEP" run p.yaml --sandbox none --no-cache --json >run.json 2>run.err &&
  fail "a failed iteration passed"
expect_eq "$(json run.json "[s['state'] for s in d['steps'] if s['name'] in ('train[1]', 'train', 'collect')]")" \
  "['failed', 'failed', 'skipped']" "failed iteration"

# for_each over something that is not a list is a clear error.
sed -i 's/for_each: \${{ steps.plan.outputs.list }}/for_each: ${{ params.nope }}/' p.yaml
expect_exit 3 "$LOCKSTEP" validate p.yaml
expect_contains stderr.txt "p.yaml:22:15: unknown param 'nope'"

# Found by a tester: `if:` and `for_each:` over a folder output read the
# internal tar bytes (for_each: dumped them in its error). Each fails its
# step naming the reference.
printf '%s\n' 'pipeline: folderexpr
steps:
  d:
    run: [sh, -c, "mkdir outputs/f; echo 1 > outputs/f/a"]
    outputs: {f: Artifact}' >folder_if.yaml
cp folder_if.yaml folder_each.yaml
printf '%s\n' '  h:
    if: steps.d.outputs.f
    run: [sh, -c, "echo h > outputs/x"]
    outputs: {x: Artifact}' >>folder_if.yaml
printf '%s\n' '  e:
    for_each: ${{ steps.d.outputs.f }}
    run: [sh, -c, "echo ${{ item }} > outputs/x"]
    outputs: {x: Artifact}' >>folder_each.yaml
expect_exit 1 "$LOCKSTEP" run folder_if.yaml --sandbox none --json
expect_eq "$(json stdout.txt '[(s["name"], s["state"]) for s in d["steps"]]')" \
  "[('d', 'ran'), ('h', 'failed')]" "if: steps"
expect_contains stdout.txt "folder_if.yaml:7:9: if: steps.d.outputs.f is a \
folder; an expression reads only a file output"
expect_exit 1 "$LOCKSTEP" run folder_each.yaml --sandbox none --json
expect_eq "$(json stdout.txt '[(s["name"], s["state"]) for s in d["steps"]]')" \
  "[('d', 'cached'), ('e', 'failed')]" "for_each: steps"
expect_contains stdout.txt "folder_each.yaml:7:15: for_each: \
steps.d.outputs.f is a folder; an expression reads only a file output"

# An iteration is keyed by its item, not its position: adding an item at
# the front of a sweep runs one iteration, and LOCKSTEP_STEP carries no
# index an output could depend on without it being in the key.
cat >front.yaml <<'YAML'
pipeline: front
params:
  depths: [2, 4, 8]
steps:
  train:
    for_each: ${{ params.depths }}
    run: [sh, -c, 'echo "$LOCKSTEP_STEP ${{ item }}" > outputs/model']
    outputs:
      model: Model
YAML
expect_exit 0 "$LOCKSTEP" run front.yaml --sandbox none --json
expect_exit 0 "$LOCKSTEP" run front.yaml --sandbox none --json \
  -p 'depths=[1, 2, 4, 8]'
expect_eq "$(json stdout.txt '[(s["name"], s["state"]) for s in d["steps"]]')" \
  "[('train', 'ran'), ('train[0]', 'ran'), ('train[1]', 'cached'), \
('train[2]', 'cached'), ('train[3]', 'cached')]" "front insert"
digest=$(json stdout.txt \
  '[s for s in d["steps"] if s["name"] == "train[0]"][0]["outputs"]["model"]')
expect_eq "$(cat "$LOCKSTEP_STORE/blobs/sha256/${digest:7:2}/${digest:7}")" \
  "train 1" "LOCKSTEP_STEP of an iteration"
echo ok
