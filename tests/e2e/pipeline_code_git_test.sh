#!/usr/bin/env bash
# `code: [.]` in a git repository leaves .git out: a commit that changes
# no file the step sees keeps its cache, and the step folder holds no
# copy of the repository (found by a tester: every commit re-ran it).
source "$(dirname "$0")/lib.sh"

# The repository is a folder of its own: the test's stdout.txt and
# stderr.txt must not be new files in its code.
mkdir repo
cd repo
git init -q .
git config user.email test@localhost
git config user.name test
echo 'ls -A > outputs/listing' >tool.sh
cat >p.yaml <<'YAML'
pipeline: codegit
steps:
  a:
    run: [sh, tool.sh]
    code: [.]
    outputs: {listing: Artifact}
YAML
git add -A
git commit -qm first
cd "$TEST_DIR"
expect_exit 0 "$LOCKSTEP" run repo/p.yaml --json
expect_eq "$(json stdout.txt '[s["state"] for s in d["steps"]]')" "['ran']" \
  "first run"
digest=$(json stdout.txt 'd["steps"][0]["outputs"]["listing"]')
listing="$LOCKSTEP_STORE/blobs/sha256/${digest:7:2}/${digest:7}"
grep -qx .git "$listing" && fail "the step folder holds .git"
grep -qx tool.sh "$listing" || fail "the step folder lacks tool.sh"

git -C repo commit -q --allow-empty -m second
expect_exit 0 "$LOCKSTEP" run repo/p.yaml --json
expect_eq "$(json stdout.txt '[s["state"] for s in d["steps"]]')" \
  "['cached']" "after a commit that changes no file"
echo "pipeline code git: ok"
