# Exit codes match docs/exit-codes.md where they used to disagree.
source "$(dirname "$0")/lib.sh"

# 4: a corrupt input blob, for reproduce as for run (was 6).
echo v1 >d.txt
expect_exit 0 "$LOCKSTEP" data snapshot d.txt --name ds
printf 'pipeline: sn\nsteps:\n  a:\n    run: [sh, -c, "cat inputs/d > outputs/o"]\n    inputs: {d: ds@1}\n    outputs: {o: Artifact}\n' >sn.yaml
expect_exit 0 "$LOCKSTEP" --json run sn.yaml --sandbox none
run=$(json stdout.txt 'd["run_id"]')
blob=$(find "$LOCKSTEP_STORE/blobs" -name "$(sha256sum d.txt | cut -c1-64)")
chmod u+w "$blob"
echo bad >"$blob"
expect_exit 4 "$LOCKSTEP" reproduce "$run"
expect_contains stderr.txt "is corrupt"
expect_exit 4 "$LOCKSTEP" run sn.yaml --no-cache --sandbox none

# 3: --resume of a run that succeeded, or of another pipeline (was 5).
printf 'pipeline: ok\nsteps:\n  a:\n    run: [sh, -c, "echo > outputs/o"]\n    outputs: {o: Artifact}\n' >ok.yaml
expect_exit 0 "$LOCKSTEP" --json run ok.yaml --sandbox none
ok_run=$(json stdout.txt 'd["run_id"]')
expect_exit 3 "$LOCKSTEP" run ok.yaml --resume "$ok_run" --sandbox none
expect_contains stderr.txt "--resume: run $ok_run succeeded; only a failed \
or cancelled run can be resumed"
expect_exit 3 "$LOCKSTEP" run sn.yaml --resume "$ok_run" --sandbox none
expect_contains stderr.txt "is of pipeline 'ok', not 'sn'"

# 3 and the file's name: a --key that is not a public key (was 1).
manifest="$LOCKSTEP_STORE/runs/$ok_run/manifest.json"
expect_exit 0 "$LOCKSTEP" keygen -o k
expect_exit 0 "$LOCKSTEP" manifest sign "$manifest" --key k.key
echo garbage >bad.pub
expect_exit 3 "$LOCKSTEP" manifest verify "$manifest" --key bad.pub
expect_contains stderr.txt "bad.pub: not a PEM public key"
expect_exit 0 "$LOCKSTEP" manifest verify "$manifest" --key k.pub

# 2: a snapshot input that does not exist, however it is named (was 3).
for ref in ds@99 nosuch@1 nosuch@latest; do
  printf 'pipeline: in\nsteps:\n  a:\n    run: [sh, -c, "cat inputs/d > outputs/o"]\n    inputs: {d: %s}\n    outputs: {o: Artifact}\n' \
    "$ref" >in.yaml
  expect_exit 2 "$LOCKSTEP" run in.yaml --sandbox none
  expect_contains stderr.txt "in.yaml:5:17: "
done

# 64: a malformed flag value, whichever flag (found by a tester: --since
# exited 3 where --status exited 64). A bad --label stays 3, as the docs
# say.
expect_exit 64 "$LOCKSTEP" runs list --status bogus
for since in -1d 1y 1000001d; do
  expect_exit 64 "$LOCKSTEP" runs list --since "$since"
  expect_contains stderr.txt "lockstep: error: --since: "
done
expect_exit 64 "$LOCKSTEP" run ok.yaml --sandbox bogus
expect_contains stderr.txt "--sandbox: must be bubblewrap or none, not \
'bogus'"
expect_exit 64 "$LOCKSTEP" data snapshot d.txt --name ds --expires 0s
expect_contains stderr.txt "--expires: '0s' must be longer than 0"
expect_exit 64 "$LOCKSTEP" data snapshot d.txt --name ds --version x
expect_exit 64 "$LOCKSTEP" gc --dry-run --grace -1h
expect_exit 64 "$LOCKSTEP" push --insecure --subject bogus d.txt \
  127.0.0.1:1/r/x:t
expect_contains stderr.txt "--subject: digest 'bogus' does not start with"
expect_exit 3 "$LOCKSTEP" runs list --label =a

# An unknown --metadata scheme was a SQLite file name ("bogus:" folder).
expect_exit 64 "$LOCKSTEP" --metadata bogus://h/db runs list
expect_contains stderr.txt "--metadata: 'bogus://' is not a metadata \
database this build opens"
LOCKSTEP_METADATA=mysql://h/db expect_exit 3 "$LOCKSTEP" runs list
expect_contains stderr.txt "'mysql://' is not a metadata database"
[[ ! -e bogus: && ! -e mysql: ]] || fail "a folder was made for the URL"
echo ok
