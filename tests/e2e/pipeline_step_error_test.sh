# A step Lockstep itself cannot run (an I/O error storing what it wrote)
# fails like any step: the run goes on to its finally: steps, writes its
# manifest and records the reason under lockstep.failure; the command
# exits with the error's code (6). Found by a tester: such a run ended
# at once, failed, with no manifest and no reason.
source "$(dirname "$0")/lib.sh"

# Step a writes a folder whose deepest file lies more than PATH_MAX
# (4096) bytes below the step folder, by relative steps. Storing it
# cannot stat that file: "File name too long", from a name no
# validation can see.
cat >p.yaml <<'EOF'
pipeline: deep
steps:
  a:
    run: [python3, -c, "import os; [(os.mkdir(n), os.chdir(n)) for n in ['outputs/d'] + ['%0200d' % i for i in range(25)]]; open('f', 'w').write('x')"]
    outputs:
      d: Artifact
  b:
    run: [sh, -c, 'echo never > outputs/o']
    inputs:
      d: a.d
    outputs:
      o: Artifact
  z:
    finally: true
    run: [sh, -c, 'echo ${{ run.status }} > outputs/o']
    outputs:
      o: Artifact
EOF

reason="step a: lockstep could not run the step: cannot stat $LOCKSTEP_STORE/work/"
expect_exit 6 "$LOCKSTEP" run --sandbox none p.yaml
expect_contains stderr.txt "lockstep: error: $reason"
expect_contains stderr.txt ": File name too long"
expect_contains stdout.txt "  a: failed"
expect_contains stdout.txt "  b: skipped (upstream step a failed)"
# The finally: step ran, as after any failed step.
expect_contains stdout.txt "  z: ran"
manifest=$(awk '/^manifest:/ {print $2}' stdout.txt)
[[ -f "$manifest" ]] || fail "no manifest: $(cat stdout.txt)"
expect_exit 0 "$LOCKSTEP" manifest verify "$manifest"
expect_eq "$(json "$manifest" 'd["status"]')" failed "manifest status"
expect_eq "$(json "$manifest" '[s["state"] for s in d["steps"]]')" \
  "['failed', 'skipped', 'ran']" "step states in the manifest"
expect_eq "$(json "$manifest" 'd["steps"][0]["message"].endswith(": File name too long")')" \
  True "a's message in the manifest"

# The run's record: failed, its manifest, and the reason.
run_id=$(json "$manifest" 'd["run_id"]')
"$LOCKSTEP" runs list --json >runs.json
expect_eq "$(json runs.json '[r["status"] for r in d["runs"] if r["run_id"] == "'"$run_id"'"][0]')" \
  failed "recorded status"
expect_eq "$(json runs.json '[r["manifest_path"] for r in d["runs"] if r["run_id"] == "'"$run_id"'"][0]')" \
  "$manifest" "recorded manifest"
expect_eq "$(json runs.json '[r["labels"]["lockstep.failure"] for r in d["runs"] if r["run_id"] == "'"$run_id"'"][0].startswith("'"$reason"'")')" \
  True "recorded reason"
"$LOCKSTEP" runs show "$run_id" >show.txt
expect_contains show.txt "  reason: $reason"
[[ ! -e "$LOCKSTEP_STORE/work/$run_id" ]] || fail "step folders kept"

# --json carries the reason too, with the same exit code.
expect_exit 6 "$LOCKSTEP" --json run --sandbox none p.yaml
expect_eq "$(json stdout.txt 'd["status"]')" failed "--json status"
expect_eq "$(json stdout.txt 'd["error"].startswith("step a: lockstep could not run the step: cannot stat ")')" \
  True "--json error"

# A run that fails by a step's own doing has no such reason, and exits 1.
sed -i 's/^    run: \[python3.*/    run: [sh, -c, "exit 3"]/' p.yaml
expect_exit 1 "$LOCKSTEP" run --sandbox none p.yaml
manifest=$(awk '/^manifest:/ {print $2}' stdout.txt)
run_id=$(json "$manifest" 'd["run_id"]')
"$LOCKSTEP" runs list --json >runs.json
expect_eq "$(json runs.json '[r["labels"] for r in d["runs"] if r["run_id"] == "'"$run_id"'"][0]')" \
  "{}" "no reason for a step's own failure"
