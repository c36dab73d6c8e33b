# Reproduce takes code files the store lacks from the git commit the
# manifest names (plus the stored patch of a dirty run), from a clone in
# another folder with a fresh store; a missing commit or patch is exit 2
# naming it.
source "$(dirname "$0")/lib.sh"

git_quiet() {
  git -c user.name=test -c user.email=test@example.com \
    -c init.defaultBranch=main "$@" >/dev/null 2>&1
}

# The origin repository: a pipeline in a subfolder with one code file.
mkdir origin
git_quiet -C origin init
mkdir origin/pipe
cat >origin/pipe/pipeline.yaml <<'YAML'
pipeline: scored
steps:
  score:
    run: [sh, score.sh]
    code: [score.sh]
    outputs: {result: Artifact}
YAML
echo 'echo "score 7" >outputs/result' >origin/pipe/score.sh
git_quiet -C origin add -A
git_quiet -C origin commit -m "first"
commit=$(git -C origin rev-parse HEAD)

# Clone A runs it with store A.
git_quiet clone origin clone-a
(cd clone-a/pipe && LOCKSTEP_STORE="$TEST_DIR/store-a" "$LOCKSTEP" run \
  pipeline.yaml --json >"$TEST_DIR/a.json" 2>/dev/null)
manifest=$(json a.json 'd["manifest"]')
expect_eq "$(json "$manifest" 'd["code"]["commit"]')" "$commit" \
  "manifest commit"
expect_eq "$(json "$manifest" 'd["code"]["pipeline_directory"]')" "pipe" \
  "pipeline directory"
cp "$manifest" only-manifest.json

# Clone B, elsewhere, with a fresh store that holds nothing: the code
# comes from git and the run reproduces.
mkdir -p elsewhere/deeper
git_quiet clone origin elsewhere/deeper/clone-b
cd elsewhere/deeper/clone-b
export LOCKSTEP_STORE="$TEST_DIR/store-b"
expect_exit 0 "$LOCKSTEP" reproduce "$TEST_DIR/only-manifest.json" --json
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["code_restored"]["files"]')" \
  "['score.sh']" "code file rebuilt from git"
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["code_restored"]["commit"]')" \
  "$commit" "commit used"
code_digest=$(json "$manifest" \
  'd["steps"][0]["invocation"]["code"]["score.sh"]["digest"]')
[[ -f "$LOCKSTEP_STORE/blobs/sha256/${code_digest:7:2}/${code_digest:7}" ]] ||
  fail "the rebuilt code file is not in store B"

# --keep keeps the rebuilt tree, under --in.
rm -rf "$LOCKSTEP_STORE"
expect_exit 0 "$LOCKSTEP" reproduce "$TEST_DIR/only-manifest.json" \
  --in "$TEST_DIR/work" --keep
expect_contains "$TEST_DIR/stdout.txt" "1 file(s) rebuilt from commit $commit"
kept=$(sed -n 's/^  code kept in //p' "$TEST_DIR/stdout.txt")
expect_eq "$(cat "$kept/pipe/score.sh")" 'echo "score 7" >outputs/result' \
  "kept code folder"
[[ "$kept" == "$TEST_DIR/work/"* ]] || fail "kept folder $kept not in --in"
cd "$TEST_DIR"

# A repository without that commit: exit 2, naming the commit.
mkdir other
git_quiet -C other init
echo unrelated >other/file
git_quiet -C other add -A
git_quiet -C other commit -m "unrelated"
cd other
export LOCKSTEP_STORE="$TEST_DIR/store-c"
expect_exit 2 "$LOCKSTEP" reproduce "$TEST_DIR/only-manifest.json"
expect_contains "$TEST_DIR/stdout.txt" "code commit $commit is not available"
expect_contains "$TEST_DIR/stdout.txt" "git fetch"
cd "$TEST_DIR"

# A dirty run: the patch travels as a blob; without it, exit 2 naming it.
echo 'echo "score 8" >outputs/result' >clone-a/pipe/score.sh
(cd clone-a/pipe && LOCKSTEP_STORE="$TEST_DIR/store-a" "$LOCKSTEP" run \
  pipeline.yaml --json >"$TEST_DIR/dirty.json" 2>/dev/null)
dirty_manifest=$(json dirty.json 'd["manifest"]')
expect_eq "$(json "$dirty_manifest" 'd["code"]["dirty"]')" True "dirty run"
patch=$(json "$dirty_manifest" 'd["code"]["patch_digest"]')
cd elsewhere/deeper/clone-b
export LOCKSTEP_STORE="$TEST_DIR/store-d"
expect_exit 2 "$LOCKSTEP" reproduce "$dirty_manifest"
expect_contains "$TEST_DIR/stdout.txt" "its patch $patch is not in the store"
# With the patch blob copied over (what a pull brings), it reproduces.
mkdir -p "$LOCKSTEP_STORE/blobs/sha256/${patch:7:2}"
cp "$TEST_DIR/store-a/blobs/sha256/${patch:7:2}/${patch:7}" \
  "$LOCKSTEP_STORE/blobs/sha256/${patch:7:2}/"
expect_exit 0 "$LOCKSTEP" reproduce "$dirty_manifest"
expect_contains "$TEST_DIR/stdout.txt" "reproduced: bit-identical"
echo "reproduce code from git: ok"
