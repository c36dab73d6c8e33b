# The heavy C libraries are opened only by the commands that use them
# (src/core/dynamic_library.h): with all of them hidden, start-up and a
# store listing still work, and a command that needs one exits 5 with a
# message naming the library and the Debian package to install.
source "$(dirname "$0")/lib.sh"
"$LOCKSTEP" --version >/dev/null
if ! bwrap --dev-bind / / --ro-bind /dev/null "$TEST_DIR/x" -- /usr/bin/true \
    2>/dev/null; then
  echo "SKIP: bubblewrap cannot bind-mount here"
  exit 0
fi

# without "SONAME..." command...: runs the command with each library file
# replaced by an empty one, as on a machine lacking the package.
without() {
  local masks=() soname path
  for soname in $1; do
    path=$(ldconfig -p | awk -v s="$soname" '$1 == s { print $NF; exit }')
    [[ -n "$path" ]] || fail "$soname is not installed"
    masks+=(--ro-bind /dev/null "$(readlink -f "$path")")
  done
  shift
  bwrap --dev-bind / / "${masks[@]}" -- "$@"
}

all="libgit2.so.1.5 libcurl.so.4 libpq.so.5 libxgboost.so.0 libgvc.so.6
     libcgraph.so.6 libarchive.so.13"
expect_exit 0 without "$all" "$LOCKSTEP" --version
expect_contains stdout.txt "0.1.0"
printf 'a,b,label\n1,2,0\n2,3,1\n3,1,0\n4,4,1\n' >train.csv
expect_exit 0 without "$all" "$LOCKSTEP" data snapshot --name train train.csv
expect_exit 0 without "$all" "$LOCKSTEP" --json runs list
expect_eq "$(json stdout.txt 'len(d["runs"])')" "0" "runs in a new store"

expect_exit 5 without libxgboost.so.0 \
  "$LOCKSTEP" ml train --train train.csv --label label --model model.json
expect_contains stderr.txt "cannot load libxgboost.so.0"
expect_contains stderr.txt "install the Debian package libxgboost0"
[[ ! -e model.json ]] || fail "a model was written without XGBoost"

# Nothing listens on port 1: without libcurl no request is even made.
expect_exit 5 without libcurl.so.4 \
  "$LOCKSTEP" push train.csv 127.0.0.1:1/missing/library:test
expect_contains stderr.txt "install the Debian package libcurl4"

expect_exit 5 without libpq.so.5 \
  "$LOCKSTEP" --metadata postgresql://127.0.0.1:1/none runs list
expect_contains stderr.txt "install the Debian package libpq5"

# A run in a git work tree needs libgit2 for its manifest's code
# version: without it the run stops before its first step, and no run is
# left recorded as running.
mkdir repo
git -C repo init -q
printf 'pipeline: p\nsteps:\n  a:\n    run: [sh, -c, "touch %s/ran; echo > outputs/o"]\n    outputs: {o: Artifact}\n' \
  "$TEST_DIR" >repo/p.yaml
expect_exit 5 without libgit2.so.1.5 "$LOCKSTEP" run repo/p.yaml \
  --sandbox none
expect_contains stderr.txt "install the Debian package libgit2-1.5"
[[ ! -e ran ]] || fail "a step ran without libgit2"
expect_exit 0 "$LOCKSTEP" --json runs list --status running
expect_eq "$(json stdout.txt 'len(d["runs"])')" "0" "runs left running"

# Outside any repository there is no code version to read, so the same
# run needs no libgit2, and its manifest says where it ran.
cp repo/p.yaml p.yaml
if git -C "$TEST_DIR" rev-parse 2>/dev/null; then
  echo "PASS (the test folder is inside a repository; outside case skipped)"
  exit 0
fi
expect_exit 0 without libgit2.so.1.5 "$LOCKSTEP" run p.yaml --sandbox none
[[ -e ran ]] || fail "the step did not run outside a repository"
manifest=$(ls "$LOCKSTEP_STORE"/runs/*/manifest.json)
expect_eq "$(json "$manifest" 'd["code"]["in_git_work_tree"]')" "False" \
  "code version outside a repository"
expect_eq "$(json "$manifest" 'd["code"]["note"]')" \
  "not in a git work tree" "code note outside a repository"

# With the libraries present the same commands get past loading them.
expect_exit 0 "$LOCKSTEP" ml train --train train.csv --label label \
  --model model.json
echo "PASS"
