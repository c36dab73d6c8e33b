# The audit: a signed manifest verifies and lists what it pins; one changed
# byte fails with the field named; a wrong key fails.
source "$(dirname "$0")/lib.sh"

cat >p.yaml <<'YAML'
pipeline: audit
params:
  seed: 7
steps:
  make:
    run: [sh, -c, "echo ${{ params.seed }} >outputs/o"]
    outputs: {o: Model}
YAML
"$LOCKSTEP" run p.yaml --json >run.json 2>/dev/null
manifest=$(json run.json 'd["manifest"]')
cp "$manifest" m.json

"$LOCKSTEP" keygen --output alice >/dev/null
"$LOCKSTEP" keygen --output mallory >/dev/null
expect_exit 0 "$LOCKSTEP" manifest sign m.json --key alice.key
[[ -f m.json.sig ]] || fail "no detached signature"

expect_exit 0 "$LOCKSTEP" manifest verify m.json --key alice.pub --json
expect_eq "$(json stdout.txt 'd["valid"]')" True "valid"
expect_eq "$(json stdout.txt 'd["pins"]["seeds"]["seed"]')" 7 "pinned seed"
expect_eq "$(json stdout.txt 'd["pins"]["outputs"]["make.o"]')" \
  "$(json run.json 'd["steps"][0]["outputs"]["o"]')" "pinned output"

# A wrong key fails the signature check.
expect_exit 1 "$LOCKSTEP" manifest verify m.json --key mallory.pub
expect_contains stderr.txt "different key"

# One byte changed in a param fails the hash, naming the field.
sed 's/"value":7/"value":8/' m.json >t.json
cp m.json.sig t.json.sig
expect_exit 1 "$LOCKSTEP" manifest verify t.json
expect_contains stderr.txt "changed field(s): params"
expect_exit 1 "$LOCKSTEP" manifest verify t.json --key alice.pub

# No signature while a key is demanded: exit 2.
cp m.json u.json
expect_exit 2 "$LOCKSTEP" manifest verify u.json --key alice.pub
echo "manifest verify: ok"

# The manifest follows the JSON Schema shipped in docs/.
/usr/bin/python3 - "$manifest" \
  "$LOCKSTEP_SOURCE_DIR/docs/manifest.schema.json" <<'PY' ||
import json, sys, jsonschema
jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))
PY
  fail "the manifest does not follow docs/manifest.schema.json"
echo "manifest schema: ok"

# Found by a tester: a manifest no reader accepts (an unknown version,
# another kind, no steps, an unknown status) verified, exit 0, once its
# hashes were recomputed. Each edit is re-hashed as docs/manifest.md
# defines it (RFC 8785 has no floats to format here), so only its shape
# is wrong.
/usr/bin/python3 - "$manifest" <<'PY'
import hashlib, json, sys
def canonical(value):
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" +
                              canonical(value[k]) for k in keys) + "}"
    if isinstance(value, list):
        return "[" + ",".join(canonical(v) for v in value) + "]"
    assert not isinstance(value, float)
    return json.dumps(value, ensure_ascii=False)
def sha(text):
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
edits = {"v99": ("manifest_version", 99), "vstr": ("manifest_version", "1"),
         "kind": ("kind", "something.else"), "nosteps": ("steps", None),
         "status": ("status", "weird"), "same": ("status", "succeeded")}
for name, (field, value) in edits.items():
    d = json.load(open(sys.argv[1]))
    d.pop("manifest_hash")
    if value is None:
        d.pop(field)
    else:
        d[field] = value
    d["field_hashes"] = {k: sha(canonical(v)) for k, v in d.items()
                         if k != "field_hashes"}
    d["manifest_hash"] = sha(canonical(d))
    open(name + ".json", "w").write(canonical(d) + "\n")
PY
expect_exit 0 "$LOCKSTEP" manifest verify same.json
for edited in v99 vstr kind nosteps status; do
  expect_exit 1 "$LOCKSTEP" manifest verify "$edited.json"
  expect_exit 3 "$LOCKSTEP" reproduce "$edited.json"
done
expect_exit 1 "$LOCKSTEP" manifest verify status.json --json
expect_contains stdout.txt "status: 'weird' is not one of succeeded, failed"
echo "manifest shape: ok"

# Found by a tester: a missing file was named twice ("/nonexistent:
# /nonexistent: No such file or directory").
expect_exit 2 "$LOCKSTEP" manifest verify nosuch.json
expect_eq "$(cat stderr.txt)" \
  "lockstep: error: nosuch.json: No such file or directory" "missing file"
echo "missing manifest: ok"
