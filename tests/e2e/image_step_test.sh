#!/usr/bin/env bash
# Steps in a pinned image: an image built by `lockstep image build` from
# Debian's static busybox is pushed to a local `lockstep registry serve`,
# pulled by digest into a fresh store, and a step run in it sees the
# image's /etc/os-release, not the host's. A second image that differs by
# one file gives another cache key; a tag without a digest is refused
# (file:line:column) unless --allow-tags pins it with a warning.
source "$(dirname "$0")/lib.sh"
source "$LOCKSTEP_SOURCE_DIR/tests/e2e/registry_lib.sh"
source "$LOCKSTEP_SOURCE_DIR/tests/e2e/image_lib.sh"
on_exit stop_registry
skip_without_sandbox

export LOCKSTEP_STORE="$TEST_DIR/server-store"
start_registry

make_busybox_root root-one lockstep-test
cp -a root-one root-two
printf 'ID=lockstep-test-two\n' >root-two/etc/os-release

export LOCKSTEP_STORE="$TEST_DIR/build-store"
expect_exit 0 "$LOCKSTEP" image build --json --base scratch \
  --add root-one:/ --push "$REGISTRY/test/busybox:1"
one=$(json stdout.txt 'd["digest"]')
expect_exit 0 "$LOCKSTEP" image build --json --base scratch \
  --add root-two:/ --push "$REGISTRY/test/busybox:2"
two=$(json stdout.txt 'd["digest"]')
[[ "$one" != "$two" ]] || fail "images differing by one file share $one"

# skopeo, an independent client, reads the pushed manifest: its bytes hash
# to the digest the build printed.
skopeo inspect --raw --tls-verify=false "docker://$REGISTRY/test/busybox:1" \
  >manifest-one.json
expect_eq "sha256:$(sha256sum <manifest-one.json | cut -d' ' -f1)" "$one" \
  "pushed manifest digest"

write_pipeline() {
  cat >"$1" <<YAML
pipeline: in-image
steps:
  show:
    environment: {image: $2}
    run: [sh, -c, 'cat /etc/os-release > outputs/os']
    outputs:
      os: Artifact
YAML
}

# A fresh store pulls the image by digest and runs the step inside it.
export LOCKSTEP_STORE="$TEST_DIR/run-store"
write_pipeline one.yaml "$REGISTRY/test/busybox@$one"
expect_exit 0 "$LOCKSTEP" run one.yaml --json
cp stdout.txt run-one.json
expect_eq "$(json run-one.json 'd["status"]')" succeeded "run in image one"
os=$(json run-one.json 'd["steps"][0]["outputs"]["os"]')
expect_eq "$(blob_text "$LOCKSTEP_STORE" "$os" | head -1)" \
  "ID=lockstep-test" "os-release seen by the step"
host_id=$(grep '^ID=' /etc/os-release)
if blob_text "$LOCKSTEP_STORE" "$os" | grep -qx "$host_id"; then
  fail "the step saw the host's /etc/os-release"
fi
[[ -d "$LOCKSTEP_STORE/rootfs/${one#sha256:}" ]] || fail "no cached rootfs"

manifest=$(json run-one.json 'd["manifest"]')
expect_eq "$(json "$manifest" 'd["steps"][0]["invocation"]["image"]')" \
  "$REGISTRY/test/busybox@$one" "invocation image"
expect_eq "$(json "$manifest" 'd["environment"]["images"][0]["digest"]')" \
  "$one" "manifest image digest"
key_one=$(json "$manifest" 'd["steps"][0]["cache_key"]')

# The same image again: a cache hit.
expect_exit 0 "$LOCKSTEP" run one.yaml --json
expect_eq "$(json stdout.txt 'd["steps"][0]["state"]')" cached "second run"

# The image that differs by one file: another key, another output.
write_pipeline two.yaml "$REGISTRY/test/busybox@$two"
expect_exit 0 "$LOCKSTEP" run two.yaml --json
cp stdout.txt run-two.json
expect_eq "$(json run-two.json 'd["steps"][0]["state"]')" ran "image two"
os=$(json run-two.json 'd["steps"][0]["outputs"]["os"]')
expect_eq "$(blob_text "$LOCKSTEP_STORE" "$os")" "ID=lockstep-test-two" \
  "os-release of image two"
key_two=$(json "$(json run-two.json 'd["manifest"]')" \
  'd["steps"][0]["cache_key"]')
[[ "$key_one" != "$key_two" ]] || fail "both images gave key $key_one"

# A tag without a digest is refused where it is written...
write_pipeline tag.yaml "$REGISTRY/test/busybox:1"
expect_exit 3 "$LOCKSTEP" run tag.yaml
expect_contains stderr.txt "tag.yaml:4:26: image $REGISTRY/test/busybox:1 is given by tag only"
# ...or resolved once and pinned, with a warning, under --allow-tags.
expect_exit 0 "$LOCKSTEP" run tag.yaml --allow-tags --json
manifest=$(json stdout.txt 'd["manifest"]')
expect_eq "$(json "$manifest" 'd["steps"][0]["invocation"]["image"]')" \
  "$REGISTRY/test/busybox:1@$one" "pinned tag"
expect_eq "$(json "$manifest" 'd["environment"]["images"][0]["resolved_from_tag"]')" \
  True "resolved_from_tag"
expect_contains "$manifest" "was given by tag and resolved to $one"
expect_schema "$manifest"
expect_eq "$(json stdout.txt 'd["steps"][0]["state"]')" cached \
  "the pinned tag is image one"

# reproduce re-runs the step in the same image from the manifest alone.
expect_exit 0 "$LOCKSTEP" reproduce "$manifest"
