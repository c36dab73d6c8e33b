#!/usr/bin/env bash
# `lockstep keygen`: writes an Ed25519 pair, the private half 0600, and
# never overwrites an existing key.
source "$(dirname "$0")/lib.sh"

expect_exit 0 "$LOCKSTEP" keygen
expect_contains stdout.txt "wrote lockstep-signing.key"
expect_eq "$(stat -c %a lockstep-signing.key)" "600" "private key mode"
expect_contains lockstep-signing.key "-----BEGIN PRIVATE KEY-----"
expect_contains lockstep-signing.pub "-----BEGIN PUBLIC KEY-----"

# OpenSSL agrees it is an Ed25519 key, and the printed fingerprint is the
# sha256 of the public key's DER form.
openssl pkey -in lockstep-signing.key -noout -text > key.txt
expect_contains key.txt "ED25519 Private-Key"
fingerprint=$(openssl pkey -pubin -in lockstep-signing.pub -outform DER |
  sha256sum | cut -d' ' -f1)
expect_contains stdout.txt "public key sha256:$fingerprint"

before=$(sha256sum lockstep-signing.key)
expect_exit 3 "$LOCKSTEP" keygen
expect_contains stderr.txt \
  "lockstep: error: lockstep-signing.key exists; not overwriting it"
expect_eq "$(sha256sum lockstep-signing.key)" "$before" "key unchanged"

mkdir keys
expect_exit 0 "$LOCKSTEP" keygen --output keys/ci --json
expect_eq "$(json stdout.txt 'd["public_key"]')" "keys/ci.pub" "public path"
expect_eq "$(json stdout.txt 'd["public_key_sha256"]')" \
  "sha256:$(openssl pkey -pubin -in keys/ci.pub -outform DER |
    sha256sum | cut -d' ' -f1)" "fingerprint"
echo "keygen_test: ok"
