# Bad input gets a one-line error naming the file (and line), a non-zero
# exit, and writes nothing to the store.
source "$(dirname "$0")/lib.sh"

write() { cat >"$1"; }

write cycle.yaml <<'YAML'
pipeline: p
steps:
  a:
    run: [cat, inputs/x]
    inputs: {x: b.out}
    outputs: {out: Artifact}
  b:
    run: [cat, inputs/x]
    inputs: {x: a.out}
    outputs: {out: Artifact}
YAML
expect_exit 3 "$LOCKSTEP" run cycle.yaml
expect_contains stderr.txt "cycle.yaml:3:3: steps form a cycle: a -> b -> a"

write unknown.yaml <<'YAML'
pipeline: p
steps:
  a:
    run: [cat, inputs/x]
    inputs: {x: trian.model}
YAML
expect_exit 3 "$LOCKSTEP" run unknown.yaml
expect_contains stderr.txt \
  "unknown.yaml:5:17: input 'x' reads unknown step 'trian'"

write param.yaml <<'YAML'
pipeline: p
params:
  depth: {type: int}
steps:
  a:
    run: [echo, "${{ params.depth }}"]
YAML
expect_exit 3 "$LOCKSTEP" run param.yaml
expect_contains stderr.txt \
  "param.yaml:3:3: required param 'depth' has no value (pass -p depth=...)"

write malformed.yaml <<'YAML'
pipeline: p
steps:
  a: [unclosed
YAML
expect_exit 3 "$LOCKSTEP" run malformed.yaml
expect_contains stderr.txt "malformed.yaml:4:1: malformed YAML"

write badexpr.yaml <<'YAML'
pipeline: p
steps:
  a:
    run: [echo, hi]
  b:
    if: steps.a.outputs.x ==
    run: [echo, hi]
YAML
expect_exit 3 "$LOCKSTEP" validate badexpr.yaml
expect_contains stderr.txt "badexpr.yaml:6:9: bad if: expression"

# A 504-byte YAML alias bomb ("billion laughs", 10^8 strings expanded)
# is refused at the param that crosses the cap, instead of taking ~2 GB.
python3 -c "
o=['pipeline: b','params:','  x0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]']
o+=[f'  x{i}: &a{i} ['+','.join([f'*a{i-1}']*10)+']' for i in range(1,8)]
o.append('steps:\n  s:\n    run: [echo, \"\${{ params.x7 }}\"]'); open('bomb.yaml','w').write('\n'.join(o)+'\n')"
expect_eq "$(wc -c <bomb.yaml)" 504 "bomb size"
# A memory cap makes an unbounded expansion fail fast instead of eating
# the machine; AddressSanitizer reserves terabytes of address space for
# its shadow memory, so a sanitizer build runs without the cap.
if [[ "$(ldd "$LOCKSTEP")" == *libasan* ]]; then
  expect_exit 3 "$LOCKSTEP" validate bomb.yaml
else
  (ulimit -v 1000000; expect_exit 3 "$LOCKSTEP" validate bomb.yaml)
fi
expect_contains stderr.txt "bomb.yaml:7:7: this value brings the file past 100000 values"
expect_contains stderr.txt "past 100000 values (YAML aliases repeat"

# None of the above created a store.
[[ ! -e "$LOCKSTEP_STORE" ]] || fail "bad input created $LOCKSTEP_STORE"

# Each error is one line.
for f in cycle unknown param malformed; do
  "$LOCKSTEP" run $f.yaml 2>err.txt && fail "$f.yaml succeeded"
  expect_eq "$(wc -l <err.txt)" 1 "$f.yaml error lines"
done

# A manifest whose hash does not match: exit 3, the field named.
write ok.yaml <<'YAML'
pipeline: p
params:
  n: 2
steps:
  a:
    run: [sh, -c, "seq ${{ params.n }} >outputs/o"]
    outputs: {o: Artifact}
YAML
"$LOCKSTEP" run ok.yaml --json >run.json 2>/dev/null
manifest=$(json run.json 'd["manifest"]')
sed 's/"value":2/"value":3/' "$manifest" >tampered.json
cmp -s "$manifest" tampered.json && fail "tampering did not change the file"
expect_exit 3 "$LOCKSTEP" reproduce tampered.json
expect_contains stderr.txt "tampered.json: manifest hash does not match"
expect_contains stderr.txt "changed field(s): params"
# A digest without "sha256:" never matched: the data was reported
# invalid whatever it held (a tester's finding). Refused now.
printf 'a,b\n1,2\n' >tiny.csv
expect_exit 3 "$LOCKSTEP" ml validate --data tiny.csv --valid v.txt \
  --expected-digest "$(sha256sum tiny.csv | cut -d' ' -f1)"
expect_contains stderr.txt "--expected-digest: '"
expect_contains stderr.txt "' is not a digest (sha256: and 64 hex digits)"
[[ ! -e v.txt ]] || fail "a refused validation wrote its verdict"
expect_exit 0 "$LOCKSTEP" ml validate --data tiny.csv --valid v.txt \
  --expected-digest "sha256:$(sha256sum tiny.csv | cut -d' ' -f1)"
expect_eq "$(cat v.txt)" true "verdict with a well-formed digest"
echo "bad input: ok"
