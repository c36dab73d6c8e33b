#!/usr/bin/env bash
# `lockstep env capture`: the JSON agrees with what other tools report.
source "$(dirname "$0")/lib.sh"

expect_exit 0 "$LOCKSTEP" env capture --json
( . /etc/os-release; echo "$ID" ) > os_id.txt
expect_eq "$(json stdout.txt 'd["os"]["id"]')" "$(cat os_id.txt)" "os id"
expect_eq "$(json stdout.txt 'd["kernel"]["release"]')" "$(uname -r)" \
  "kernel release"
expect_eq "$(json stdout.txt 'd["libc"]["version"]')" \
  "$(getconf GNU_LIBC_VERSION | cut -d' ' -f2)" "glibc"
if command -v dpkg-query >/dev/null; then
  arch=$(dpkg-query -W -f='${Architecture}' bash)
  expect_eq "$(json stdout.txt "d['debian_packages']['bash:$arch']")" \
    "$(dpkg-query -W -f='${Version}' bash)" "bash version"
fi

expect_exit 0 "$LOCKSTEP" env capture
expect_contains stdout.txt "libc:      glibc"

expect_exit 6 "$LOCKSTEP" env capture --python ./no-such-python
expect_contains stderr.txt "python './no-such-python' could not be run"
echo "env_capture_test: ok"
