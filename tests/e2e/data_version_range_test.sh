# --version takes what NAME@V can name (1 to 17 digits): a larger one was
# clamped to INT64_MAX and the next automatic version overflowed. Another
# is a malformed flag value, a usage error (64).
source "$(dirname "$0")/lib.sh"

echo a >v.txt
for bad in 99999999999999999999 100000000000000000 0 -3 x; do
  expect_exit 64 "$LOCKSTEP" data snapshot v.txt --name ver --version "$bad"
  expect_contains stderr.txt "--version: the version must be a positive \
integer of at most 17 digits, not '$bad'"
done
expect_exit 2 "$LOCKSTEP" data show ver
expect_exit 0 "$LOCKSTEP" data snapshot v.txt --name ver \
  --version 99999999999999999
expect_exit 0 "$LOCKSTEP" data show ver@99999999999999999
expect_exit 3 "$LOCKSTEP" data snapshot v.txt --name ver
expect_contains stderr.txt "ver@99999999999999999 is the last version a \
reference can name"
expect_exit 0 "$LOCKSTEP" --json data list
expect_eq "$(json stdout.txt '[s["version"] for s in d["snapshots"]]')" \
  "[99999999999999999]" "versions"
echo ok
