# lockstep validate: every kind of mistake is reported before anything
# runs, as file:line:column: reason, exit 3, and as JSON with --json;
# unused outputs of intermediate steps are warnings.
source "$(dirname "$0")/lib.sh"

# check FILE_CONTENT EXPECTED_MESSAGE
check() {
  printf '%s\n' "$1" >bad.yaml
  expect_exit 3 "$LOCKSTEP" validate bad.yaml
  expect_contains stderr.txt "$2"
}
check 'pipeline: p
steps:
  a:
    run: [sh]
    needs: [b]
  b:
    run: [sh]
    needs: [a]' "bad.yaml:3:3: steps form a cycle: a -> b -> a"
check 'pipeline: p
steps:
  a:
    run: [sh]
    inputs:
      x: nothere.out' "bad.yaml:6:10: input 'x' reads unknown step 'nothere'"
check 'pipeline: p
steps:
  a:
    run: [echo, "${{ params.missing }}"]' "bad.yaml:4:17: unknown param 'missing'"
# A reference is reported at the run: item or with: value that holds it,
# not at the step (the third run: item here, on the step's fifth line).
check 'pipeline: p
params: {n: 1}
steps:
  a:
    run:
      - echo
      - "${{ params.n }}"
      - "x ${{ params.nope }}"' "bad.yaml:8:9: unknown param 'nope'"
check 'pipeline: p
steps:
  a:
    uses: lockstep/ml-split
    with:
      test_fraction: "${{ params.nope }}"
    inputs: {data: d@1}' "bad.yaml:6:22: unknown param 'nope'"
# run: 42 is no program: refused here, not by the sandbox at run time.
check 'pipeline: p
steps:
  a:
    run: 42' "bad.yaml:4:10: run: the program must be a command name, not the int 42"
check 'pipeline: p
steps:
  a:
    run: [1.5, x]' "bad.yaml:4:11: run: the program must be a command name, not the float 1.5"
check 'pipeline: p
steps:
  a:
    run: [sh]
    outputs: {m: Model}
  b:
    run: [sh]
    inputs:
      m: {from: a.m, type: Dataset}' "bad.yaml:9:10: input 'm' expects Dataset but a.m is Model"
check 'pipeline: p
steps:
  a:
    run: [sh]
    if: params.x ==' "bad.yaml:5:9: bad if: expression"
check 'pipeline: p
steps:
  a:
    run: [sh]
    colour: red' "bad.yaml:5:5: unknown key 'colour' in step 'a'"

# --json gives the location as fields, and nothing is written.
expect_exit 3 "$LOCKSTEP" validate bad.yaml --json
expect_eq "$(json stdout.txt '(d["valid"], d["file"], d["line"], d["column"])')" \
  "(False, 'bad.yaml', 5, 5)" "json error"
[[ ! -e "$LOCKSTEP_STORE" ]] || fail "validate touched the store"

# A valid file with an unread intermediate output: a warning, exit 0.
printf '%s\n' 'pipeline: p
steps:
  a:
    run: [sh]
    outputs: {used: Dataset, lost: Dataset}
  b:
    run: [sh]
    inputs: {x: a.used}
    outputs: {result: Model}' >ok.yaml
expect_exit 0 "$LOCKSTEP" validate ok.yaml
expect_contains stderr.txt "ok.yaml:5:36: output 'lost' of step 'a' is never read by a later step"
expect_exit 0 "$LOCKSTEP" validate ok.yaml --json
expect_eq "$(json stdout.txt '(d["valid"], d["steps"], len(d["warnings"]))')" \
  "(True, ['a', 'b'], 1)" "json valid"

# Found by a tester: a key given twice validated and ran with one of the
# two values. It is an error at the second key, before anything runs;
# so is a repeated key in a --params file.
printf '%s\n' 'pipeline: p
params:
  n: 1
  n: 2
steps:
  a:
    run: [sh, -c, "echo ${{ params.n }} > outputs/o"]
    outputs: {o: Artifact}' >dup.yaml
expect_exit 3 "$LOCKSTEP" validate dup.yaml
expect_contains stderr.txt "dup.yaml:4:3: duplicate key 'n' (first at line 3)"
sed -i '4d' dup.yaml
printf '{"n": 3,\n "n": 4}\n' >params.json
expect_exit 3 "$LOCKSTEP" run dup.yaml --sandbox none --params params.json
expect_contains stderr.txt \
  'params.json:2:2: key "n" appears twice in the same object'
