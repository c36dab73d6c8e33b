# The sandbox: steps see a fixed path, a cleared environment with fixed
# variables, no network and read-only inputs; a step that writes outside
# its outputs, or tries the network, fails with a message that says so.
source "$(dirname "$0")/lib.sh"
"$LOCKSTEP" run --help >/dev/null
if ! bwrap --unshare-all --ro-bind /usr /usr --symlink usr/bin /bin \
    --symlink usr/lib /lib --symlink usr/lib64 /lib64 -- /usr/bin/true \
    2>/dev/null; then
  echo "SKIP: bubblewrap cannot create a sandbox here"
  exit 0
fi

cat >env.yaml <<'YAML'
pipeline: sandbox-env
params:
  seed: 7
steps:
  show:
    run: [sh, -c, 'pwd > outputs/env; env | sort | grep -v "^_=" >> outputs/env']
    env: [DECLARED]
    outputs:
      env: Artifact
YAML
DECLARED=yes SECRET=hidden "$LOCKSTEP" run env.yaml --json >run.json 2>run.err
expect_eq "$(json run.json 'd["status"]')" succeeded "env run"
digest=$(json run.json 'd["steps"][0]["outputs"]["env"]')
env_file="$LOCKSTEP_STORE/blobs/sha256/${digest:7:2}/${digest:7}"
expect_eq "$(head -1 "$env_file")" /lockstep "working folder"
for want in TZ=UTC LC_ALL=C.UTF-8 SOURCE_DATE_EPOCH=315532800 \
    PYTHONHASHSEED=0 LOCKSTEP_SEED=7 DECLARED=yes; do
  grep -qx "$want" "$env_file" || fail "step environment lacks $want"
done
if grep -q SECRET "$env_file"; then fail "undeclared SECRET leaked"; fi
if grep -q "$TEST_DIR" "$env_file"; then fail "host path leaked"; fi

# The command lines of the sandbox's processes name no host folder, and
# the step holds no descriptor beyond 0-2 (the test runs with fd 7 open).
# Known gap: /proc/PID/fd/1 and 2 still name the host files that collect
# stdout and stderr.
cat >procs.yaml <<'YAML'
pipeline: sandbox-procs
steps:
  look:
    run: [sh, -c, 'cat /proc/[0-9]*/cmdline > outputs/seen; ls /proc/self/fd > outputs/fds']
    cache: false
    outputs:
      seen: Artifact
      fds: Artifact
YAML
expect_exit 0 "$LOCKSTEP" run procs.yaml --json 7</dev/null
seen=$(json stdout.txt 'd["steps"][0]["outputs"]["seen"]')
seen_file="$LOCKSTEP_STORE/blobs/sha256/${seen:7:2}/${seen:7}"
if grep -aq "$TEST_DIR" "$seen_file"; then
  fail "a host path shows inside the sandbox: $(tr '\0' ' ' <"$seen_file")"
fi
grep -aq "cat" "$seen_file" || fail "the step's own command line is missing"
fds=$(json stdout.txt 'd["steps"][0]["outputs"]["fds"]')
fds_file="$LOCKSTEP_STORE/blobs/sha256/${fds:7:2}/${fds:7}"
# ls itself holds 0-2 and the folder it lists (3).
expect_eq "$(tr '\n' ' ' <"$fds_file")" "0 1 2 3 " "the step's descriptors"

# Writing next to the inputs (outside outputs/) fails clearly.
cat >stray.yaml <<'YAML'
pipeline: sandbox-stray
steps:
  stray:
    run: [sh, -c, 'echo x > stray.txt; echo y > outputs/out']
    outputs:
      out: Artifact
YAML
expect_exit 1 "$LOCKSTEP" run stray.yaml
expect_contains stderr.txt "wrote outside its declared outputs: stray.txt"

