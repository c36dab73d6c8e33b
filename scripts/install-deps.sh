#!/usr/bin/env bash
# Installs the Debian 12 packages Lockstep needs to build and test, and
# only those that are missing, so a machine that has them all is not
# touched. Run as root (or with sudo available).
#
#   scripts/install-deps.sh            build + test packages
#   scripts/install-deps.sh --bench    also the peers the benchmarks use
set -euo pipefail

build_packages=(
  g++ cmake make pkg-config git
  libcli11-dev nlohmann-json3-dev libyaml-cpp-dev libssl-dev
  libsqlite3-dev libpq-dev libarchive-dev libcurl4-openssl-dev
  libcpp-httplib-dev libgit2-dev libxgboost-dev libgraphviz-dev
  libspdlog-dev libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev
)
test_packages=(
  sqlite3 postgresql bubblewrap skopeo busybox-static apache2-utils
  ninja-build graphviz openssl python3-jsonschema iproute2
)
bench_packages=(
  python3-xgboost python3-numpy hyperfine docker-registry wrk
  linux-perf valgrind bc tcpdump
)

wanted=("${build_packages[@]}" "${test_packages[@]}")
if [[ "${1:-}" == "--bench" ]]; then
  wanted+=("${bench_packages[@]}")
fi

missing=()
for package in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$package")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
  "${missing[@]}" >/dev/null
