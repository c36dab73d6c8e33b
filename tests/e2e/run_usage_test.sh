# Command-line mistakes of `lockstep run` are usage errors (exit 64) that
# name the mistake; a malformed --params file is reported at its line and
# column, and a param value that is not of its type names the param
# (exit 3). None of them creates a store.
source "$(dirname "$0")/lib.sh"

cat >p.yaml <<'YAML'
pipeline: p
params:
  epochs: 1
  version: {type: string, default: "1.10"}
  opts: {a: 1}
steps:
  a:
    run: [echo, "${{ params.epochs }}"]
YAML

# -p without '=' (docs/exit-codes.md: bad command-line usage is 64).
expect_exit 64 "$LOCKSTEP" run p.yaml -p epochs
expect_contains stderr.txt "expected -p name=value, got 'epochs'"
expect_exit 64 "$LOCKSTEP" run p.yaml -p =3
expect_contains stderr.txt "expected -p name=value, got '=3'"

# An unknown flag is named, with or without the pipeline argument.
expect_exit 64 "$LOCKSTEP" run --bogus
expect_contains stderr.txt "The following argument was not expected: --bogus"
if grep -q "required" stderr.txt; then fail "blamed a missing argument"; fi
expect_exit 64 "$LOCKSTEP" run p.yaml --bogus
expect_contains stderr.txt "The following argument was not expected: --bogus"
# Found by a tester: usage errors were two lines without the prefix every
# other error has (docs/exit-codes.md).
expect_eq "$(cat stderr.txt)" \
  "lockstep: error: The following argument was not expected: --bogus (see lockstep --help, or lockstep COMMAND --help)" \
  "one-line usage error"
expect_exit 64 "$LOCKSTEP" data snapshot
expect_eq "$(wc -l <stderr.txt)" 1 "lines of a missing-argument error"
expect_contains stderr.txt "lockstep: error: source is required"
expect_exit 0 "$LOCKSTEP" --help
expect_contains stdout.txt "Usage:"

# Malformed JSON in --params: FILE:LINE:COL from the JSON parser.
printf '{\n  "epochs": 2,\n  "x": tru\n}\n' >params.json
expect_exit 3 "$LOCKSTEP" run p.yaml --params params.json
expect_contains stderr.txt "params.json:3:11: malformed JSON: "
# Well-formed but not an object: still named.
echo '[1]' >list.json
expect_exit 3 "$LOCKSTEP" run p.yaml --params list.json
expect_contains stderr.txt \
  "list.json: a params file is a JSON object of param names to values"
# Found by a tester: a param's wrong value named only the file.
printf '{\n  "epochs": 2,\n  "nope": 1\n}\n' >unknown.json
expect_exit 3 "$LOCKSTEP" run p.yaml --params unknown.json
expect_contains stderr.txt "unknown.json:3:3: unknown param 'nope'"
# Found by a tester: a params file nested 50,000 deep crashed the run
# (SIGSEGV) after it was recorded; it is refused before anything runs.
python3 -c "n=50000; open('deep.json','w').write('{\"p\": '+'['*n+']'*n+'}')"
expect_exit 3 "$LOCKSTEP" run p.yaml --params deep.json
expect_contains stderr.txt \
  "deep.json:1:262: malformed JSON: nested deeper than 256 levels"

# Found by a tester: a JSON number given to a string param ran as other
# text (1.10 as "1.1"). A value of another type is refused at its key.
printf '{\n  "version": 1.10\n}\n' >number.json
expect_exit 3 "$LOCKSTEP" run p.yaml --params number.json
expect_contains stderr.txt "number.json:2:3: param 'version' is string, but \
the value is a float (write it in quotes to pass text)"
# Found by a tester: null satisfied a string param and ran as "".
printf '{"version": null}' >null.json
expect_exit 3 "$LOCKSTEP" run p.yaml --params null.json
expect_contains stderr.txt "null.json:1:2: param 'version' is string, but \
the value is null; no param takes null"
# Found by a tester: a key repeated in a -p map kept the last value.
expect_exit 3 "$LOCKSTEP" run p.yaml -p 'opts={"a": 1, "a": 2}'
expect_contains stderr.txt "-p opts: key \"a\" appears twice in the same \
object (line 1, column 10 of the value)"
# Found by a tester: past int64 a --params integer was read as a float,
# so it ran rounded (or an int param called it a float). Refused as -p
# refuses it.
printf '{"epochs": 123456789012345678901234567890}' >big.json
expect_exit 3 "$LOCKSTEP" run p.yaml --params big.json
expect_contains stderr.txt "big.json:1:2: param 'epochs': the integer \
123456789012345678901234567890 is outside +-9007199254740991 (2^53 - 1)"
# Found by a tester: a -p merge key was taken as the key "<<". Refused
# as the pipeline file refuses it.
expect_exit 3 "$LOCKSTEP" run p.yaml -p 'opts={<<: {a: 1}}'
expect_contains stderr.txt "-p opts: YAML merge keys (<<) are not supported \
(line 1, column 2 of the value); write the keys out"

[[ ! -e "$LOCKSTEP_STORE" ]] || fail "a usage error created $LOCKSTEP_STORE"
echo "run usage errors: ok"
