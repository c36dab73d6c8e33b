# A store folder can be copied or moved: its runs keep finding their own
# manifests (recorded relative to the store), never the original's.
source "$(dirname "$0")/lib.sh"

cat >p.yaml <<'YAML'
pipeline: relocate
steps:
  hello:
    run: [sh, -c, "echo hello >outputs/greeting"]
    outputs: {greeting: Artifact}
YAML
"$LOCKSTEP" --store original run p.yaml --json >run.json 2>/dev/null
run_id=$(json run.json 'd["run_id"]')

# A copy reads its own manifest even while the original still exists.
cp -r original copy
"$LOCKSTEP" --store copy runs show "$run_id" --json >show.json
expect_eq "$(json show.json 'd["manifest_path"]')" \
  "$TEST_DIR/copy/runs/$run_id/manifest.json" "copy's manifest path"

# With the original gone, the copy still reproduces; so does a moved one.
rm -rf original
expect_exit 0 "$LOCKSTEP" --store copy reproduce "$run_id"
expect_contains stdout.txt "reproduced: bit-identical"
mv copy moved
expect_exit 0 "$LOCKSTEP" --store moved reproduce "$run_id"
expect_contains stdout.txt "$TEST_DIR/moved/runs/$run_id/manifest.json"
expect_exit 0 "$LOCKSTEP" --store moved diff "$run_id" "$run_id"
