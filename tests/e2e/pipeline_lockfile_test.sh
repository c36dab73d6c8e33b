#!/usr/bin/env bash
# `environment: {lockfile: ...}` in a pipeline: the lock is verified before
# any step runs; drift with on_drift: fail fails the run naming the
# package and no step starts; on_drift: warn runs with the warning in the
# manifest; the verification is recorded in the manifest, and the
# lockfile's digest is in the cache key of the steps that use it.
# Expected hashes come from sha256sum.
source "$(dirname "$0")/lib.sh"
source "$LOCKSTEP_SOURCE_DIR/tests/e2e/image_lib.sh"

mkdir wheels
printf 'demo wheel\n' >wheels/demo_pkg-1.0-py3-none-any.whl
good=$(sha256sum wheels/demo_pkg-1.0-py3-none-any.whl | cut -d' ' -f1)
bad=$(printf 'something else\n' | sha256sum | cut -d' ' -f1)

write_lock() {
  printf 'demo-pkg==1.0 \\\n    --hash=sha256:%s\n%s' "$1" "${2:-}" \
    >requirements.lock
}
write_pipeline() {
  cat >pipeline.yaml <<YAML
pipeline: locked
environment:
  lockfile: requirements.lock
  files: wheels
  on_drift: $1
steps:
  train:
    run: [sh, -c, 'echo trained > outputs/model; touch /tmp/ran']
    outputs:
      model: Model
YAML
}

# Drift, on_drift: fail: exit 1 before any step, naming the package.
write_lock "$bad"
write_pipeline fail
expect_exit 1 "$LOCKSTEP" run pipeline.yaml --json
expect_contains stderr.txt "pipeline.yaml:3:13: lockfile requirements.lock does not match"
expect_contains stderr.txt "demo-pkg"
expect_contains stderr.txt "no step ran"
expect_eq "$(json stdout.txt 'd["status"]')" failed "status"
expect_eq "$(json stdout.txt 'len(d["steps"])')" 0 "steps started"
manifest=$(json stdout.txt 'd["manifest"]')
expect_eq "$(json "$manifest" 'd["environment"]["lockfiles"][0]["ok"]')" \
  False "manifest lockfile ok"
expect_eq "$(json "$manifest" 'd["environment"]["lockfiles"][0]["on_drift"]')" \
  fail "manifest on_drift"
expect_schema "$manifest"
expect_eq "$(json "$manifest" 'd["environment"]["lockfiles"][0]["lockfile_digest"]')" \
  "sha256:$(sha256sum <requirements.lock | cut -d' ' -f1)" "lockfile digest"

# Drift, on_drift: warn: the step runs, the warning is in the manifest.
write_pipeline warn
expect_exit 0 "$LOCKSTEP" run pipeline.yaml --json
expect_eq "$(json stdout.txt 'd["steps"][0]["state"]')" ran "warn run"
manifest=$(json stdout.txt 'd["manifest"]')
expect_eq "$(json "$manifest" \
  '[w for w in d["warnings"] if "demo-pkg" in w and "on_drift: warn" in w] != []')" \
  True "warning in the manifest"

# Verified: runs; the same lock again hits the cache; a changed lockfile
# (one more comment line) changes the key, so the step runs again.
write_lock "$good"
write_pipeline fail
expect_exit 0 "$LOCKSTEP" run pipeline.yaml --json
expect_eq "$(json stdout.txt 'd["steps"][0]["state"]')" ran "verified run"
expect_exit 0 "$LOCKSTEP" run pipeline.yaml --json
expect_eq "$(json stdout.txt 'd["steps"][0]["state"]')" cached "same lock"
write_lock "$good" '# via -r requirements.in
'
expect_exit 0 "$LOCKSTEP" run pipeline.yaml --json --explain
expect_eq "$(json stdout.txt 'd["steps"][0]["state"]')" ran "changed lock"
expect_eq "$(json stdout.txt \
  '[e for e in d["steps"][0]["explain"] if e.startswith("lockfile ")] != []')" \
  True "the explanation names the lockfile"

# Found by a tester: with on_drift: warn, a step run against drifted
# packages was cached under the lockfile's digest alone, and a later run
# in the restored, clean environment was served the drifted output. The
# drift is in the key: clean and drifted runs never share outputs, while
# the same drift again may.
write_lock "$good"
cat >drift.yaml <<YAML
pipeline: drift
environment:
  lockfile: requirements.lock
  files: wheels
  on_drift: warn
steps:
  use:
    run: [sh, -c, 'cat "$PWD/wheels/demo_pkg-1.0-py3-none-any.whl" > outputs/v']
    outputs:
      v: Artifact
YAML
wheel=wheels/demo_pkg-1.0-py3-none-any.whl
output_of() { json stdout.txt 'd["steps"][0]["outputs"]["v"]'; }
printf 'tampered\n' >"$wheel"
expect_exit 0 "$LOCKSTEP" run drift.yaml --sandbox none --json
expect_eq "$(json stdout.txt 'd["steps"][0]["state"]')" ran "drifted run"
expect_eq "$(output_of)" "sha256:$(sha256sum <"$wheel" | cut -d' ' -f1)" \
  "drifted output"
printf 'demo wheel\n' >"$wheel"
expect_exit 0 "$LOCKSTEP" run drift.yaml --sandbox none --json
expect_eq "$(json stdout.txt 'd["steps"][0]["state"]')" ran "clean run"
expect_eq "$(output_of)" "sha256:$good" "clean output"
printf 'tampered\n' >"$wheel"
expect_exit 0 "$LOCKSTEP" run drift.yaml --sandbox none --json
expect_eq "$(json stdout.txt 'd["steps"][0]["state"]')" cached "same drift"
printf 'demo wheel\n' >"$wheel"

# Found by a tester: validate passed a lockfile that does not exist, which
# run then refused. Both refuse it now, at its line, in the same words.
cat >nolock.yaml <<'YAML'
pipeline: nolock
environment:
  lockfile: nope.lock
steps:
  a:
    run: [sh, -c, "echo > outputs/o"]
    outputs: {o: Artifact}
YAML
expect_exit 3 "$LOCKSTEP" validate nolock.yaml
expect_contains stderr.txt "nolock.yaml:3:13: "
cp stderr.txt validate.err
expect_exit 3 "$LOCKSTEP" run nolock.yaml
expect_eq "$(cat stderr.txt)" "$(cat validate.err)" "same words"
echo ok