# Writing into a read-only input fails and says why.
cat >ro.yaml <<'YAML'
pipeline: sandbox-ro
steps:
  make:
    run: [sh, -c, 'echo data > outputs/d']
    outputs:
      d: Dataset
  write:
    run: [sh, -c, 'echo more >> inputs/d && echo y > outputs/out']
    inputs:
      d: make.d
    outputs:
      out: Artifact
YAML
expect_exit 1 "$LOCKSTEP" run ro.yaml
expect_contains stderr.txt "step write"
expect_contains stderr.txt "outside its declared outputs"

# A step cannot change or delete its code files: they are the bytes its
# key was computed from.
mkdir -p lib
echo original >lib/c.txt
for action in 'echo hacked > lib/c.txt' 'rm -f lib/c.txt'; do
  cat >code.yaml <<YAML
pipeline: sandbox-code
steps:
  edit:
    run: [sh, -c, '$action && echo y > outputs/out']
    code: [lib]
    cache: false
    outputs:
      out: Artifact
YAML
  expect_exit 1 "$LOCKSTEP" run code.yaml
  expect_contains stderr.txt "step edit"
done
expect_eq "$(cat lib/c.txt)" original "the code file on the host"

# Writing to an absolute host path is impossible.
cat >abs.yaml <<YAML
pipeline: sandbox-abs
steps:
  escape:
    run: [sh, -c, 'echo x > $TEST_DIR/escaped && echo y > outputs/out']
    outputs:
      out: Artifact
YAML
expect_exit 1 "$LOCKSTEP" run abs.yaml
[[ ! -e "$TEST_DIR/escaped" ]] || fail "the step wrote to the host"

# Opening a socket fails and the message names the network.
cat >net.yaml <<'YAML'
pipeline: sandbox-net
steps:
  fetch:
    run: [python3, -c, 'import socket; socket.create_connection(("127.0.0.1", 9), timeout=2)']
YAML
expect_exit 1 "$LOCKSTEP" run net.yaml
expect_contains stderr.txt "network"

# Found by a tester: a step that crashed in the sandbox was reported as
# "exit code 139", since bubblewrap (the step's PID 1) exits 128 + N for
# a child killed by signal N. The failure names the signal, as it does
# without the sandbox.
cat >crash.yaml <<'YAML'
pipeline: crash
steps:
  a:
    run: [sh, -c, 'ulimit -c 0; kill -SEGV $$']
    cache: false
YAML
expect_exit 1 "$LOCKSTEP" run crash.yaml
expect_contains stderr.txt "step a: the step failed: killed by signal 11 \
(Segmentation fault), which the sandbox reports as exit code 139"
expect_exit 1 "$LOCKSTEP" run crash.yaml --sandbox none
expect_contains stderr.txt \
  "step a: the step failed: killed by signal 11 (Segmentation fault)"
# A code above 128 outside the sandbox is the step's own.
sed 's/kill -SEGV \$\$/exit 139/' crash.yaml >exit139.yaml
expect_exit 1 "$LOCKSTEP" run exit139.yaml --sandbox none
expect_contains stderr.txt "step a: the step failed: exit code 139"

# Found by a tester: with --sandbox none a background job a step left
# behind kept writing into its output after the store adopted it,
# corrupting the blob. What the step leaves in its process group is
# killed when it exits.
cat >bg.yaml <<'YAML'
pipeline: bg
steps:
  a:
    run:
      - sh
      - -c
      - 'exec 3>>outputs/x; echo good >&3; (sleep 1; echo LATE >&3) & exit 0'
    outputs:
      x: Artifact
YAML
expect_exit 0 "$LOCKSTEP" run bg.yaml --sandbox none --json
x=$(json stdout.txt 'd["steps"][0]["outputs"]["x"]')
expect_eq "$x" "sha256:$(echo good | sha256sum | cut -d' ' -f1)" "output"
sleep 2
blob=$(find "$LOCKSTEP_STORE/blobs" -type f -name "${x#sha256:}*")
expect_eq "$(cat "$blob")" good "the blob after the late write"
echo ok
