# Reproduce names the first step and output that differ, shows the numbers
# that moved in metrics, honours `reproduce: ignore`, and gives the same
# digests for a run made from another folder.
source "$(dirname "$0")/lib.sh"

cat >clock.yaml <<'YAML'
pipeline: clock
steps:
  stamp:
    run: [sh, -c, "date +%s%N >outputs/when"]
    outputs: {when: Artifact}
  steady:
    run: [sh, -c, "echo 42 >outputs/answer"]
    outputs: {answer: Artifact}
YAML
"$LOCKSTEP" run clock.yaml --json >run.json 2>/dev/null
manifest=$(json run.json 'd["manifest"]')
expect_exit 1 "$LOCKSTEP" reproduce "$manifest" --json
expect_eq "$(json stdout.txt 'd["reproduced"]')" False "reproduced"
expect_eq "$(json stdout.txt 'd["first_divergence"]')" \
  "step stamp, output when" "first divergence"
expect_eq "$(json stdout.txt '[s["identical"] for s in d["steps"]]')" \
  "[False, True]" "per-step verdicts"

# Declared non-deterministic: accepted, with the policy shown.
sed 's/outputs: {when: Artifact}/outputs: {when: {type: Artifact, reproduce: ignore}}/' \
  clock.yaml >ignore.yaml
"$LOCKSTEP" run ignore.yaml --json >run2.json 2>/dev/null
manifest2=$(json run2.json 'd["manifest"]')
expect_exit 0 "$LOCKSTEP" reproduce "$manifest2"
expect_contains stdout.txt "output when [ignore]"
# Found by a tester: an accepted difference was reported bit-identical.
expect_contains stdout.txt "reproduced within policy: 1 output(s) differ"
expect_not_contains stdout.txt "reproduced: bit-identical"
expect_exit 0 "$LOCKSTEP" reproduce "$manifest2" --json
expect_eq "$(json stdout.txt '(d["reproduced"], d["bit_identical"])')" \
  "(True, False)" "reproduced, not bit-identical"

# Metrics that move are listed with old, new and delta.
cat >metrics.yaml <<'YAML'
pipeline: metrics
steps:
  score:
    run: [sh, -c, "printf '{\"auc\": 0.9%s}' $(date +%N) >outputs/m"]
    outputs: {m: Metrics}
YAML
"$LOCKSTEP" run metrics.yaml --json >run3.json 2>/dev/null
expect_exit 1 "$LOCKSTEP" reproduce "$(json run3.json 'd["manifest"]')" --json
expect_eq "$(json stdout.txt \
  'd["steps"][0]["outputs"][0]["metric_changes"][0]["key"]')" auc \
  "metric that moved"

# Found by a tester: a NaN (as Python's json.dumps writes it) hid every
# metric of the file from run's summary.
cat >nan.yaml <<'YAML'
pipeline: nan
steps:
  score:
    run: [sh, -c, "printf '{\"loss\": NaN, \"acc\": 0.9}' >outputs/m"]
    outputs: {m: Metrics}
YAML
expect_exit 0 "$LOCKSTEP" run nan.yaml
expect_contains stdout.txt "m: acc 0.9, loss NaN"

# The same pipeline run from two different folders gives the same
# digests: the sandbox's fixed path keeps absolute paths out of outputs.
cat >where.yaml <<'YAML'
pipeline: where
steps:
  pwd:
    run: [sh, -c, "pwd >outputs/dir; echo $HOME >>outputs/dir"]
    outputs: {dir: Artifact}
YAML
mkdir -p a/one b/two/three
cp where.yaml a/one/ && cp where.yaml b/two/three/
(cd a/one && LOCKSTEP_STORE="$TEST_DIR/store-a" "$LOCKSTEP" run where.yaml \
  --json >../../a.json 2>/dev/null)
(cd b/two/three && LOCKSTEP_STORE="$TEST_DIR/store-b" "$LOCKSTEP" run \
  where.yaml --json >../../../b.json 2>/dev/null)
expect_eq "$(json a.json 'd["steps"][0]["outputs"]["dir"]')" \
  "$(json b.json 'd["steps"][0]["outputs"]["dir"]')" "path-independent digest"
expect_eq "$(json a.json 'd["steps"][0]["outputs"]["dir"]')" \
  "sha256:$(printf '/lockstep\n/tmp\n' | sha256sum | cut -d' ' -f1)" \
  "the step saw the fixed sandbox path"
# A folder output where one file holds the time: the report names that
# file inside the folder, and which files came and went.
cat >tree.yaml <<'YAML'
pipeline: tree
steps:
  stamp:
    run: [sh, -c, "mkdir -p outputs/tree/sub && echo fixed >outputs/tree/a.txt && date +%s%N >outputs/tree/sub/when.txt && touch outputs/tree/t$(date +%N)"]
    outputs: {tree: Dataset}
