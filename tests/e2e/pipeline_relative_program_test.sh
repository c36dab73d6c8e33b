#!/usr/bin/env bash
# `run: [./scripts/x.sh]` with `code: [scripts/x.sh]` (the documented
# form) names a file in the step folder. Run as `run /abs/p.yaml` from
# another folder it failed with "./scripts/x.sh: No such file" (exit 2),
# and from a folder holding its own scripts/x.sh it keyed that file
# (found by a tester).
source "$(dirname "$0")/lib.sh"

mkdir -p project/scripts elsewhere/scripts
printf '#!/bin/sh\necho hi > outputs/o\n' >project/scripts/x.sh
printf '#!/bin/sh\necho other > outputs/o\n' >elsewhere/scripts/x.sh
chmod +x project/scripts/x.sh elsewhere/scripts/x.sh
cat >project/p.yaml <<'YAML'
pipeline: relprog
steps:
  s:
    run: [./scripts/x.sh]
    code: [scripts/x.sh]
    outputs: {o: Artifact}
YAML
states() { json "$1" '[s["state"] for s in d["steps"]]'; }
(cd / && "$LOCKSTEP" run "$TEST_DIR/project/p.yaml" --json) >first.json ||
  fail "run from / failed"
expect_eq "$(states first.json)" "['ran']" "run from /"
digest=$(json first.json 'd["steps"][0]["outputs"]["o"]')
expect_eq "$(cat "$LOCKSTEP_STORE/blobs/sha256/${digest:7:2}/${digest:7}")" \
  hi "the pipeline's own script ran"
(cd elsewhere && "$LOCKSTEP" run "$TEST_DIR/project/p.yaml" --json) \
  >second.json || fail "run from elsewhere failed"
expect_eq "$(states second.json)" "['cached']" \
  "another folder's scripts/x.sh is not in the key"
echo "pipeline relative program: ok"
