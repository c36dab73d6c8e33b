#!/usr/bin/env bash
# `registry serve` stopped by a signal. SIGTERM (what systemd, docker stop
# and kill send) ended it with 143, a code docs/exit-codes.md does not
# have (a tester's finding); it now stops taking connections, lets the
# requests in flight finish and exits 130, as SIGINT and SIGHUP do, and
# the port is free again at once.
source "$(dirname "$0")/lib.sh"
source "$LOCKSTEP_SOURCE_DIR/tests/e2e/registry_lib.sh"
on_exit stop_registry

for signal in TERM INT HUP; do
  start_registry
  expect_eq "$(http_status POST "http://$REGISTRY/v2/app/blobs/uploads/")" \
    202 "an upload started before SIG$signal"
  kill -s "$signal" "$REGISTRY_PID"
  status=0
  wait "$REGISTRY_PID" || status=$?
  REGISTRY_PID=
  expect_eq "$status" 130 "registry serve's exit on SIG$signal"
  expect_contains "$TEST_DIR/registry.log" "registry stopped"
  # The same port serves again at once.
  port=${REGISTRY##*:}
  "$LOCKSTEP" registry serve --listen "$REGISTRY" >again.log 2>&1 &
  REGISTRY_PID=$!
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://$REGISTRY/v2/" && break
    sleep 0.05
  done
  expect_eq "$(http_status GET "http://127.0.0.1:$port/v2/")" 200 \
    "served again after SIG$signal"
  stop_registry
done
echo "registry serve stop: ok"
