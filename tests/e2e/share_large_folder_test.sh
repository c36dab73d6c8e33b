#!/usr/bin/env bash
# A folder snapshot of 30,000 small files through `lockstep registry
# serve`: it travels as a few pack bundles (one layer per file made a
# manifest past the 4 MiB registries accept), pulls into packs with the
# same digest and a passing `data verify`; a corrupted bundle is refused
# naming it; an old one-layer-per-file push still pulls; and pushing a
# corrupt packed blob exits 4.
source "$(dirname "$0")/lib.sh"
source "$LOCKSTEP_SOURCE_DIR/tests/e2e/registry_lib.sh"
on_exit stop_registry

export LOCKSTEP_STORE="$TEST_DIR/registry-store"
start_registry

# 30,000 distinct small files in 100 folders, a copy of the first, and
# one file over 64 KiB, which travels as a layer of its own.
mkdir -p "$TEST_DIR/a" && cd "$TEST_DIR/a"
export LOCKSTEP_STORE="$TEST_DIR/a/.lockstep"
python3 - <<'PY'
import os
for i in range(30000):
    os.makedirs(f"big/d{i // 300:02d}", exist_ok=True)
    with open(f"big/d{i // 300:02d}/f{i:05d}.txt", "w") as f:
        f.write(f"{i:05d} " * (i % 50 + 1) + "\n")
with open("big/copy.txt", "w") as f:
    f.write("00000 \n")
with open("big/large.bin", "wb") as f:
    f.write(bytes(range(256)) * 400)
PY
"$LOCKSTEP" data snapshot big --name big --json >snap.json
digest=$(json snap.json 'd["digest"]')
# 30,000 + 6 * 600 * (1 + ... + 50) bytes, the copy's 7, the large 102,400.
expect_eq "$(json snap.json 'd["size"]')" 4722407 "size"

expect_exit 0 "$LOCKSTEP" push --json --insecure snapshot:big@1 \
  "$REGISTRY/data/big:v1"
layers=$(json "$TEST_DIR/stdout.txt" 'd["layers"]')
curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
  "http://$REGISTRY/v2/data/big/manifests/v1" >m.json
(( $(wc -c <m.json) < 8192 )) || fail "manifest of $(wc -c <m.json) bytes"
expect_eq "$(json m.json 'len(d["layers"])')" "$layers" "layers listed"
expect_eq "$(json m.json '[l["mediaType"][25:] for l in d["layers"]][:2]')" \
  "['snapshot.v1+json', 'tree.v1']" "record and tree first"
expect_eq "$(json m.json 'd["layers"][1]["digest"]')" "$digest" "tree"
expect_eq "$(json m.json 'sum(int(l["annotations"]["lockstep.files"])
  for l in d["layers"] if l["mediaType"].endswith(".pack.v1"))')" \
  30000 "bundled files (the copy is the same blob)"
expect_eq "$(json m.json '[l["annotations"]["org.opencontainers.image.title"]
  for l in d["layers"] if l["mediaType"] == "application/octet-stream"]')" \
  "['big@1/large.bin']" "the large file, a layer of its own"
title=org.opencontainers.image.title
expect_eq "$(json m.json "d['layers'][2]['annotations']['$title']")" \
  "big@1/files-1.pack" "the first bundle's title"

# Pushed again: every blob is skipped (the bundles are the same bytes).
expect_exit 0 "$LOCKSTEP" push --json --insecure snapshot:big@1 \
  "$REGISTRY/data/big:again"
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["uploaded"]')" 0 "re-uploaded"

mkdir -p "$TEST_DIR/b" && cd "$TEST_DIR/b"
export LOCKSTEP_STORE="$TEST_DIR/b/.lockstep"
expect_exit 0 "$LOCKSTEP" pull --json --insecure "$REGISTRY/data/big:v1"
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["snapshots"]')" "['big@1']" \
  "registered"
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["bundledFiles"]')" 30000 \
  "unbundled"
expect_exit 0 "$LOCKSTEP" data verify big@1 --json
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["ok"]')" True "verify"
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["digest"]')" "$digest" "digest"
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["bytes_checked"]')" 4722407 \
  "bytes verified"
# Small files arrive packed (one pack: 6 MB), the large one loose.
expect_eq "$(ls .lockstep/packs | wc -l)" 1 "packs in B"
hex=$(sha256sum "$TEST_DIR/a/big/d00/f00000.txt" | cut -d' ' -f1)
[[ ! -e ".lockstep/blobs/sha256/${hex:0:2}/$hex" ]] || fail "small file loose"
hex=$(sha256sum "$TEST_DIR/a/big/large.bin" | cut -d' ' -f1)
[[ -e ".lockstep/blobs/sha256/${hex:0:2}/$hex" ]] || fail "large file packed"
expect_exit 0 "$LOCKSTEP" data export big@1 "$TEST_DIR/b/out"
diff -r "$TEST_DIR/a/big" "$TEST_DIR/b/out" || fail "export differs"

