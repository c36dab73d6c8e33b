#!/usr/bin/env bash
# Snapshot expiry under `lockstep gc`: an expired snapshot no run needs is
# marked removed and its blob swept; an expired snapshot a run needs is
# kept, and the dry run names the run. `data list` shows both states.
source "$(dirname "$0")/lib.sh"

printf 'a\n1\n' >old.csv
printf 'b\n2\n' >used.csv
"$LOCKSTEP" data snapshot old.csv --name old --expires 1s -q
"$LOCKSTEP" data snapshot used.csv --name used --expires 1s -q
old_hex=$(sha256sum old.csv | cut -d' ' -f1)
used_hex=$(sha256sum used.csv | cut -d' ' -f1)
cat >pipeline.yaml <<'YAML'
pipeline: expiry
steps:
  count:
    run: [sh, -c, 'wc -l <inputs/data >outputs/n']
    inputs:
      data: used@1
    outputs:
      n: Artifact
YAML
"$LOCKSTEP" run pipeline.yaml --json >run.json 2>/dev/null
run_id=$(json run.json 'd["run_id"]')
sleep 1.2

# Expired, not yet removed.
expect_exit 0 "$LOCKSTEP" data list --json
expect_eq "$(json "$TEST_DIR/stdout.txt" \
  '[(s["name"], s["expired"], s["removed"]) for s in d["snapshots"]]')" \
  "[('old', True, False), ('used', True, False)]" "listed before gc"

# Dry run: names the decisions, would sweep the old blob, changes nothing.
expect_exit 0 "$LOCKSTEP" gc --dry-run --grace 0 --json
cp "$TEST_DIR/stdout.txt" dry.json
expect_eq "$(json dry.json \
  '[(s["snapshot"], s["action"]) for s in d["expiredSnapshots"]]')" \
  "[('old@1', 'remove'), ('used@1', 'keep')]" "dry-run decisions"
expect_eq "$(json dry.json 'd["expiredSnapshots"][1]["reason"]')" \
  "expired, but run $run_id needs it" "kept by the run"
expect_eq "$(json dry.json \
  '"sha256:'"$old_hex"'" in [s["digest"] for s in d["swept"]]')" True \
  "dry run would sweep old"
expect_eq "$(json dry.json \
  '"sha256:'"$used_hex"'" in [s["digest"] for s in d["swept"]]')" False \
  "dry run keeps used"
[[ -f "$LOCKSTEP_STORE/blobs/sha256/${old_hex:0:2}/$old_hex" ]] ||
  fail "dry run removed a blob"
expect_exit 0 "$LOCKSTEP" gc --dry-run --grace 0
expect_contains "$TEST_DIR/stdout.txt" \
  "keep   snapshot used@1 (expired, but run $run_id needs it) [dry run]"

# For real.
expect_exit 0 "$LOCKSTEP" gc --grace 0 --json
[[ ! -e "$LOCKSTEP_STORE/blobs/sha256/${old_hex:0:2}/$old_hex" ]] ||
  fail "old snapshot's blob was not swept"
[[ -f "$LOCKSTEP_STORE/blobs/sha256/${used_hex:0:2}/$used_hex" ]] ||
  fail "the run's snapshot was swept"
expect_exit 0 "$LOCKSTEP" data list --json
expect_eq "$(json "$TEST_DIR/stdout.txt" \
  '[(s["name"], s["removed"]) for s in d["snapshots"]]')" \
  "[('old', True), ('used', False)]" "listed after gc"
expect_exit 0 "$LOCKSTEP" data list
grep -E '^old@1 .* removed$' "$TEST_DIR/stdout.txt" >/dev/null ||
  fail "data list does not show old@1 as removed"
grep -E '^used@1 .* expired$' "$TEST_DIR/stdout.txt" >/dev/null ||
  fail "data list does not show used@1 as expired"
# Verify of the removed snapshot: its bytes are missing, not changed, so
# exit 2 as for anything named that does not exist (a tester saw 1, the
# code for a changed byte), with the removal named.
expect_exit 2 "$LOCKSTEP" data verify old@1
expect_contains "$TEST_DIR/stdout.txt" "sha256:$old_hex is missing"
expect_contains "$TEST_DIR/stderr.txt" \
  "old@1: its stored bytes are missing (1 blob), not changed"
expect_contains "$TEST_DIR/stderr.txt" \
  "gc frees the bytes no run or live snapshot keeps"
expect_exit 2 "$LOCKSTEP" data verify old@1 --json
expect_eq "$(json "$TEST_DIR/stdout.txt" '(d["ok"], len(d["missing"]))')" \
  "(False, 1)" "verify json of the removed snapshot"
expect_exit 0 "$LOCKSTEP" data verify used@1
expect_exit 0 "$LOCKSTEP" reproduce "$run_id"
# A second gc decides nothing new about the removed snapshot.
expect_exit 0 "$LOCKSTEP" gc --grace 0 --json
expect_eq "$(json "$TEST_DIR/stdout.txt" \
  '[s["snapshot"] for s in d["expiredSnapshots"]]')" "['used@1']" \
  "second gc"
echo "share_expiry_test: ok"