YAML
"$LOCKSTEP" run tree.yaml --json >run4.json 2>/dev/null
manifest4=$(json run4.json 'd["manifest"]')
expect_eq "$(json "$manifest4" 'd["steps"][0]["outputs"]["tree"]["folder"]')" \
  True "folder output marked in the manifest"
expect_exit 1 "$LOCKSTEP" reproduce "$manifest4" --json
expect_eq "$(json stdout.txt 'd["steps"][0]["outputs"][0]["folder_changes"]["changed"]')" \
  "['sub/when.txt']" "changed file inside the folder"
expect_eq "$(json stdout.txt 'len(d["steps"][0]["outputs"][0]["folder_changes"]["added"]), len(d["steps"][0]["outputs"][0]["folder_changes"]["removed"])')" \
  "1 1" "one file added and one removed"
expect_eq "$(json stdout.txt 'd["first_divergence"]')" \
  "step stamp, output tree, file sub/when.txt" "first divergence names the file"
expect_exit 1 "$LOCKSTEP" reproduce "$manifest4"
expect_contains stdout.txt "      changed: sub/when.txt"

# run --check-determinism runs each step twice and flags the clock step.
expect_exit 1 "$LOCKSTEP" run clock.yaml --check-determinism --json
expect_eq "$(json stdout.txt '[(s["step"], s["identical"]) for s in d["determinism"]]')" \
  "[('stamp', False), ('steady', True)]" "determinism verdicts"
expect_eq "$(json stdout.txt 'd["determinism"][0]["outputs"][0]["name"]')" \
  when "the output that differs"
expect_exit 1 "$LOCKSTEP" run clock.yaml --check-determinism
expect_contains stdout.txt "  stamp: DIFFERS"
expect_contains stdout.txt "  steady: identical"
expect_exit 0 "$LOCKSTEP" run ignore.yaml --check-determinism
expect_contains stdout.txt "  stamp: differs, accepted by its policy"
expect_contains stdout.txt "    output when [ignore]"
expect_exit 0 "$LOCKSTEP" run where.yaml --check-determinism --json
expect_eq "$(json stdout.txt 'd["determinism"][0]["identical"]')" True \
  "a deterministic step"
echo "reproduce divergence: ok"

# The text report tells an output accepted by its tolerance from one that
# differs, and says when a Metrics file is not JSON at all.
cat >tolerance.yaml <<'YAML'
pipeline: tolerance
steps:
  score:
    run: [sh, -c, "n=$(date +%N); printf '{\"acc\": 0.9%s}' $n >outputs/m;
                   printf '{\"acc\": 0.9%s}' $n >outputs/strict;
                   printf 'acc 0.9%s' $n >outputs/plain"]
    outputs:
      m: {type: Metrics, reproduce: {tolerance: 0.5}}
      strict: {type: Metrics, reproduce: {tolerance: 0.00000000001}}
      plain: Metrics
YAML
"$LOCKSTEP" run tolerance.yaml --json >run4.json 2>/dev/null
expect_exit 1 "$LOCKSTEP" reproduce "$(json run4.json 'd["manifest"]')"
expect_contains stdout.txt "output m [tolerance]: accepted: expected"
expect_contains stdout.txt "output strict [tolerance]: differs: expected"
expect_contains stdout.txt "output plain [exact]: differs: expected"
expect_contains stdout.txt \
  "metrics are not readable JSON on both sides: only digests compared"
if grep -q "discarded" stdout.txt; then
  fail "a non-JSON metrics file printed as <discarded>"
fi

# Found by a tester: a step skipped because its upstream failed (it has no
# if: of its own) was reported "diverged (its if: condition is now true)",
# so reproducing any run with such a step exited 1.
cat >upstream.yaml <<'YAML'
pipeline: upstream
steps:
  a:
    run: [sh, -c, "exit 1"]
    outputs: {o: Artifact}
  b:
    run: [sh, -c, "cat inputs/i > outputs/r"]
    inputs: {i: a.o}
    outputs: {r: Artifact}
YAML
"$LOCKSTEP" run upstream.yaml --json >run5.json 2>/dev/null || true
expect_eq "$(json run5.json '" ".join(s["name"] + "=" + s["state"] for s in d["steps"])')" \
  "a=failed b=skipped" "states of the failed run"
expect_exit 0 "$LOCKSTEP" reproduce "$(json run5.json 'd["manifest"]')" --json
expect_eq "$(json stdout.txt '[(s["name"], s["status"]) for s in d["steps"]]')" \
  "[('a', 'failed'), ('b', 'skipped')]" "verdicts"
expect_eq "$(json stdout.txt 'd["reproduced"]')" True "reproduced"
