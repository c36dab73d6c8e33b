#!/usr/bin/env bash
# `make demo`: run the breast-cancer example pipeline on the real data,
# then prove the run reproduces bit for bit from its manifest alone.
# The store is .lockstep/ at the top of the checkout (git ignores it).
set -euo pipefail
lockstep=$(realpath "${1:-build/lockstep}")
cd "$(dirname "$0")/.."

echo "\$ lockstep run examples/breast-cancer/pipeline.yaml"
"$lockstep" run examples/breast-cancer/pipeline.yaml | tee build/demo-run.txt
manifest=$(sed -n 's/^manifest: //p' build/demo-run.txt)

echo
echo "\$ lockstep reproduce $manifest"
"$lockstep" reproduce "$manifest"
