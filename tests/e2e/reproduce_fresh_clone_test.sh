# Acceptance: the example run reproduces from a fresh clone of the source
# tree in a different folder (clone A is gone by then): exit 0.
source "$(dirname "$0")/lib.sh"

if ! git -C "$LOCKSTEP_SOURCE_DIR" rev-parse --git-dir >/dev/null 2>&1; then
  echo "reproduce fresh clone: skipped ($LOCKSTEP_SOURCE_DIR is not a git" \
    "repository)"
  exit 0
fi
export LOCKSTEP_STORE="$TEST_DIR/store"

git clone --quiet "$LOCKSTEP_SOURCE_DIR" clone-a
(cd clone-a && "$LOCKSTEP" run examples/breast-cancer/pipeline.yaml --json \
  >"$TEST_DIR/run.json" 2>"$TEST_DIR/run.err") ||
  { cat run.err >&2; fail "the example run failed"; }
expect_eq "$(json run.json 'd["status"]')" succeeded "example run"
manifest=$(json run.json 'd["manifest"]')
expect_eq "$(json "$manifest" 'd["code"]["pipeline_directory"]')" \
  examples/breast-cancer "pipeline directory in the manifest"
rm -rf clone-a

mkdir -p another/place
git clone --quiet "$LOCKSTEP_SOURCE_DIR" another/place/clone-b
cd another/place/clone-b
expect_exit 0 "$LOCKSTEP" reproduce "$manifest" --json
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["reproduced"]')" True \
  "reproduced from clone B"
expect_eq "$(json "$TEST_DIR/stdout.txt" \
  '[s["status"] for s in d["steps"]]')" \
  "['identical', 'identical', 'identical', 'identical', 'identical']" \
  "every step identical"
echo "reproduce fresh clone: ok"
