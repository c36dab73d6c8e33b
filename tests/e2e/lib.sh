# Shared helpers for the end-to-end tests. Source it first thing:
#   source "$(dirname "$0")/lib.sh"
# It makes a fresh temporary folder, cds into it, points LOCKSTEP_STORE
# there, and removes it on exit. $LOCKSTEP is the CLI under test.
set -euo pipefail

: "${LOCKSTEP:?LOCKSTEP must name the lockstep binary}"
: "${LOCKSTEP_SOURCE_DIR:?LOCKSTEP_SOURCE_DIR must name the source tree}"

TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/lockstep-e2e.XXXXXX")
export LOCKSTEP_STORE="$TEST_DIR/.lockstep"
# Commands to run at exit before the test folder goes (stopping a server
# the test started): on_exit 'stop_registry'. The test's own exit status
# is kept; a trap that ran them itself used to turn failures into passes.
EXIT_HOOKS=()
on_exit() {
  EXIT_HOOKS+=("$1")
}
cleanup_test_dir() {
  local status=$?
  local hook
  for hook in "${EXIT_HOOKS[@]}"; do
    eval "$hook" || true
  done
  chmod -R u+w "$TEST_DIR" 2>/dev/null || true
  rm -rf "$TEST_DIR"
  exit $status
}
trap cleanup_test_dir EXIT
TEST_SCRIPT=$(realpath "$0")
cd "$TEST_DIR"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# expect_eq ACTUAL EXPECTED WHAT
expect_eq() {
  [[ "$1" == "$2" ]] || fail "$3: expected '$2', got '$1'"
}

# expect_exit CODE command...: runs the command, checks its exit code, and
# leaves its stderr in $TEST_DIR/stderr.txt and stdout in stdout.txt.
expect_exit() {
  local want=$1
  shift
  local got=0
  "$@" >"$TEST_DIR/stdout.txt" 2>"$TEST_DIR/stderr.txt" || got=$?
  if [[ "$got" != "$want" ]]; then
    cat "$TEST_DIR/stderr.txt" >&2
    fail "'$*' exited $got, expected $want"
  fi
}

# expect_contains FILE TEXT
expect_contains() {
  grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "$1 lacks '$2'"; }
}

# expect_not_contains FILE TEXT
expect_not_contains() {
  ! grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "$1 has '$2'"; }
}

# json FILE EXPR: evaluates a jq-like Python expression on a JSON file,
# e.g. json out.json 'd["steps"][0]["state"]'.
json() {
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}

# wait_for FILE: waits until FILE exists (10 s at most), else fails.
wait_for() {
  for _ in $(seq 1 200); do
    [[ -e "$1" ]] && return 0
    sleep 0.05
  done
  fail "$1 never appeared"
}

# private_mounts: re-runs the test in a mount namespace of its own
# (unshare -m), whose mounts vanish with it, or skips the test where none
# can be made (not root, no unshare), as the sandbox tests skip without
# bubblewrap. Call it before the test does anything.
private_mounts() {
  [[ -n "${LOCKSTEP_PRIVATE_MOUNTS:-}" ]] && return 0
  if [[ $(id -u) != 0 ]] || ! unshare -m true 2>/dev/null; then
    echo "skipped: private mounts need root and unshare -m"
    exit 0
  fi
  cd /
  rm -rf "$TEST_DIR"
  trap - EXIT
  exec env LOCKSTEP_PRIVATE_MOUNTS=1 unshare -m bash "$TEST_SCRIPT"
}

# small_disk DIR SIZE: mounts a tmpfs of SIZE (e.g. 20m) at DIR, in the
# test's private mount namespace, so that the test can fill it.
small_disk() {
  private_mounts
  mkdir -p "$1"
  mount -t tmpfs -o size="$2" tmpfs "$1" ||
    { echo "skipped: cannot mount a tmpfs"; exit 0; }
  on_exit "umount -l '$1'"
}

# fill_disk DIR BYTES: fills DIR's filesystem until BYTES are left free
# (in DIR/filler; remove it to give the space back).
fill_disk() {
  local avail
  avail=$(df -B1 --output=avail "$1" | tail -1)
  if (( avail > $2 )); then
    head -c $((avail - $2)) /dev/zero >>"$1/filler"
  fi
}
