#!/usr/bin/env python3
"""The requests a client makes to push one small blob (HEAD, POST, PATCH,
PUT), timed against two registries side by side, without a client's own
work in the way.

usage: registry_request_cost.py LOCKSTEP_PORT PEER_PORT [BLOBS] [ROUNDS]
Both registries listen on 127.0.0.1 (start them as registry_bench.sh
does). Each round pushes BLOBS (default 300) random 4 KiB blobs over one
keep-alive connection to each server in turn; prints the median
milliseconds per blob of each and their ratio.
"""
import hashlib
import http.client
import os
import statistics
import sys
import time


def path_of(location):
    if location.startswith("http"):
        return "/" + location.split("/", 3)[3]
    return location


def ms_per_blob(port, blobs, repo):
    connection = http.client.HTTPConnection("127.0.0.1", port)

    def send(method, path, body=None, headers=None):
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        response.read()
        return response

    start = time.monotonic()
    for _ in range(blobs):
        data = os.urandom(4096)
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        send("HEAD", f"/v2/{repo}/blobs/{digest}")
        location = path_of(send("POST", f"/v2/{repo}/blobs/uploads/")
                           .getheader("Location"))
        location = path_of(send("PATCH", location, data, {
            "Content-Type": "application/octet-stream"}).getheader("Location"))
        separator = "&" if "?" in location else "?"
        done = send("PUT", f"{location}{separator}digest={digest}")
        if done.status != 201:
            sys.exit(f"port {port}: PUT answered {done.status}")
    return (time.monotonic() - start) * 1000 / blobs


def main():
    lockstep, peer = int(sys.argv[1]), int(sys.argv[2])
    blobs = int(sys.argv[3]) if len(sys.argv) > 3 else 300
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    ours, theirs = [], []
    for i in range(rounds):
        ours.append(ms_per_blob(lockstep, blobs, f"cost/r{i}"))
        theirs.append(ms_per_blob(peer, blobs, f"cost/r{i}"))
    a, b = statistics.median(ours), statistics.median(theirs)
    print(f"per blob: lockstep {a:.2f} ms  peer {b:.2f} ms  "
          f"ratio {b / a:.2f}")


if __name__ == "__main__":
    main()
