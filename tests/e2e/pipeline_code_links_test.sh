# Symlinks inside `code:` folders (docs/caching.md, "Code"): links to
# files and to folders are followed, copied into the step folder under the
# link's path and keyed by the bytes behind them; a loop or a dangling
# link fails validation naming the path (exit 3, no store created).
source "$(dirname "$0")/lib.sh"

# A symlink loop: a clear error at validation and at run, nothing written.
mkdir loop
cd loop
mkdir scripts
echo 'echo hi' >scripts/run.sh
ln -s l2 scripts/l1
ln -s l1 scripts/l2
cat >p.yaml <<'YAML'
pipeline: loop
steps:
  s:
    run: [sh, scripts/run.sh]
    code: [scripts]
YAML
expect_exit 3 "$LOCKSTEP" validate p.yaml
expect_eq "$(cat "$TEST_DIR/stderr.txt")" \
  "lockstep: error: p.yaml:5:12: code path scripts/l1: symlink loop" \
  "loop at validation"
expect_exit 3 "$LOCKSTEP" run p.yaml
expect_contains "$TEST_DIR/stderr.txt" "p.yaml:5:12: code path scripts/l1: symlink loop"
[[ ! -e "$LOCKSTEP_STORE" ]] || fail "a symlink loop created $LOCKSTEP_STORE"

# A link to a folder that holds it, and a dangling link: same treatment.
rm scripts/l1 scripts/l2
ln -s ../scripts scripts/again
expect_exit 3 "$LOCKSTEP" validate p.yaml
expect_contains "$TEST_DIR/stderr.txt" \
  "p.yaml:5:12: code path scripts/again: symlink loop (links to a folder that contains it)"
rm scripts/again
ln -s missing.txt scripts/gone
expect_exit 3 "$LOCKSTEP" validate p.yaml
expect_contains "$TEST_DIR/stderr.txt" "p.yaml:5:12: code path scripts/gone: dangling symlink"
cd ..

# A link to a folder outside the pipeline's folder is followed: the step
# reads through it, and editing the linked file misses the cache.
mkdir -p proj/scripts lib
echo L1 >lib/mod.txt
ln -s ../../lib proj/scripts/lib
echo F1 >lib/file.txt
ln -s ../../lib/file.txt proj/scripts/file.txt
cat >proj/p.yaml <<'YAML'
pipeline: links
steps:
  s:
    run: [sh, -c, "cat scripts/lib/mod.txt scripts/file.txt > outputs/o"]
    code: [scripts]
    outputs: {o: Artifact}
YAML
run() {
  expect_exit 0 "$LOCKSTEP" run proj/p.yaml --json
  digest=$(json stdout.txt 'd["steps"][0]["outputs"]["o"]')
  echo "$(json stdout.txt 'd["steps"][0]["state"]'):$(cat \
    "$LOCKSTEP_STORE/blobs/sha256/${digest:7:2}/${digest:7}" | tr '\n' ' ')"
}
expect_eq "$(run)" "ran:L1 F1 " "first run through the links"
expect_eq "$(run)" "cached:L1 F1 " "unchanged"
echo L2 >lib/mod.txt
expect_eq "$(run)" "ran:L2 F1 " "file behind a folder link edited"
echo F2 >lib/file.txt
expect_eq "$(run)" "ran:L2 F2 " "file behind a file link edited"
manifest=$(json stdout.txt 'd["manifest"]')
expect_eq "$(json "$manifest" 'sorted(d["steps"][0]["invocation"]["code"])')" \
  "['scripts/file.txt', 'scripts/lib/file.txt', 'scripts/lib/mod.txt']" \
  "code files keyed"
echo "pipeline code links: ok"
