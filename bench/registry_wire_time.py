#!/usr/bin/env python3
"""Splits a registry copy's wall-clock time between server and client.

    bench/registry_wire_time.py CAPTURE.pcap SERVER_PORT

reads a loopback capture (tcpdump -w) of one client talking to one
server and prints, per kind of request (HEAD blob, POST upload, ...),
the server's time on the wire: from the last byte of the request to the
first byte of its answer, summed and as median and 90th percentile. The
rest of the capture's span is the client's own time (and the kernel's)
when requests come one at a time, as skopeo pushes; requests in
parallel (a pull's) can sum to more than the span.
registry_bench.sh --wire runs it for lockstep and docker-registry.

One request per connection is assumed, as skopeo sends: it asks for
`Connection: close`. A connection carrying several requests is counted
as one, with its first request's kind.
"""

import collections
import re
import subprocess
import sys

PACKET = re.compile(r"(\d+\.\d+) IP 127\.0\.0\.1\.(\d+) > "
                    r"127\.0\.0\.1\.(\d+): Flags \[[^\]]*\].*length (\d+)")
REQUEST_LINE = re.compile(r"(HEAD|GET|POST|PATCH|PUT|DELETE) (/\S*)")


def request_kind(method, path):
    if "/blobs/uploads" in path:
        what = "upload"
    elif "/blobs/" in path:
        what = "blob"
    elif "/manifests/" in path:
        what = "manifest"
    else:
        what = path
    return method + " " + what


def read_connections(capture, port):
    """Per client port: request kind and first/last data byte times."""
    text = subprocess.run(["tcpdump", "-r", capture, "-n", "-tt", "-A"],
                          capture_output=True, text=True,
                          check=True).stdout
    connections = collections.defaultdict(dict)
    payload_of = None  # the connection whose request payload follows
    for line in text.splitlines():
        packet = PACKET.match(line)
        if packet:
            when, source, dest, length = packet.groups()
            to_server = dest == port
            client = source if to_server else dest
            payload_of = None
            if int(length) > 0:
                side = "request" if to_server else "answer"
                times = connections[client]
                times.setdefault(side + "_first", float(when))
                times[side + "_last"] = float(when)
                payload_of = client if to_server else None
            continue
        if payload_of and "kind" not in connections[payload_of]:
            line_match = REQUEST_LINE.search(line)
            if line_match:
                connections[payload_of]["kind"] = request_kind(
                    *line_match.groups())
    return connections


def main():
    capture, port = sys.argv[1], sys.argv[2]
    connections = read_connections(capture, port)
    by_kind = collections.defaultdict(list)
    starts, ends = [], []
    for times in connections.values():
        if "request_last" not in times or "answer_first" not in times:
            continue
        waited = times["answer_first"] - times["request_last"]
        by_kind[times.get("kind", "other")].append(max(0.0, waited))
        starts.append(times["request_first"])
        ends.append(times["answer_last"])
    if not starts:
        sys.exit("no request answered in " + capture)
    span = max(ends) - min(starts)
    server = sum(sum(waits) for waits in by_kind.values())
    print(f"span {span:.3f} s, server {server:.3f} s "
          f"({100 * server / span:.0f}%), "
          f"{sum(len(w) for w in by_kind.values())} requests")
    for kind, waits in sorted(by_kind.items(), key=lambda kv: -sum(kv[1])):
        waits.sort()
        median = waits[len(waits) // 2] * 1000
        p90 = waits[int(len(waits) * 0.9)] * 1000
        print(f"  {kind:16} {len(waits):4d}  total {sum(waits):6.3f} s  "
              f"median {median:6.3f} ms  p90 {p90:6.3f} ms")


if __name__ == "__main__":
    main()
