"""A fake OCI registry that misbehaves on purpose, for the pull tests.

usage: python3 hostile_registry.py PORT_FILE MODE
Listens on 127.0.0.1 on a free port, which it writes to PORT_FILE.
The manifest names a 17-byte layer and the empty config. MODE:
  endless-blob      the layer never ends (no Content-Length)
  endless-manifest  the manifest never ends
  stall             the layer's headers and 3 bytes, then nothing
  silent            accepts every connection and never answers
"""
import http.server
import os
import sys
import time

from mock_image import LAYER, MANIFEST, digest

PORT_FILE, MODE = sys.argv[1], sys.argv[2]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if MODE == "silent":
            time.sleep(3600)
        if "/manifests/" in self.path:
            if MODE == "endless-manifest":
                return self.endless()
            return self.send(MANIFEST,
                             "application/vnd.oci.image.manifest.v1+json")
        if self.path.endswith(digest(b"{}")):
            return self.send(b"{}", "application/octet-stream")
        if MODE == "endless-blob":
            return self.endless()
        # stall
        self.send_response(200)
        self.send_header("Content-Length", str(len(LAYER)))
        self.end_headers()
        self.wfile.write(LAYER[:3])
        self.wfile.flush()
        time.sleep(3600)

    def send(self, body, media_type):
        self.send_response(200)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def endless(self):
        self.send_response(200)
        self.send_header("Content-Type",
                         "application/vnd.oci.image.manifest.v1+json")
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            while True:
                self.wfile.write(b"x" * 65536)
        except OSError:
            pass  # the client hung up, as it should

    do_HEAD = do_GET
    do_POST = do_GET

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(PORT_FILE + ".tmp", PORT_FILE)
server.serve_forever()
