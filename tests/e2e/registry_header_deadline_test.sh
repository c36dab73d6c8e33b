#!/usr/bin/env bash
# Found by a tester: a client that trickles its headers, one byte every
# 20 s, held its thread for ever (the 60 s read timeout restarts with
# every byte), so as many such clients as threads froze the registry for
# everyone, no login needed (slowloris). Each request's headers, and a
# TLS handshake, must now be in within --header-timeout. Here a server
# with 68 threads (ulimit -n 200) and a 2 s deadline gets 80 trickling
# clients, and a normal request must still be answered within the
# deadline plus a little; every trickler is dropped.
source "$(dirname "$0")/lib.sh"
source "$LOCKSTEP_SOURCE_DIR/tests/e2e/registry_lib.sh"
on_exit stop_registry
on_exit stop_tricklers

TRICKLERS=80

stop_tricklers() {
  if [[ -n "${TRICKLERS_PID:-}" ]]; then
    kill "$TRICKLERS_PID" 2>/dev/null || true
    wait "$TRICKLERS_PID" 2>/dev/null || true
    TRICKLERS_PID=
  fi
}

# serve_small SCHEME ARGS...: the registry with few threads (its pool is
# sized from the open-file limit) and a 2 s header deadline.
serve_small() {
  local scheme=$1
  shift
  REGISTRY="127.0.0.1:$(free_port)"
  (ulimit -n 200 && exec "$LOCKSTEP" registry serve --listen "$REGISTRY" \
    --header-timeout 2 "$@") >"$TEST_DIR/registry.log" 2>&1 &
  REGISTRY_PID=$!
  for _ in $(seq 1 100); do
    curl -sk -o /dev/null "$scheme://$REGISTRY/v2/" && return 0
    sleep 0.05
  done
  cat "$TEST_DIR/registry.log" >&2
  fail "registry did not start"
}

# trickle MODE: TRICKLERS connections that each send a byte a second
# (plain: header bytes; tls: every other one header bytes inside TLS,
# the others a ClientHello), and reconnect when dropped, as an attacker
# would, for 12 s. Makes trickle.txt.connected once all are, and writes
# a line "closed" to trickle.txt for each connection the server ended.
# Without a deadline the TLS ones never all connect: handshakes that
# never end hold every thread.
trickle() {
  rm -f "$TEST_DIR/trickle.txt" "$TEST_DIR/trickle.txt.connected"
  touch "$TEST_DIR/trickle.txt"
  python3 - "$REGISTRY" "$1" "$TRICKLERS" "$TEST_DIR/trickle.txt" <<'PY' &
import socket, ssl, sys, threading, time
host, port = sys.argv[1].split(":")
mode, count, out = sys.argv[2], int(sys.argv[3]), sys.argv[4]
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
# A real ClientHello's bytes, from a TLS client made to write into
# memory, to send to the server one at a time.
incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
try:
    context.wrap_bio(incoming, outgoing).do_handshake()
except ssl.SSLWantReadError:
    pass
hello = outgoing.read()
headers = b"GET /v2/ HTTP/1.1\r\nHost: x\r\nX-a: " + b"a" * 100

lock = threading.Lock()
started = 0

def note(line):
    with lock, open(out, "a") as f:
        f.write(line + "\n")

def trickle(i):
    global started
    first = True
    end = time.time() + 12
    while time.time() < end:
        try:
            s = socket.create_connection((host, int(port)))
            data = headers
            if mode == "tls" and i % 2 == 0:
                data = hello
            elif mode == "tls":
                s = context.wrap_socket(s)
            # At once: a connection that sends nothing is closed after
            # 5 s anyway (the keep-alive wait).
            s.sendall(data[:1])
            if first:
                first = False
                with lock:
                    started += 1
                    if started == count:
                        open(out + ".connected", "w").close()
            for byte in range(1, len(data)):
                time.sleep(1)
                s.sendall(data[byte:byte + 1])
        except OSError:
            note("closed")

# A thread each, as an attacker's clients are: all connect at once.
for i in range(count):
    threading.Thread(target=trickle, args=(i,), daemon=True).start()
time.sleep(60)
PY
  TRICKLERS_PID=$!
  wait_for "$TEST_DIR/trickle.txt.connected"
}

