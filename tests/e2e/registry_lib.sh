# Helpers for the registry end-to-end tests (sourced after lib.sh).

# free_port: prints a TCP port nothing listens on at the moment.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# sha TEXT: the hex SHA-256 of TEXT's bytes (a digest without "sha256:").
sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

# start_registry ARGS...: starts `lockstep registry serve` on a free
# loopback port in the background, sets REGISTRY_PID and REGISTRY (host:port)
# and waits until /v2/ answers.
start_registry() {
  local port
  port=$(free_port)
  REGISTRY="127.0.0.1:$port"
  "$LOCKSTEP" registry serve --listen "$REGISTRY" "$@" \
    >"$TEST_DIR/registry.log" 2>&1 &
  REGISTRY_PID=$!
  for _ in $(seq 1 100); do
    if curl -sk -o /dev/null "${REGISTRY_SCHEME:-http}://$REGISTRY/v2/"; then
      return 0
    fi
    sleep 0.05
  done
  cat "$TEST_DIR/registry.log" >&2
  fail "registry did not start"
}

stop_registry() {
  if [[ -n "${REGISTRY_PID:-}" ]]; then
    kill "$REGISTRY_PID" 2>/dev/null || true
    wait "$REGISTRY_PID" 2>/dev/null || true
    REGISTRY_PID=
  fi
}

# http_status METHOD URL [curl args...]: prints the status code only.
http_status() {
  local method=$1 url=$2
  shift 2
  # curl -X HEAD would wait for the body its Content-Length announces.
  local verb=(-X "$method")
  [[ $method == HEAD ]] && verb=(--head)
  curl -s -o "$TEST_DIR/body.txt" -D "$TEST_DIR/headers.txt" \
    -w '%{http_code}' "${verb[@]}" "$url" "$@"
}

# header NAME: the value of a header in the last http_status response.
header() {
  grep -i "^$1:" "$TEST_DIR/headers.txt" | head -1 | cut -d' ' -f2- |
    tr -d '\r'
}

# make_oci_layout DIR TAG LAYERS: writes an OCI image layout with LAYERS
# gzipped tar layers of distinct content, tagged TAG.
make_oci_layout() {
  python3 - "$1" "$2" "$3" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile
root, tag, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
blobs = os.path.join(root, "blobs", "sha256")
os.makedirs(blobs, exist_ok=True)
def put(data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, digest), "wb") as f:
        f.write(data)
    return "sha256:" + digest, len(data)
layers, diff_ids = [], []
for i in range(count):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        payload = (f"layer {i} of {tag}\n" * (200 * (i + 1))).encode()
        info = tarfile.TarInfo(f"file{i}.txt")
        info.size, info.mtime = len(payload), 0
        t.addfile(info, io.BytesIO(payload))
    diff_ids.append("sha256:" + hashlib.sha256(buf.getvalue()).hexdigest())
    # Compressed, so skopeo pushes the layers (and manifest) unchanged.
    digest, size = put(gzip.compress(buf.getvalue(), mtime=0))
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                   "digest": digest, "size": size})
config = json.dumps({"architecture": "amd64", "os": "linux",
                     "rootfs": {"type": "layers", "diff_ids": diff_ids},
                     "config": {}}).encode()
cdigest, csize = put(config)
manifest = json.dumps({"schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
               "digest": cdigest, "size": csize},
    "layers": layers}).encode()
mdigest, msize = put(manifest)
with open(os.path.join(root, "index.json"), "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": mdigest, "size": msize,
        "annotations": {"org.opencontainers.image.ref.name": tag}}]}, f)
with open(os.path.join(root, "oci-layout"), "w") as f:
    json.dump({"imageLayoutVersion": "1.0.0"}, f)
print(mdigest)
PY
}
