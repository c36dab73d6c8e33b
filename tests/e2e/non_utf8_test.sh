# Bytes that are not UTF-8 are refused where they enter, with exit 3 and
# a message naming them, before any step runs; they never abort Lockstep
# (nlohmann::json cannot write them into a manifest or a cache key).
source "$(dirname "$0")/lib.sh"

printf 'pipeline: u\nparams:\n  s: x\nsteps:\n  a:\n    env: [FOO]\n    run: [sh, -c, "echo $FOO ${{ params.s }} > outputs/o"]\n    outputs: {o: Artifact}\n' >p.yaml
FOO=$'\xff' expect_exit 3 "$LOCKSTEP" run p.yaml
expect_contains stderr.txt "p.yaml:6:11: env: the host value of FOO holds \
a byte that is not UTF-8 (0xff at byte 0 of '\xff')"
expect_exit 3 "$LOCKSTEP" run p.yaml -p s=$'\xe9'
expect_contains stderr.txt "-p s holds a byte that is not UTF-8 (0xe9 at byte 0"
# Neither started a run.
expect_eq "$("$LOCKSTEP" --json runs list | json /dev/stdin 'len(d["runs"])')" \
  0 "runs recorded"

printf 'pipeline: r\nsteps:\n  a:\n    run: [echo, "\xff"]\n' >run.yaml
expect_exit 3 "$LOCKSTEP" validate run.yaml
expect_contains stderr.txt "run.yaml:4:18: byte \xff is not UTF-8"

mkdir lib
echo x >$'lib/\xff.sh'
printf 'pipeline: c\nsteps:\n  a:\n    code: [lib]\n    run: [sh, -c, "ls lib > outputs/o"]\n    outputs: {o: Artifact}\n' >code.yaml
expect_exit 3 "$LOCKSTEP" run code.yaml
expect_contains stderr.txt \
  "code.yaml:4:12: code path lib/\xff.sh: the name is not UTF-8"

cat >items.yaml <<'YAML'
pipeline: fe
steps:
  a:
    run: [sh, -c, 'printf "[\"\377\"]" > outputs/l']
    outputs: {l: Artifact}
  c:
    for_each: ${{ steps.a.outputs.l }}
    run: [sh, -c, 'echo > outputs/o']
    outputs: {o: Artifact}
YAML
expect_exit 1 "$LOCKSTEP" --json run items.yaml
expect_eq "$(json stdout.txt \
  '[s["message"] for s in d["steps"] if s["name"] == "c"][0][:71]')" \
  "items.yaml:7:15: for_each: the item list holds a byte that is not UTF-8" \
  "for_each message"

printf 'caf\xe9==1.0 --hash=sha256:%064d\n' 0 >r.lock
expect_exit 3 "$LOCKSTEP" --json lock verify r.lock
expect_eq "$(json stdout.txt 'd["errors"][0][:65]')" \
  "r.lock:1: the line holds a byte that is not UTF-8 (0xe9 at byte 3" \
  "lock verify error"

printf 'name,caf\xe9\n1,2\n' >latin1.csv
expect_exit 3 "$LOCKSTEP" data snapshot latin1.csv --name l1
expect_contains stderr.txt "latin1.csv:1: CSV column name holds a byte \
that is not UTF-8 (0xe9 at byte 3 of 'caf\xe9')"
echo a >$'\xff.txt'
expect_exit 3 "$LOCKSTEP" data snapshot $'\xff.txt' --name ff
expect_contains stderr.txt "the snapshot path holds a byte that is not UTF-8"
expect_exit 3 "$LOCKSTEP" data snapshot p.yaml --name dd \
  --description $'\xe9t\xe9'
expect_contains stderr.txt "--description holds a byte that is not UTF-8"
expect_exit 3 "$LOCKSTEP" data snapshot p.yaml --name dd --label $'k=\xe9'
expect_contains stderr.txt "--label k holds a byte that is not UTF-8"
expect_exit 3 "$LOCKSTEP" run code.yaml --label $'k=\xe9'
expect_exit 2 "$LOCKSTEP" data show dd

# Inside a folder, names are hashed as their exact bytes (docs/data.md).
mkdir fold
echo a >$'fold/\xfe'
expect_exit 0 "$LOCKSTEP" data snapshot fold --name fo
# --json output echoes such a name as U+FFFD instead of aborting.
expect_exit 2 "$LOCKSTEP" --json validate $'\xff.yaml'
expect_eq "$(json stdout.txt 'd["valid"]')" "False" "validate --json"
expect_contains stdout.txt $'\xef\xbf\xbd.yaml'
echo "PASS"
