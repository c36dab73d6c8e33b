# The cache is never wrong: every single key part that changes misses,
# reorderings of maps and env lists hit, a deleted or corrupted cached
# output runs again, a new consumer leaves its producer cached, and
# `cache: false` on the pipeline reuses nothing.
source "$(dirname "$0")/lib.sh"

# write_pipeline N_VALUE ENV_LIST MAP_VALUE EXTRA_STEP PIPELINE_CACHE
write_pipeline() {
  cat >p.yaml <<YAML
pipeline: cachetest
cache: $5
params:
  n: $1
  m: $3
steps:
  produce:
    run: [sh, -c, 'sh ./gen.sh \${{ params.n }} > outputs/out']
    code: [gen.sh]
    env: $2
    outputs:
      out: Dataset
  consume:
    run: [sh, -c, 'cat inputs/data inputs/data > outputs/twice; echo \${{ params.m }} >/dev/null']
    inputs:
      data: produce.out
    outputs:
      twice: Dataset
$4
YAML
}
states() {
  "$LOCKSTEP" run p.yaml --sandbox none --explain --json "$@" >run.json \
    2>run.err || { cat run.err >&2; fail "run $* failed"; }
  # In pipeline file order, whatever order parallel steps finished in.
  json run.json '" ".join(s["name"] + "=" + s["state"] for s in sorted(d["steps"], key=lambda s: ["produce", "consume", "audit"].index(s["name"])))'
}
explain_of() {
  json run.json "'; '.join([s for s in d['steps'] if s['name']=='$1'][0].get('explain', []))"
}

printf 'echo "value $1"\n' >gen.sh
export VAR_A=alpha VAR_B=beta
write_pipeline 2 '[VAR_A, VAR_B]' '{x: 1, y: 2}' "" true
expect_eq "$(states)" "produce=ran consume=ran" "first run"
out1=$(json run.json 'd["steps"][0]["outputs"]["out"]')
expect_eq "$(states)" "produce=cached consume=cached" "second run"
expect_contains run.json "cache hit"

# The cached execution is linked to the original output artifact and
# names the run that really produced it (read with the sqlite3 tool).
if command -v sqlite3 >/dev/null; then
  db="$LOCKSTEP_STORE/metadata.db"
  first_run=$(sqlite3 "$db" "select json_extract(properties, '$.run_id') from executions where name='produce' order by id limit 1")
  expect_eq "$(sqlite3 "$db" "select state || ' ' || json_extract(properties, '$.produced_by_run') from executions where name='produce' order by id desc limit 1")" \
    "cached $first_run" "cached execution record"
  expect_eq "$(sqlite3 "$db" "select count(distinct artifact_id) from events e join executions x on x.id = e.execution_id where x.name='produce' and e.type='output'")" \
    1 "one output artifact shared by the original and the cached execution"
fi

# A reordered env list and map param give the same key.
write_pipeline 2 '[VAR_B, VAR_A]' '{y: 2, x: 1}' "" true
expect_eq "$(states)" "produce=cached consume=cached" "reordered env and map"

# A param's type is part of the key: "2" (string) is not 2 (int), even
# though the argv is the same.
write_pipeline '"2"' '[VAR_A, VAR_B]' '{x: 1, y: 2}' "" true
expect_eq "$(states)" "produce=ran consume=cached" "string param"
expect_contains run.json 'param n 2 -> 2'
write_pipeline 2 '[VAR_A, VAR_B]' '{x: 1, y: 2}' "" true

# A param value changed on the command line misses and is explained.
expect_eq "$(states -p n=3)" "produce=ran consume=ran" "param override"
expect_eq "$(explain_of produce)" "param n 2 -> 3" "explain param"

# A declared env variable's value is a key part; an undeclared one is not.
expect_eq "$(VAR_A=other states)" "produce=ran consume=cached" "env value"
expect_contains run.json "env VAR_A alpha -> other"
expect_eq "$(UNDECLARED=x states)" "produce=cached consume=cached" \
  "undeclared env"

# An edited code file misses; so does making it executable.
printf 'echo "value $1"\n# edited\n' >gen.sh
expect_eq "$(states)" "produce=ran consume=cached" "edited code file"
expect_contains run.json "code gen.sh"
chmod u+x gen.sh
expect_eq "$(states)" "produce=ran consume=cached" "code file u+x"
chmod u-x gen.sh
printf 'echo "value $1"\n' >gen.sh
expect_eq "$(states)" "produce=cached consume=cached" "code file restored"

# A param only the consumer reads does not touch the producer's key.
write_pipeline 2 '[VAR_A, VAR_B]' '{x: 1, y: 3}' "" true
expect_eq "$(states)" "produce=cached consume=ran" "consumer-only param"

# A new downstream consumer leaves the producer (and old consumer) cached.
extra='  audit:
    run: [sh, -c, "wc -c < inputs/data > outputs/size"]
    inputs:
      data: produce.out
    outputs:
      size: Metrics'
write_pipeline 2 '[VAR_A, VAR_B]' '{x: 1, y: 3}' "$extra" true
expect_eq "$(states)" "produce=cached consume=cached audit=ran" \
  "new consumer"

# A deleted cached output is never reported as a success: it runs again.
blob="$LOCKSTEP_STORE/blobs/sha256/${out1:7:2}/${out1:7}"
[[ -f "$blob" ]] || fail "blob $blob missing"
chmod u+w "$blob" 2>/dev/null || true
rm -f "$blob"
expect_eq "$(states)" "produce=ran consume=cached audit=cached" \
  "deleted output"
expect_contains run.err "cannot be reused"
[[ -f "$blob" ]] || fail "the re-run did not restore the blob"
expect_eq "$(states)" "produce=cached consume=cached audit=cached" \
  "after restore"

# A corrupted cached output runs again and the good bytes come back.
chmod u+w "$blob" 2>/dev/null || true
echo corrupted >"$blob"
expect_eq "$(states)" "produce=ran consume=cached audit=cached" \
  "corrupted output"
expect_eq "$(sha256sum "$blob" | cut -d' ' -f1)" "${out1:7}" "restored bytes"

# cache: false on the pipeline reuses nothing.
write_pipeline 2 '[VAR_A, VAR_B]' '{x: 1, y: 3}' "$extra" false
expect_eq "$(states)" "produce=ran consume=ran audit=ran" "pipeline cache off"
expect_eq "$(states)" "produce=ran consume=ran audit=ran" \
  "pipeline cache off again"
echo ok