[[ ! -e "$LOCKSTEP_STORE/runs" ]] || \
  [[ -z "$(ls "$LOCKSTEP_STORE/runs")" ]] || fail "a run was recorded"

# Found by a tester: a step reading a finally: step validated, and run
# spun forever at 100% CPU, deaf to Ctrl-C. It is an error at the input.
printf '%s\n' 'pipeline: hang
steps:
  notify:
    finally: true
    run: [sh, -c, "echo done > outputs/note"]
    outputs: {note: Artifact}
  report:
    run: [sh, -c, "cat inputs/note > outputs/r"]
    inputs: {note: notify.note}
    outputs: {r: Artifact}' >hang.yaml
expect_exit 3 timeout 20 "$LOCKSTEP" run hang.yaml --sandbox none
expect_contains stderr.txt "hang.yaml:9:20: step 'report' cannot depend \
on finally: step 'notify', which runs after every other step"

# optional: is a boolean like cache: and always_run: (maybe, 1 and "true"
# were accepted and meant false).
for value in maybe 1 '"true"'; do
  printf 'pipeline: x\nsteps:\n  a:\n    run: [echo]\n    inputs:\n      i: {from: b.o, optional: %s}\n  b:\n    run: [echo]\n    outputs: {o: Artifact}\n' \
    "$value" >optional.yaml
  expect_exit 3 "$LOCKSTEP" validate optional.yaml
  expect_contains stderr.txt "optional.yaml:6:32: optional: must be true \
or false"
done
sed -i 's/optional: "true"/optional: true/' optional.yaml
expect_exit 0 "$LOCKSTEP" validate optional.yaml

# validate refuses what run refuses, in the same words: item.FIELD over
# a literal list of non-maps, and an image given by tag only.
printf 'pipeline: x\nsteps:\n  a:\n    for_each: [1, 2]\n    run: [sh, -c, "echo ${{ item.x }} > outputs/o"]\n    outputs: {o: Artifact}\n' >itemx.yaml
expect_exit 3 "$LOCKSTEP" validate itemx.yaml
expect_contains stderr.txt "itemx.yaml:4:15: the for_each item 1 has no \
field 'x'"
expect_exit 3 "$LOCKSTEP" run itemx.yaml --sandbox none
expect_contains stderr.txt "itemx.yaml:4:15: the for_each item 1 has no \
field 'x'"
printf 'pipeline: x\nenvironment: {image: 127.0.0.1:5000/ml/base:latest}\nsteps:\n  a:\n    run: [sh, -c, "echo > outputs/o"]\n    outputs: {o: Artifact}\n' >tag.yaml
expect_exit 3 "$LOCKSTEP" validate tag.yaml
expect_contains stderr.txt "tag.yaml:2:22: image \
127.0.0.1:5000/ml/base:latest is given by tag only; pin it by digest"
expect_exit 0 "$LOCKSTEP" validate tag.yaml --allow-tags

# Found by a tester: a 240-character step name passed validate, and run
# failed with "File name too long", no line and no manifest. The longest
# names (a for_each: step's 227, an output's 255) run; one more is
# refused at its line by validate and run alike.
step=$(printf 's%.0s' {1..227})
out=$(printf 'o%.0s' {1..255})
printf 'pipeline: x
steps:
  %s:
    for_each: [1, 2]
    run: [sh, -c, "echo ${{ item }} > outputs/%s"]
    outputs: {%s: Artifact}
' \
  "$step" "$out" "$out" >longest.yaml
expect_exit 0 "$LOCKSTEP" run longest.yaml --sandbox none
printf 'pipeline: x
steps:
  %s:
    run: [sh, -c, "echo > outputs/o"]
    outputs: {o: Artifact}
' \
  "${step}s" >long.yaml
expect_exit 3 "$LOCKSTEP" validate long.yaml
expect_contains stderr.txt "long.yaml:3:3: step name 'ssssssssssssssssssss...' \
is 228 characters; at most 227 fit"
expect_exit 3 "$LOCKSTEP" run long.yaml --sandbox none
expect_contains stderr.txt "long.yaml:3:3: step name"
printf 'pipeline: x
steps:
  a:
    run: [sh, -c, "echo > outputs/o"]
    outputs: {%s: Artifact}
' \
  "${out}o" >longout.yaml
expect_exit 3 "$LOCKSTEP" validate longout.yaml
expect_contains stderr.txt "longout.yaml:5:15: output name \
'oooooooooooooooooooo...' is 256 characters; at most 255 fit"
echo ok