# probe SCHEME WHAT: a normal GET /v2/ among the tricklers is answered
# within 5 s (deadline 2 s, the watchdog's 1 s tick, then a free thread),
# and within 10 more s as many tricklers as there are have been dropped.
probe() {
  local scheme=$1 what=$2 started took
  sleep 0.5  # every trickler holds a thread or waits for one
  started=$(date +%s%N)
  expect_eq "$(curl -sk -o /dev/null -w '%{http_code}' --max-time 8 \
    "$scheme://$REGISTRY/v2/")" 200 "a normal request among $what"
  took=$(( ($(date +%s%N) - started) / 1000000 ))
  echo "GET /v2/ among $TRICKLERS $what: $took ms"
  (( took < 5000 )) || fail "GET /v2/ among $what took $took ms"
  for _ in $(seq 1 100); do
    (( $(grep -c closed "$TEST_DIR/trickle.txt") >= TRICKLERS )) && break
    sleep 0.1
  done
  (( $(grep -c closed "$TEST_DIR/trickle.txt") >= TRICKLERS )) ||
    fail "$what: only $(grep -c closed "$TEST_DIR/trickle.txt") dropped"
  expect_contains "$TEST_DIR/registry.log" "request headers not complete \
within 2 s"
  stop_tricklers
}

serve_small http
trickle plain
probe http "clients trickling headers"
# Each request on a keep-alive connection has its own deadline: four in
# time pass though together they take longer, and a slow fifth is
# dropped.
python3 - "$REGISTRY" <<'PY' || fail "keep-alive deadline"
import socket, sys, time
host, port = sys.argv[1].split(":")
s = socket.create_connection((host, int(port)))
s.settimeout(10)
stream = s.makefile("rb")

def answer():
    # One whole answer: its body may come in a segment of its own.
    head = stream.readline()
    length = 0
    while (line := stream.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    stream.read(length)
    return head

# 3.2 s in all, more than the 2 s deadline and the 1 s tick.
for i in range(4):
    time.sleep(0.8)
    s.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n")
    head = answer()
    assert b" 200 " in head, "request %d in time: %r" % (i, head)
# Idle between requests is the keep-alive timeout's (5 s, announced in
# every answer), not the header deadline's: after 3 s the next request
# is served (a tester's was dropped and logged as a slowloris).
time.sleep(3)
s.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n")
head = answer()
assert b" 200 " in head, "request after 3 s idle: %r" % head
s.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n")
started = time.time()
while s.recv(65536):
    pass
assert time.time() - started < 5, "the slow request was not dropped"
PY
# A client that half-closes after its request (shutdown(SHUT_WR)) still
# gets the whole answer: the old loop took its end of input for a client
# gone, and one answer in four came back empty or cut (a tester).
python3 - "$REGISTRY" <<'PY' || fail "half-closed clients"
import socket, sys
host, port = sys.argv[1].split(":")
for i in range(40):
    s = socket.create_connection((host, int(port)))
    s.settimeout(10)
    s.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    s.shutdown(socket.SHUT_WR)
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    s.close()
    assert data.startswith(b"HTTP/1.1 200 ") and data.endswith(b"{}"), \
        "answer %d: %r" % (i, data)
PY
# A drop is logged once, not also as an unreadable request (a tester).
expect_not_contains "$TEST_DIR/registry.log" "registry:  : 400"
stop_registry

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
  -keyout "$TEST_DIR/tls.key" -out "$TEST_DIR/tls.crt" 2>/dev/null
serve_small https --tls-cert "$TEST_DIR/tls.crt" --tls-key "$TEST_DIR/tls.key"
trickle tls
probe https "TLS clients trickling headers or a handshake"
echo PASS