# A bundle rotted on the registry: refused by its digest, nothing kept.
bundle=$(json "$TEST_DIR/a/m.json" 'd["layers"][2]["digest"]')
bundle_hex=${bundle#sha256:}
on_registry="$TEST_DIR/registry-store/blobs/sha256/${bundle_hex:0:2}"
on_registry+="/$bundle_hex"
cp "$on_registry" "$TEST_DIR/bundle.orig"
chmod u+w "$on_registry"
printf 'X' | dd of="$on_registry" bs=1 seek=10 conv=notrunc status=none
mkdir -p "$TEST_DIR/c" && cd "$TEST_DIR/c"
export LOCKSTEP_STORE="$TEST_DIR/c/.lockstep"
expect_exit 4 "$LOCKSTEP" pull --insecure "$REGISTRY/data/big:v1"
expect_contains "$TEST_DIR/stderr.txt" "$bundle"
cp "$TEST_DIR/bundle.orig" "$on_registry"

# A bundle that hashes to its layer digest but holds a file whose bytes
# do not hash to that file's name: refused naming the bundle and file.
python3 - "http://$REGISTRY" "$TEST_DIR/bundle.orig" <<'PY' >tampered.txt
import hashlib, json, sys, urllib.request
base, original = sys.argv[1], open(sys.argv[2], "rb").read()
bad = bytearray(original)
bad[0] ^= 1  # The first byte of the first file's bytes.
bad = bytes(bad)
digest = "sha256:" + hashlib.sha256(bad).hexdigest()
start = urllib.request.urlopen(urllib.request.Request(
    base + "/v2/data/big/blobs/uploads/", method="POST"))
location = start.headers["Location"]
if location.startswith("/"):
    location = base + location
sep = "&" if "?" in location else "?"
urllib.request.urlopen(urllib.request.Request(
    location + sep + "digest=" + digest, data=bad, method="PUT",
    headers={"Content-Type": "application/octet-stream"}))
accept = "application/vnd.oci.image.manifest.v1+json"
manifest = json.load(urllib.request.urlopen(urllib.request.Request(
    base + "/v2/data/big/manifests/v1", headers={"Accept": accept})))
manifest["layers"][2]["digest"] = digest
urllib.request.urlopen(urllib.request.Request(
    base + "/v2/data/big/manifests/tampered",
    data=json.dumps(manifest).encode(), method="PUT",
    headers={"Content-Type": accept}))
print(digest)
PY
tampered=$(cat tampered.txt)
expect_exit 4 "$LOCKSTEP" pull --insecure "$REGISTRY/data/big:tampered"
expect_contains "$TEST_DIR/stderr.txt" "bundle $tampered (big@1/files-1.pack)"
expect_contains "$TEST_DIR/stderr.txt" "is corrupt: its file sha256:"
expect_exit 2 "$LOCKSTEP" data show big@1

# The old format, one layer per file, still pulls.
mkdir -p "$TEST_DIR/d/docs/sub" && cd "$TEST_DIR/d"
export LOCKSTEP_STORE="$TEST_DIR/d/.lockstep"
echo alpha >docs/a.txt
echo beta >docs/sub/b.txt
"$LOCKSTEP" data snapshot docs --name docs --json >snap.json
docs_digest=$(json snap.json 'd["digest"]')
expect_exit 0 "$LOCKSTEP" push --insecure snapshot:docs@1 \
  "$REGISTRY/data/docs:v1"
python3 - "http://$REGISTRY" docs/a.txt docs/sub/b.txt <<'PY'
# Rewrites docs:v1 as the old layout: record, tree, then each file.
import hashlib, json, sys, urllib.request
base = sys.argv[1]
accept = "application/vnd.oci.image.manifest.v1+json"
manifest = json.load(urllib.request.urlopen(urllib.request.Request(
    base + "/v2/data/docs/manifests/v1", headers={"Accept": accept})))
layers = manifest["layers"][:2]
for path in sys.argv[2:]:
    data = open(path, "rb").read()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    start = urllib.request.urlopen(urllib.request.Request(
        base + "/v2/data/docs/blobs/uploads/", method="POST"))
    location = start.headers["Location"]
    if location.startswith("/"):
        location = base + location
    sep = "&" if "?" in location else "?"
    urllib.request.urlopen(urllib.request.Request(
        location + sep + "digest=" + digest, data=data, method="PUT",
        headers={"Content-Type": "application/octet-stream"}))
    layers.append({"mediaType": "application/octet-stream",
                   "digest": digest, "size": len(data),
                   "annotations": {
                       "org.opencontainers.image.title": "docs@1/" +
                           path[len("docs/"):],
                       "lockstep.role": "snapshot-file"}})
manifest["layers"] = layers
urllib.request.urlopen(urllib.request.Request(
    base + "/v2/data/docs/manifests/old",
    data=json.dumps(manifest).encode(), method="PUT",
    headers={"Content-Type": accept}))
PY
mkdir -p "$TEST_DIR/e" && cd "$TEST_DIR/e"
export LOCKSTEP_STORE="$TEST_DIR/e/.lockstep"
expect_exit 0 "$LOCKSTEP" pull --json --insecure "$REGISTRY/data/docs:old"
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["snapshots"]')" "['docs@1']" \
  "old format registered"
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["bundledFiles"]')" 0 \
  "no bundles in the old format"
expect_exit 0 "$LOCKSTEP" data verify docs@1 --json
expect_eq "$(json "$TEST_DIR/stdout.txt" 'd["digest"]')" "$docs_digest" \
  "old format digest"

# Pushing a snapshot whose packed file rotted is exit 4 (the store's
# bytes no longer match), naming the blob, with nothing uploaded.
cd "$TEST_DIR/d"
export LOCKSTEP_STORE="$TEST_DIR/d/.lockstep"
pack=$(ls .lockstep/packs/*.pack)
chmod u+w "$pack"
printf 'X' | dd of="$pack" bs=1 seek=0 conv=notrunc status=none
expect_exit 4 "$LOCKSTEP" push --insecure snapshot:docs@1 \
  "$REGISTRY/data/docs:rotted"
expect_contains "$TEST_DIR/stderr.txt" "is corrupt"
expect_eq \
  "$(http_status GET "http://$REGISTRY/v2/data/docs/manifests/rotted")" \
  404 "nothing tagged"
echo "share_large_folder_test: ok"
