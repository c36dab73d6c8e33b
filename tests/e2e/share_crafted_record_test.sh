#!/usr/bin/env bash
# A pulled artifact's snapshot record names what the store then holds:
# a tester pulled one whose manifest said okname@1 while its record said
# a/../../b, and the store registered the snapshot `a/../../b@1`, a name
# `data snapshot` refuses (it reaches paths and command lines). The
# record's name is now checked: exit 3, nothing registered.
source "$(dirname "$0")/lib.sh"
source "$LOCKSTEP_SOURCE_DIR/tests/e2e/registry_lib.sh"
on_exit stop_registry

export LOCKSTEP_STORE="$TEST_DIR/registry-store"
start_registry

# Uploads a one-file folder snapshot whose record carries NAME while the
# manifest's annotations say okname@1.
python3 - "http://$REGISTRY" 'a/../../b' <<'PY'
import hashlib, json, struct, sys, urllib.request
base, name = sys.argv[1], sys.argv[2]
def upload(data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    urllib.request.urlopen(urllib.request.Request(
        f"{base}/v2/evil/a/blobs/uploads/?digest={digest}", data=data,
        method="POST",
        headers={"Content-Type": "application/octet-stream"})).read()
    return {"digest": digest, "size": len(data)}
content = b"E" * 70000
tree = (b"lockstep-tree-v1\n" + b"F\0" + struct.pack(">I", 1) + b"f" +
        struct.pack(">Q", len(content)) + hashlib.sha256(content).digest())
tree_blob = upload(tree)
record = {"digest": tree_blob["digest"], "kind": "lockstep.snapshot",
          "name": name, "type": "Dataset", "uri": "/x", "version": 1,
          "properties": {"kind": "folder", "file_count": 1,
                         "size": len(content), "tree": tree_blob["digest"],
                         "labels": {}, "columns": [], "column_types": [],
                         "created_ms": 1, "creator": "x", "description": "",
                         "expires_ms": 0, "row_count": None, "source": "/x"}}
record_blob = upload(json.dumps(record, sort_keys=True).encode())
layers = [
    dict(mediaType="application/vnd.lockstep.snapshot.v1+json",
         annotations={"lockstep.role": "snapshot-record",
                      "lockstep.snapshot": "okname@1",
                      "org.opencontainers.image.title": "okname@1.json"},
         **record_blob),
    dict(mediaType="application/vnd.lockstep.tree.v1",
         annotations={"lockstep.role": "tree",
                      "org.opencontainers.image.title": "okname@1/.tree"},
         **tree_blob),
    dict(mediaType="application/octet-stream",
         annotations={"lockstep.role": "snapshot-file",
                      "org.opencontainers.image.title": "okname@1/f"},
         **upload(content)),
]
manifest = {"schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": "application/vnd.lockstep.snapshot.v1",
            "config": dict(mediaType="application/vnd.oci.empty.v1+json",
                           **upload(b"{}")),
            "layers": layers,
            "annotations": {"lockstep.snapshot": "okname@1"}}
urllib.request.urlopen(urllib.request.Request(
    f"{base}/v2/evil/a/manifests/t1", data=json.dumps(manifest).encode(),
    method="PUT",
    headers={"Content-Type":
             "application/vnd.oci.image.manifest.v1+json"})).read()
PY

export LOCKSTEP_STORE="$TEST_DIR/puller/.lockstep"
mkdir -p "$TEST_DIR/puller" && cd "$TEST_DIR/puller"
expect_exit 3 "$LOCKSTEP" pull --insecure "$REGISTRY/evil/a:t1"
expect_contains "$TEST_DIR/stderr.txt" \
  "'a/../../b' is not a valid snapshot name"
# Nothing was registered: the store the refused pull made is gone too.
[[ ! -e "$LOCKSTEP_STORE" ]] || fail "the refused pull left its store"
# Into a store that exists, the same pull registers nothing.
printf 'a,b\n1,2\n' >t.csv
expect_exit 0 "$LOCKSTEP" -q data snapshot t.csv --name t
expect_exit 3 "$LOCKSTEP" pull --insecure "$REGISTRY/evil/a:t1"
expect_exit 0 "$LOCKSTEP" data list --json
names='[s["name"] for s in d["snapshots"]]'
expect_eq "$(json "$TEST_DIR/stdout.txt" "$names")" "['t']" \
  "snapshots registered"
echo "share crafted record: ok"
