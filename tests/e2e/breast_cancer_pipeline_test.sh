# The walking skeleton end to end: run the example pipeline on the real
# data, run it again from cache, change one param, reproduce the manifest,
# and survive a corrupted model blob.
source "$(dirname "$0")/lib.sh"

cp -r "$LOCKSTEP_SOURCE_DIR/examples/breast-cancer" .
pipeline=breast-cancer/pipeline.yaml

# First run: every step runs.
"$LOCKSTEP" run "$pipeline" --json >first.json 2>first.err
expect_eq "$(json first.json 'd["status"]')" succeeded "first run status"
expect_eq "$(json first.json '" ".join(s["state"] for s in d["steps"])')" \
  "ran ran ran ran ran" "first run states"
manifest=$(json first.json 'd["manifest"]')
[[ -f "$manifest" ]] || fail "manifest $manifest missing"

# The snapshot pins the real file: its sha256 as sha256sum computes it.
want_digest="sha256:$(sha256sum breast-cancer/data/breast_cancer.csv | cut -d' ' -f1)"
expect_eq "$(json "$manifest" 'd["data"][0]["digest"]')" "$want_digest" \
  "snapshot digest"
expect_eq "$(json "$manifest" 'd["data"][0]["rows"]')" 569 "snapshot rows"

# The metrics are sane for this well-known data set.
metrics_digest=$(json first.json \
  '[s for s in d["steps"] if s["name"]=="evaluate"][0]["outputs"]["metrics"]')
metrics_file="$LOCKSTEP_STORE/blobs/sha256/${metrics_digest:7:2}/${metrics_digest:7}"
auc=$(json "$metrics_file" 'd["roc_auc"]')
python3 -c "import sys; sys.exit(0 if float('$auc') > 0.95 else 1)" ||
  fail "ROC AUC $auc is not above 0.95"

# Second run: everything from cache, same outputs.
"$LOCKSTEP" run "$pipeline" --json >second.json 2>/dev/null
expect_eq "$(json second.json '" ".join(s["state"] for s in d["steps"])')" \
  "reused cached cached cached cached" "second run states"
expect_eq "$(json second.json '[s["outputs"] for s in d["steps"]]')" \
  "$(json first.json '[s["outputs"] for s in d["steps"]]')" "cached outputs"

# One hyperparameter changed: only train and evaluate run again.
"$LOCKSTEP" run "$pipeline" -p max_depth=4 --explain --json >depth.json \
  2>/dev/null
expect_eq "$(json depth.json '" ".join(s["state"] for s in d["steps"])')" \
  "reused cached cached ran ran" "max_depth=4 states"
expect_eq "$(json depth.json \
  '[s for s in d["steps"] if s["name"]=="train"][0]["explain"][0]')" \
  "param max_depth 6 -> 4" "explain names the param"

# Reproduce the first manifest: every step identical, exit 0.
expect_exit 0 "$LOCKSTEP" reproduce "$manifest" --json
expect_eq "$(json stdout.txt 'd["reproduced"]')" True "reproduced"
expect_eq "$(json stdout.txt '[s["identical"] for s in d["steps"]]')" \
  "[True, True, True, True, True]" "every step identical"

# Flip one byte of the stored model: a cached run must not reuse it.
model_digest=$(json first.json \
  '[s for s in d["steps"] if s["name"]=="train"][0]["outputs"]["model"]')
model_blob="$LOCKSTEP_STORE/blobs/sha256/${model_digest:7:2}/${model_digest:7}"
chmod u+w "$model_blob"
printf '\x00' | dd of="$model_blob" bs=1 seek=10 count=1 conv=notrunc \
  2>/dev/null
"$LOCKSTEP" run "$pipeline" --json >after_flip.json 2>/dev/null
expect_eq "$(json after_flip.json '" ".join(s["state"] for s in d["steps"])')" \
  "reused cached cached ran cached" "states after a corrupt model"
expect_eq "$(json after_flip.json \
  '[s for s in d["steps"] if s["name"]=="train"][0]["outputs"]["model"]')" \
  "$model_digest" "re-trained model has the original digest"
expect_exit 0 "$LOCKSTEP" reproduce "$manifest"
expect_contains stdout.txt "reproduced: bit-identical"
echo "breast cancer pipeline: ok"
