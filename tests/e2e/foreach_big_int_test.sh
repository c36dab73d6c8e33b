# for_each items that are integers beyond 2^53 are refused, as params
# are: both 12345678901234567890 and ...891 became 12345678901234567000.
source "$(dirname "$0")/lib.sh"

cat >out.yaml <<'YAML'
pipeline: ids
steps:
  plan:
    run: [sh, -c, 'echo "[{\"id\": 12345678901234567890}, {\"id\": 12345678901234567891}]" > outputs/list']
    outputs: {list: Artifact}
  each:
    for_each: ${{ steps.plan.outputs.list }}
    run: [sh, -c, 'printf "%s\n" "$0" > outputs/v', '${{ item }}']
    outputs: {v: Artifact}
YAML
expect_exit 1 "$LOCKSTEP" --json run out.yaml --sandbox none
expect_eq "$(json stdout.txt '[s["state"] for s in d["steps"]]')" \
  "['ran', 'failed']" "states"
expect_eq "$(json stdout.txt 'd["steps"][1]["message"]')" \
  "out.yaml:7:15: for_each: the integer 12345678901234567890 is outside \
+-9007199254740991 (2^53 - 1), the integers a manifest's RFC 8785 numbers \
record exactly; write it as a string" "output items"

printf 'pipeline: x\nsteps:\n  a:\n    for_each: [{id: 12345678901234567890}, 9007199254740991]\n    run: [sh, -c, "echo ${{ item }} > outputs/o"]\n    outputs: {o: Artifact}\n' >lit.yaml
expect_exit 3 "$LOCKSTEP" validate lit.yaml
expect_contains stderr.txt "lit.yaml:4:21: for_each: the integer \
12345678901234567890 is outside +-9007199254740991 (2^53 - 1)"
# The largest exact integer and a quoted big one are fine.
printf 'pipeline: x\nsteps:\n  a:\n    for_each: ["12345678901234567890", 9007199254740991]\n    run: [sh, -c, "echo ${{ item }} > outputs/o"]\n    outputs: {o: Artifact}\n' >ok.yaml
expect_exit 0 "$LOCKSTEP" run ok.yaml --sandbox none
echo ok
