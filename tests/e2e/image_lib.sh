# Helpers for the image end-to-end tests (sourced after lib.sh and
# registry_lib.sh).

# skip_without_sandbox: exits 0 with SKIP when bubblewrap cannot run here.
skip_without_sandbox() {
  if ! bwrap --unshare-all --ro-bind /usr /usr --symlink usr/bin /bin \
      --symlink usr/lib /lib --symlink usr/lib64 /lib64 -- /usr/bin/true \
      2>/dev/null; then
    echo "SKIP: bubblewrap cannot create a sandbox here"
    exit 0
  fi
}

# make_busybox_root DIR ID: a root filesystem of Debian's static busybox
# with its applets linked in bin/ and an etc/os-release saying ID.
make_busybox_root() {
  local root=$1 id=$2
  mkdir -p "$root/bin" "$root/etc"
  cp /bin/busybox "$root/bin/busybox"
  for applet in sh cat echo ls test id; do
    ln -s busybox "$root/bin/$applet"
  done
  printf 'ID=%s\nNAME="Lockstep test image"\n' "$id" >"$root/etc/os-release"
}

# blob_text STORE DIGEST: prints a blob of a store.
blob_text() {
  local digest=$2
  cat "$1/blobs/sha256/${digest:7:2}/${digest:7}"
}

# expect_schema MANIFEST: the manifest follows docs/manifest.schema.json.
expect_schema() {
  /usr/bin/python3 - "$1" "$LOCKSTEP_SOURCE_DIR/docs/manifest.schema.json" \
    <<'PY' || fail "$1 does not follow docs/manifest.schema.json"
import json, sys, jsonschema
jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))
PY
}
