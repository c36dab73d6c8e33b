#!/usr/bin/env bash
# `lockstep image build` is reproducible: the same inputs, from two git
# clones in different folders and two stores, give the same image digest
# (on a base pulled by digest from a local registry), one changed file
# changes it, --tag-commit adds VERSION-<commit8>, and a base given by tag
# only is refused. A pushed image whose layer holds `../escape` is refused
# at unpack time, naming the entry and the layer, and nothing escapes.
source "$(dirname "$0")/lib.sh"
source "$LOCKSTEP_SOURCE_DIR/tests/e2e/registry_lib.sh"
source "$LOCKSTEP_SOURCE_DIR/tests/e2e/image_lib.sh"
on_exit stop_registry

export LOCKSTEP_STORE="$TEST_DIR/server-store"
start_registry

make_busybox_root base-root lockstep-test
export LOCKSTEP_STORE="$TEST_DIR/base-store"
expect_exit 0 "$LOCKSTEP" image build --json --base scratch \
  --add base-root:/ --push "$REGISTRY/test/base:1"
base=$(json stdout.txt 'd["digest"]')

# The application, committed once, cloned twice.
mkdir app
(cd app && git init -q && mkdir -p pkg/src && echo 'print(1)' >pkg/src/train.py &&
  printf '#!/bin/sh\necho run\n' >pkg/run.sh && chmod +x pkg/run.sh &&
  git add -A && git -c user.name=t -c user.email=t@example.com \
    commit -qm app)
commit=$(git -C app rev-parse HEAD)
git clone -q app "$TEST_DIR/one/clone"
git clone -q app "$TEST_DIR/elsewhere/deeper/clone"
touch -d '2001-02-03 04:05:06' "$TEST_DIR/elsewhere/deeper/clone/pkg/run.sh"

build_in() {
  local dir=$1 store=$2
  shift 2
  (cd "$dir" && LOCKSTEP_STORE="$store" "$LOCKSTEP" image build --json \
    --base "$REGISTRY/test/base@$base" --add pkg:/app/src \
    --env MODE=train --workdir /app/src --entrypoint '["/app/src/run.sh"]' \
    "$@") >"$TEST_DIR/stdout.txt" 2>"$TEST_DIR/stderr.txt" ||
    { cat "$TEST_DIR/stderr.txt" >&2; fail "build in $dir failed"; }
  json "$TEST_DIR/stdout.txt" 'd["digest"]'
}
first=$(build_in one/clone "$TEST_DIR/store-a" --tag app/demo:a)
second=$(build_in elsewhere/deeper/clone "$TEST_DIR/store-b" \
  --push "$REGISTRY/app/demo:latest" --tag-commit --version 1.0)
expect_eq "$second" "$first" "digest from two clones"
expect_eq "$(json stdout.txt 'd["pushed"]')" \
  "['$REGISTRY/app/demo:latest', '$REGISTRY/app/demo:1.0-${commit:0:8}']" \
  "commit tag"
skopeo inspect --raw --tls-verify=false \
  "docker://$REGISTRY/app/demo:1.0-${commit:0:8}" >pushed.json
expect_eq "sha256:$(sha256sum <pushed.json | cut -d' ' -f1)" "$first" \
  "digest of the commit tag"
# The config carries no build time.
config=$(json pushed.json 'd["config"]["digest"]')
if blob_text "$TEST_DIR/store-b" "$config" | grep -q created; then
  fail "the config records a build time"
fi

echo 'print(2)' >elsewhere/deeper/clone/pkg/src/train.py
changed=$(build_in elsewhere/deeper/clone "$TEST_DIR/store-b")
[[ "$changed" != "$first" ]] || fail "a changed file kept digest $first"

# A base given by tag only is refused.
expect_exit 3 "$LOCKSTEP" image build --base "$REGISTRY/test/base:1" \
  --add app:/app --tag app/demo:x
expect_contains stderr.txt "is given by tag only"

# An image whose layer climbs out with ../escape, pushed with skopeo.
python3 - evil-layout <<'PY'
import hashlib, io, json, os, sys, tarfile
root = sys.argv[1]
blobs = os.path.join(root, "blobs", "sha256")
os.makedirs(blobs)
def put(data):
    digest = hashlib.sha256(data).hexdigest()
    open(os.path.join(blobs, digest), "wb").write(data)
    return {"digest": "sha256:" + digest, "size": len(data)}
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w") as t:
    for name in ["ok.txt", "../escape"]:
        info = tarfile.TarInfo(name)
        info.size = 4
        t.addfile(info, io.BytesIO(b"bad\n"))
layer = put(buf.getvalue())
layer["mediaType"] = "application/vnd.oci.image.layer.v1.tar"
config = put(json.dumps({"architecture": "amd64", "os": "linux",
    "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}}).encode())
config["mediaType"] = "application/vnd.oci.image.config.v1+json"
manifest = json.dumps({"schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": config, "layers": [layer]}).encode()
m = put(manifest)
m["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
m["annotations"] = {"org.opencontainers.image.ref.name": "1"}
json.dump({"schemaVersion": 2, "manifests": [m]},
          open(os.path.join(root, "index.json"), "w"))
json.dump({"imageLayoutVersion": "1.0.0"},
          open(os.path.join(root, "oci-layout"), "w"))
PY
skopeo copy -q --dest-tls-verify=false oci:evil-layout:1 \
  "docker://$REGISTRY/test/evil:1" >/dev/null
# skopeo compresses the layer on the way: read the digests it pushed.
skopeo inspect --raw --tls-verify=false "docker://$REGISTRY/test/evil:1" \
  >evil.json
evil=sha256:$(sha256sum <evil.json | cut -d' ' -f1)
evil_layer=$(json evil.json 'd["layers"][0]["digest"]')
export LOCKSTEP_STORE="$TEST_DIR/pull-store/.lockstep"
expect_exit 3 "$LOCKSTEP" image pull "$REGISTRY/test/evil@$evil"
expect_contains stderr.txt \
  "layer $evil_layer: entry '../escape': a '..' component would escape the image root"
[[ ! -e "$TEST_DIR/pull-store/.lockstep/rootfs/escape" ]] || fail "escaped"
[[ ! -e "$TEST_DIR/pull-store/.lockstep/escape" ]] || fail "escaped"
[[ ! -d "$LOCKSTEP_STORE/rootfs/${evil#sha256:}" ]] ||
  fail "a refused image left a rootfs"
if ls "$LOCKSTEP_STORE/rootfs" | grep -q .; then
  fail "a refused image left a temporary rootfs"
fi
