"""A fake OCI registry over TLS that hands uploads and blob downloads to
a storage server over plain HTTP, for the client's Location tests.

usage: python3 offload_registry.py PORT_FILE CERT KEY LOG
Listens on 127.0.0.1 on two free ports: the registry (TLS, wants the
Basic login u:p) and the storage (plain HTTP, no login). Writes
"REGISTRY_PORT STORAGE_PORT" to PORT_FILE, and one line per request the
storage gets to LOG ("METHOD PATH Authorization"). An upload's POST is
answered with a Location on the storage; a blob GET with a 307 there.
The manifest v1 names a 17-byte layer and the empty config.
"""
import base64
import http.server
import json
import os
import ssl
import sys
import threading

from mock_image import LAYER, MANIFEST, digest

PORT_FILE, CERT, KEY, LOG = sys.argv[1:5]
LOGIN = "Basic " + base64.b64encode(b"u:p").decode()
BLOBS = {digest(b"{}"): b"{}", digest(LAYER): LAYER}
PORTS = {}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if self.server.server_port == PORTS["storage"]:
            return self.storage()
        if self.headers.get("Authorization") != LOGIN:
            return self.send(401, {"WWW-Authenticate": 'Basic realm="t"'})
        path = self.path.split("?")[0]
        storage = "http://127.0.0.1:%d" % PORTS["storage"]
        if path == "/v2/":
            return self.send(200)
        if path.endswith("/blobs/uploads/"):
            return self.send(202, {"Location": storage + "/up/1"})
        if "/manifests/" in path:
            return self.send(200, {"Content-Type": json.loads(MANIFEST)[
                "mediaType"]}, MANIFEST)
        if "/blobs/" in path:
            if self.command == "HEAD":
                return self.send(404)
            return self.send(307, {"Location": storage + "/blobs/" +
                                   path.rsplit("/", 1)[1]})
        self.send(404)

    def storage(self):
        with open(LOG, "a") as log:
            log.write("%s %s %s\n" % (self.command, self.path,
                                      self.headers.get("Authorization")))
        path = self.path.split("?")[0]
        if path.startswith("/blobs/") and path[7:] in BLOBS:
            return self.send(200, {}, BLOBS[path[7:]])
        self.send(202 if self.command == "PATCH" else 201)

    def send(self, code, headers=None, body=b""):
        self.send_response(code)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = handle_any

    def log_message(self, *args):
        pass


servers = {}
for name in ("registry", "storage"):
    servers[name] = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    servers[name].daemon_threads = True
    PORTS[name] = servers[name].server_port
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(CERT, KEY)
servers["registry"].socket = context.wrap_socket(servers["registry"].socket,
                                                 server_side=True)
threading.Thread(target=servers["storage"].serve_forever, daemon=True).start()
with open(PORT_FILE + ".tmp", "w") as f:
    f.write("%d %d\n" % (PORTS["registry"], PORTS["storage"]))
os.rename(PORT_FILE + ".tmp", PORT_FILE)
servers["registry"].serve_forever()
