# Folder outputs and inputs: a folder output is stored as a reproducible
# tar (same bytes whatever the times), consumers see it unpacked and
# read-only, and its key digest covers names, exec bits and symlinks.
source "$(dirname "$0")/lib.sh"

cat >p.yaml <<'YAML'
pipeline: folders
steps:
  make:
    run: [sh, -c, 'mkdir -p outputs/tree/sub && cp gen/* outputs/tree/ && echo deep > outputs/tree/sub/d.txt && ln -s a.txt outputs/tree/link']
    code: [gen]
    outputs:
      tree: Dataset
  use:
    run: [sh, -c, 'ls -l inputs/tree | tail -n +2 | cut -c1-10 > outputs/listing; cat inputs/tree/link inputs/tree/sub/d.txt >> outputs/listing']
    inputs:
      tree: {from: make.tree, type: Dataset}
    outputs:
      listing: Artifact
YAML
mkdir gen
echo alpha >gen/a.txt
echo 'echo hi' >gen/run.sh
run() {
  "$LOCKSTEP" run p.yaml --sandbox none --json "$@" >run.json 2>run.err ||
    { cat run.err >&2; fail "run $* failed"; }
  json run.json '" ".join(s["name"] + "=" + s["state"] for s in d["steps"])'
}
out_of() {
  json run.json "[s for s in d['steps'] if s['name']=='$1'][0]['outputs']['$2']"
}
blob() { echo "$LOCKSTEP_STORE/blobs/sha256/${1:7:2}/${1:7}"; }

expect_eq "$(run)" "make=ran use=ran" "first run"
tree=$(out_of make tree)
# The tar lists sorted entries with zero times and owners (GNU tar).
tar --numeric-owner -tvf "$(blob "$tree")" | awk '{print $1, $2, $6}' \
  >listing.txt
expect_eq "$(cat listing.txt)" "-rw-r--r-- 0/0 a.txt
lrwxrwxrwx 0/0 link
-rw-r--r-- 0/0 run.sh
drwxr-xr-x 0/0 sub/
-rw-r--r-- 0/0 sub/d.txt" "tar listing"
expect_eq "$(cat "$(blob "$(out_of use listing)")")" "-r--r--r--
lrwxrwxrwx
-r--r--r--
dr-xr-xr-x
alpha
deep" "consumer view"

# Same content with new times: same digest; both steps cached.
touch -d '2001-01-01' gen/a.txt
expect_eq "$(run)" "make=cached use=cached" "touched code"
expect_eq "$(run --no-cache)" "make=ran use=ran" "no-cache"
expect_eq "$(out_of make tree)" "$tree" "reproducible tar digest"

# u+x on a file inside the folder changes the folder's digest: the
# consumer misses too.
chmod u+x gen/run.sh
expect_eq "$(run --explain)" "make=ran use=ran" "exec bit"
[[ "$(out_of make tree)" != "$tree" ]] || fail "exec bit kept the digest"
expect_contains run.json "input tree sha256:"

# Type mismatch between an input's declared type and the producer's.
sed -i 's/type: Dataset}/type: Model}/' p.yaml
expect_exit 3 "$LOCKSTEP" validate p.yaml
expect_contains stderr.txt "p.yaml:11:13: input 'tree' expects Model but make.tree is Dataset"
echo ok
