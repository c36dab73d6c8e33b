# Found by a tester: with the default store (.lockstep/, untracked) inside
# a git work tree, every run counted the tree as dirty and stored a patch
# holding the whole store, earlier patches included, so patches doubled
# with each run. The store is not code: it is left out of the dirty check
# and the patch, while a real edit is still recorded.
source "$(dirname "$0")/lib.sh"
command -v git >/dev/null || { echo "skipped: no git"; exit 0; }
unset LOCKSTEP_STORE  # The default store: .lockstep/ in the work tree.

git init -q repo
cd repo
git config user.email t@example.com
git config user.name t
cat >p.yaml <<'YAML'
pipeline: clean
steps:
  a:
    run: [sh, -c, "cat c.txt > outputs/o"]
    code: [c.txt]
    outputs: {o: Artifact}
YAML
echo one >c.txt
git add p.yaml c.txt
git commit -q -m init

for i in 1 2 3; do
  "$LOCKSTEP" run p.yaml --sandbox none --json >"../run$i.json" 2>/dev/null ||
    fail "run $i failed"
done
[[ -d .lockstep ]] || fail "the store is not in the work tree"
manifest=$(json ../run3.json 'd["manifest"]')
expect_eq "$(json "$manifest" 'd["code"]["dirty"]')" False \
  "a clean tree with the store inside it"

# A real edit is still a dirty tree, and its patch holds the edit only.
echo two >c.txt
"$LOCKSTEP" run p.yaml --sandbox none --json >../run4.json 2>/dev/null
manifest=$(json ../run4.json 'd["manifest"]')
expect_eq "$(json "$manifest" 'd["code"]["dirty"]')" True "an edited tree"
patch=$(json "$manifest" 'd["code"]["patch_digest"].split(":")[1]')
patch_file=$(find .lockstep/blobs -name "$patch")
[[ -n "$patch_file" ]] || fail "patch blob not stored"
if grep -q "lockstep" "$patch_file"; then
  fail "the patch holds the store: $(head -c 300 "$patch_file")"
fi
expect_contains "$patch_file" "+two"
echo ok
