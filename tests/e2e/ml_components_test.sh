#!/usr/bin/env bash
# `lockstep ml split|train|evaluate` on breast_cancer.csv through the CLI:
# every output is byte-identical across two runs, the metrics are sane,
# and bad input fails with a clear message and the right exit code.
source "$(dirname "$0")/lib.sh"

data="$LOCKSTEP_SOURCE_DIR/tests/data/breast_cancer.csv"

run_pipeline() {
  local out=$1
  mkdir -p "$out"
  "$LOCKSTEP" ml split --input "$data" --label diagnosis \
    --test-fraction 0.2 --seed 42 --train "$out/train.csv" \
    --test "$out/test.csv" >/dev/null
  "$LOCKSTEP" ml train --train "$out/train.csv" --label diagnosis \
    --positive-label M --model "$out/model.json" --learning_rate 0.1 \
    --n_estimators 100 --max_depth 6 --seed 0 --min_child_weight 1 \
    >/dev/null
  "$LOCKSTEP" ml evaluate --model "$out/model.json" --test "$out/test.csv" \
    --label diagnosis --metrics "$out/metrics.json" >/dev/null
}

run_pipeline one
run_pipeline two
for file in train.csv test.csv model.json metrics.json; do
  cmp "one/$file" "two/$file" || fail "$file differs between two runs"
done

# 569 rows, 212 M: the test side holds round(42.4) + round(71.4) = 113.
expect_eq "$(($(wc -l <one/test.csv) - 1))" 113 "test rows"
expect_eq "$(($(wc -l <one/train.csv) - 1))" 456 "train rows"
expect_eq "$(json one/metrics.json 'd["n"]')" 113 "metrics n"
expect_eq "$(json one/metrics.json 'd["roc_auc"] > 0.95')" True "ROC AUC"
expect_eq "$(json one/metrics.json \
  'd["confusion_matrix"]["tp"] + d["confusion_matrix"]["fn"]')" 42 \
  "malignant rows in the test side"

# Two threads give the same model bytes as one.
"$LOCKSTEP" ml train --train one/train.csv --label diagnosis \
  --positive-label M --model threads2.json --learning_rate 0.1 \
  --n_estimators 100 --max_depth 6 --seed 0 --min_child_weight 1 \
  --nthread 2 >/dev/null
cmp one/model.json threads2.json || fail "model differs with --nthread 2"

# Errors: no positive label, an unknown parameter, a non-numeric cell.
expect_exit 3 "$LOCKSTEP" ml train --train one/train.csv --label diagnosis \
  --model m.json
expect_contains stderr.txt "pass --positive-label"
expect_exit 3 "$LOCKSTEP" ml train --train one/train.csv --label diagnosis \
  --positive-label M --model m.json --max_dept 3
expect_contains stderr.txt "does not know the parameter --max_dept"
sed '3s/^[^,]*,/oops,/' one/train.csv >bad.csv
expect_exit 3 "$LOCKSTEP" ml train --train bad.csv --label diagnosis \
  --positive-label M --model m.json
expect_contains stderr.txt \
  "bad.csv:3: column 'mean_radius': not a finite number: 'oops'"
[[ ! -e m.json ]] || fail "a failed train left a model behind"

# Found by a tester: a label column named twice crashed train (SIGSEGV)
# and made evaluate print heap bytes as a column name; a feature named
# twice was trained on. All three commands give split's message.
printf 'x,diagnosis,diagnosis\n1,M,B\n3,B,M\n' >duplab.csv
printf 'x,x,diagnosis\n1,2,M\n3,4,B\n' >dupfeat.csv
for pair in duplab.csv:diagnosis dupfeat.csv:x; do
  file=${pair%%:*}
  message="lockstep: error: $file:1: duplicate column name '${pair#*:}'"
  expect_exit 3 "$LOCKSTEP" ml split --input "$file" --label diagnosis \
    --train tr.csv --test te.csv
  expect_contains stderr.txt "$message"
  expect_exit 3 "$LOCKSTEP" ml train --train "$file" --label diagnosis \
    --positive-label M --model m.json
  expect_contains stderr.txt "$message"
  expect_exit 3 "$LOCKSTEP" ml evaluate --model one/model.json \
    --test "$file" --metrics m.json
  expect_contains stderr.txt "$message"
done
[[ ! -e m.json && ! -e tr.csv ]] || fail "a refused command wrote a file"

# --json summaries parse.
"$LOCKSTEP" ml evaluate --model one/model.json --test one/test.csv \
  --metrics again.json --json >summary.json
expect_eq "$(json summary.json 'd["positive_label"]')" M "json summary"
cmp one/metrics.json again.json || fail "metrics differ"
# Found by a tester: an output path that names an input or another output
# replaced it (split cut its input to the train rows, train wrote the
# model over the training CSV). Every spelling is refused, nothing is
# written, and the message names both flags.
mkdir -p same
cp one/train.csv same/data.csv
cp one/model.json same/model.json
ln same/data.csv same/hard.csv
ln -s data.csv same/soft.csv
kept=$(sha256sum <same/data.csv)
for output in same/data.csv ./same/../same/data.csv same/hard.csv \
  same/soft.csv; do
  expect_exit 3 "$LOCKSTEP" ml split --input same/data.csv \
    --label diagnosis --train "$output" --test same/te.csv
  expect_contains stderr.txt "--input same/data.csv and --train $output"
  expect_exit 3 "$LOCKSTEP" ml split --input same/data.csv \
    --label diagnosis --train same/tr.csv --test "$output"
  expect_contains stderr.txt "--test $output name the same file"
  expect_exit 3 "$LOCKSTEP" ml train --train same/data.csv \
    --label diagnosis --positive-label M --model "$output"
  expect_contains stderr.txt "--train same/data.csv and --model $output"
  expect_exit 3 "$LOCKSTEP" ml evaluate --model same/model.json \
    --test same/data.csv --metrics "$output"
  expect_contains stderr.txt "--test same/data.csv and --metrics $output"
done
expect_eq "$(sha256sum <same/data.csv)" "$kept" "the input after refusals"
expect_exit 3 "$LOCKSTEP" ml evaluate --model same/model.json \
  --test same/data.csv --metrics same/model.json
expect_contains stderr.txt "--model same/model.json and --metrics"
cmp one/model.json same/model.json || fail "evaluate replaced its model"
# Two outputs not made yet, spelled two ways.
expect_exit 3 "$LOCKSTEP" ml split --input same/data.csv --label diagnosis \
  --train same/new.csv --test ./same/new.csv
expect_contains stderr.txt "--train same/new.csv and --test ./same/new.csv"
[[ ! -e same/te.csv && ! -e same/tr.csv && ! -e same/new.csv ]] ||
  fail "a refused command wrote a file"
echo "ok"
