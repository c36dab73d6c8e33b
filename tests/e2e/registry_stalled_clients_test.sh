#!/usr/bin/env bash
# Found by a tester: 128 clients that connected and sent half a request
# held every thread of the server's fixed pool, and nobody else got an
# answer for five minutes. Here 300 such clients stay connected while a
# normal request must still be answered at once.
source "$(dirname "$0")/lib.sh"
source "$LOCKSTEP_SOURCE_DIR/tests/e2e/registry_lib.sh"
on_exit stop_registry
on_exit stop_stallers

stop_stallers() {
  if [[ -n "${STALLERS_PID:-}" ]]; then
    kill "$STALLERS_PID" 2>/dev/null || true
    wait "$STALLERS_PID" 2>/dev/null || true
  fi
}

start_registry
python3 - "$REGISTRY" "$TEST_DIR/stalled" <<'PY' &
import socket, sys, time
host, port = sys.argv[1].split(":")
held = []
for _ in range(300):
    s = socket.create_connection((host, int(port)))
    s.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n")  # no blank line
    held.append(s)
open(sys.argv[2], "w").write("%d\n" % len(held))
time.sleep(120)
PY
STALLERS_PID=$!
# Each connection waits for the server to take it (a thread each), which
# a sanitizer build makes slow.
for _ in $(seq 1 1200); do
  [[ -e "$TEST_DIR/stalled" ]] && break
  sleep 0.1
done
[[ -e "$TEST_DIR/stalled" ]] || fail "the stalled clients never connected"
expect_eq "$(cat "$TEST_DIR/stalled")" 300 "stalled clients"

expect_eq "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
  "http://$REGISTRY/v2/")" 200 "a normal request among stalled ones"
echo PASS
