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
expect_contains stdout.txt "reproduced: bit-identical"

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
echo "reproduce divergence: ok"
