#!/usr/bin/env bash
# Runs every test through ctest. Servers the tests need (PostgreSQL) are
# started by the tests themselves on loopback and stopped after.
set -euo pipefail
build_dir=${1:-build}
cd "$build_dir"
ctest --output-on-failure -j "$(nproc)" --timeout 600
