#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ with clang into build-fuzz/: the
# module libraries get coverage instrumentation plus ASan and UBSan
# (-fsanitize=fuzzer-no-link), and each fuzz/*_fuzzer.cc links libFuzzer's
# main. With --run SECONDS it then runs every target for that long on its
# seed corpus in fuzz/corpus/<target>/ (new inputs go to a scratch copy, so
# the checked-in corpus stays small). See docs/testing.md.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${FUZZ_BUILD_DIR:-$root/build-fuzz}
jobs=${JOBS:-2}
run_seconds=
if [[ ${1:-} == --run ]]; then
  run_seconds=${2:?"--run needs a number of seconds"}
fi

if ! command -v clang++ >/dev/null; then
  echo "build-fuzzers: clang++ not found (scripts/install-deps.sh)" >&2
  exit 1
fi

sanitizers="-fsanitize=fuzzer-no-link,address,undefined"
sanitizers+=" -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
CC=clang CXX=clang++ cmake -S "$root" -B "$build_dir" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DLOCKSTEP_FUZZ=ON -DLOCKSTEP_BENCH=OFF \
  -DCMAKE_C_FLAGS="$sanitizers" -DCMAKE_CXX_FLAGS="$sanitizers" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null

# Only the fuzzers (and the libraries they link), not the whole suite.
targets=()
for source in "$root"/fuzz/*_fuzzer.cc; do
  targets+=("$(basename "$source" .cc)")
done
cmake --build "$build_dir" -j "$jobs" --target "${targets[@]}"
echo "built: ${targets[*]} in $build_dir"

[[ -z $run_seconds ]] && exit 0
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=0
for target in "${targets[@]}"; do
  name=${target%_fuzzer}
  mkdir -p "$scratch/$name"
  seeds=()
  [[ -d $root/fuzz/corpus/$name ]] && seeds=("$root/fuzz/corpus/$name")
  echo "== $target for ${run_seconds}s"
  if ! (cd "$scratch" &&
        "$build_dir/fuzz/$target" -max_total_time="$run_seconds" \
        -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 \
        "$scratch/$name" "${seeds[@]}" 2>"$scratch/$name.log"); then
    failed=1
    tail -40 "$scratch/$name.log" >&2
    cp "$scratch"/crash-* "$scratch"/leak-* "$scratch"/timeout-* \
      "$build_dir/" 2>/dev/null || true
  fi
  grep -E "^stat::(number_of_executed_units|new_units_added)|cov:" \
    "$scratch/$name.log" | tail -3 || true
done
exit $failed
