# `lockstep run` reads the pipeline file once and uses those bytes for
# parsing, the manifest and the replay fingerprint, so a pipeline given
# as `<(...)` or a FIFO runs (it used to be read twice: the second read
# found nothing, exit 3). `validate`, `run --explain` and `reproduce` of a
# manifest given the same way work too.
source "$(dirname "$0")/lib.sh"

cat >p.yaml <<'YAML'
pipeline: p
steps:
  a:
    run: [sh, -c, "echo hi > outputs/greeting"]
    outputs:
      greeting: Dataset
YAML
spec_digest="sha256:$(sha256sum p.yaml | cut -d' ' -f1)"

# state_of: the first step's state in the --json output in stdout.txt.
state_of() {
  json "$TEST_DIR/stdout.txt" 'd["steps"][0]["state"]'
}
manifest_digest() {
  json "$(json "$TEST_DIR/stdout.txt" 'd["manifest"]')" \
    'd["pipeline"]["spec_digest"]'
}

# Process substitution: a normal run, then the replay path's try.
expect_exit 0 "$LOCKSTEP" --json run --sandbox none <(cat p.yaml)
expect_eq "$(state_of)" ran "first run from <(...)"
expect_eq "$(manifest_digest)" "$spec_digest" "pipeline digest recorded"
first_manifest=$(json stdout.txt 'd["manifest"]')
expect_exit 0 "$LOCKSTEP" --json run --sandbox none <(cat p.yaml)
expect_eq "$(state_of)" cached "second run from <(...)"
expect_exit 0 "$LOCKSTEP" --json run --sandbox none --explain \
  <(cat p.yaml)
expect_eq "$(state_of)" cached "--explain from <(...)"

# A FIFO, written once by a background writer.
mkfifo pipe.yaml
cat p.yaml >pipe.yaml &
writer=$!
expect_exit 0 "$LOCKSTEP" --json run --sandbox none pipe.yaml
wait "$writer"
expect_eq "$(state_of)" cached "run from a FIFO"
expect_eq "$(manifest_digest)" "$spec_digest" "FIFO pipeline digest"

# An unreadable pipeline file still says so, as before.
expect_exit 2 "$LOCKSTEP" run --sandbox none missing.yaml
expect_contains stderr.txt \
  "missing.yaml: cannot read the pipeline file: "

expect_exit 0 "$LOCKSTEP" validate <(cat p.yaml)
expect_contains stdout.txt ": valid pipeline 'p' with 1 step"

# reproduce: a manifest from a pipe into a store that does not exist yet
# (a pipe is not a regular file, so it was taken for a run id: exit 2).
LOCKSTEP_STORE="$TEST_DIR/fresh" expect_exit 0 "$LOCKSTEP" reproduce \
  <(cat "$first_manifest")
expect_contains stdout.txt "reproduced: bit-identical"
echo "pipeline read once: ok"
