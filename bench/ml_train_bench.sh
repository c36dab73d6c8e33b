#!/usr/bin/env bash
# Benchmark: `lockstep ml train` against Debian's python3-xgboost on the
# same data, side by side in one invocation. Not a test.
#
#   bench/ml_train_bench.sh [LOCKSTEP_BINARY]
#   env: ROWS (1000000), FEATURES (50), REPS (3), NTHREAD (2)
#
# Both sides train 100 rounds of depth-6 hist trees, learning rate 0.3,
# seed 0. Reports medians of training only (DMatrix + boosting; lockstep's
# --timings "train" phase vs the peer's DMatrix + xgb.train) and of end to
# end (lockstep's whole process vs the peer's np.loadtxt + training), the
# ratios lockstep/peer, and checks that lockstep's model bytes are the same
# in every repetition and with --nthread 1.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
lockstep=$(realpath "${1:-$here/../build/lockstep}")
rows=${ROWS:-1000000}
features=${FEATURES:-50}
reps=${REPS:-3}
nthread=${NTHREAD:-2}
python=/usr/bin/python3  # Debian's, where python3-xgboost lives.

work=$(mktemp -d "${TMPDIR:-/tmp}/ml-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

echo "generating $rows x $features ..." >&2
"$python" "$here/ml_bench_data.py" data.csv "$rows" "$features" 1
echo "data: $(du -h data.csv | cut -f1)" >&2

median() {
  sort -g | awk '{v[NR] = $1}
    END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
peer() {  # peer EXPR: evaluates EXPR on peer.json's object d
  "$python" -c "import json, sys; d = json.load(sys.stdin); print($1)" \
    <peer.json
}
now() { date +%s.%N; }

train_lockstep() {  # THREADS OUT: prints "wall load train"
  local start end timings
  start=$(now)
  "$lockstep" ml train --train data.csv --label label --model "$2" \
    --learning_rate 0.3 --n_estimators 100 --max_depth 6 --seed 0 \
    --tree_method hist --nthread "$1" --timings >/dev/null 2>timings.txt
  end=$(now)
  timings=$(grep -o 'load [0-9.]* s, train [0-9.]* s' timings.txt)
  echo "$(echo "$end - $start" | bc) $(echo "$timings" | awk '{print $2, $5}')"
}

: >lockstep.txt
for ((i = 1; i <= reps; i++)); do
  train_lockstep "$nthread" "model_$i.json" | tee -a lockstep.txt >&2
done
train_lockstep 1 model_1thread.json >/dev/null

echo "python3-xgboost ..." >&2
"$python" "$here/ml_train_peer.py" data.csv "$reps" "$nthread" >peer.json

identical=yes
for ((i = 2; i <= reps; i++)); do
  cmp -s model_1.json "model_$i.json" || identical=no
done
cmp -s model_1.json model_1thread.json && threads_same=yes || threads_same=no

ls_wall=$(awk '{print $1}' lockstep.txt | median)
ls_load=$(awk '{print $2}' lockstep.txt | median)
ls_train=$(awk '{print $3}' lockstep.txt | median)
py_load=$(peer 'd["load_seconds"]')
py_train=$(peer '"\n".join(map(str, d["train_seconds"]))' | median)
py_e2e=$(echo "$py_load + $py_train" | bc -l)

printf 'rows %s, features %s, repetitions %s, nthread %s, XGBoost %s\n' \
  "$rows" "$features" "$reps" "$nthread" \
  "$("$python" -c 'import xgboost; print(xgboost.__version__)')"
printf 'lockstep ml train  median: load %.2f s, train %.2f s, wall %.2f s\n' \
  "$ls_load" "$ls_train" "$ls_wall"
printf 'python3-xgboost    median: train %.2f s; np.loadtxt %.2f s (once)\n' \
  "$py_train" "$py_load"
printf 'ratio training only (lockstep / python): %.3f\n' \
  "$(echo "$ls_train / $py_train" | bc -l)"
printf 'ratio end to end    (lockstep / python): %.3f\n' \
  "$(echo "$ls_wall / $py_e2e" | bc -l)"
printf 'model bytes identical across %s runs: %s; nthread 1 vs %s: %s\n' \
  "$reps" "$identical" "$nthread" "$threads_same"
