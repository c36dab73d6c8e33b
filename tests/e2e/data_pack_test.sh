#!/usr/bin/env bash
# Folder snapshots pack their small files (store/pack.h): the digests are
# the same as loose blobs would have, export rebuilds the folder exactly,
# verify names the file whose bytes rotted inside a pack, and gc removes
# a pack only when none of its blobs is kept.
source "$(dirname "$0")/lib.sh"

packs() { ls "$LOCKSTEP_STORE/packs" 2>/dev/null | sort; }
loose() {  # loose FILE: whether FILE's bytes are a loose blob
  local hex
  hex=$(sha256sum "$1" | cut -d' ' -f1)
  [[ -e "$LOCKSTEP_STORE/blobs/sha256/${hex:0:2}/$hex" ]]
}

# 300 small files in 3 folders, one file over the 64 KiB pack limit.
for d in 1 2 3; do
  mkdir -p live/d$d
  for f in $(seq 100); do echo "live $d $f" >live/d$d/f$f; done
done
head -c 70000 /dev/zero | tr '\0' 'z' >live/big.bin
expect_exit 0 "$LOCKSTEP" data snapshot live --name live --json
cp stdout.txt live.json
expect_eq "$(json live.json 'd["file_count"]')" 301 "file count"
# One pack per hashing thread at most (the machine's cores).
n=$(packs | wc -l)
(( n >= 1 && n <= $(nproc) )) || fail "$n packs"
loose live/d1/f1 && fail "a small file was stored loose"
loose live/big.bin || fail "the big file was not stored loose"

# The tree blob (whose digest is the folder's) stays loose.
tree=$(json live.json 'd["digest"]')
[[ -f "$LOCKSTEP_STORE/blobs/sha256/${tree:7:2}/${tree:7}" ]] ||
  fail "tree blob not loose"

# Export equals the source; verify passes.
expect_exit 0 "$LOCKSTEP" data export live@1 out
diff -r live out || fail "export differs from the source"
expect_exit 0 "$LOCKSTEP" data verify live@1

# A rotted byte inside the pack: verify names the file and the pack.
pack=$(grep -l "live 2 57" "$LOCKSTEP_STORE"/packs/*.pack)
chmod u+w "$pack"
python3 - "$pack" <<'PY'
import sys
path = sys.argv[1]
data = bytearray(open(path, "rb").read())
at = data.index(b"live 2 57\n")
data[at] ^= 1
open(path, "wb").write(bytes(data))
PY
expect_exit 1 "$LOCKSTEP" data verify live@1
expect_contains stdout.txt "d2/f57"
expect_contains stdout.txt "in pack $(basename "$pack")"
expect_exit 4 "$LOCKSTEP" data export live@1 out2
[[ ! -e out2 ]] || fail "a failed export left a folder"

# Re-snapshotting the folder writes the rotted file again (a new pack);
# reads then take the copy that verifies.
touch live/d2/f57
expect_exit 0 "$LOCKSTEP" data snapshot live --name live -q
expect_eq "$(packs | wc -l)" $((n + 1)) "a new pack for the rewritten file"
expect_exit 0 "$LOCKSTEP" data verify live@2
expect_exit 0 "$LOCKSTEP" data verify live@1

# gc: a pack whose blobs nothing keeps goes; one with a kept blob stays
# whole. `gone` expires; `mixed` expires too, but `keep` (live) holds a
# copy of one of its files, so its pack stays.
before=$(packs)
mkdir gone mixed keep
for f in $(seq 5); do echo "gone $f" >gone/g$f; echo "mixed $f" >mixed/m$f; done
cp mixed/m1 keep/m1
expect_exit 0 "$LOCKSTEP" data snapshot gone --name gone --expires 1s
gone_pack=$(comm -13 <(echo "$before") <(packs))
expect_exit 0 "$LOCKSTEP" data snapshot mixed --name mixed --expires 1s
mixed_pack=$(comm -13 <(printf "%s\n" "$before" "$gone_pack" | sort) <(packs))
expect_exit 0 "$LOCKSTEP" data snapshot keep --name keep
expect_eq "$(packs | wc -l)" $((n + 3)) "packs before gc"
[[ -n "$gone_pack" && -n "$mixed_pack" ]] || fail "packs not found"
sleep 1.1
expect_exit 0 "$LOCKSTEP" gc --grace 0s --json
expect_eq "$(json stdout.txt 'd["packsRemoved"]')" 1 "one pack removed"
[[ ! -e "$LOCKSTEP_STORE/packs/$gone_pack" ]] || fail "dead pack kept"
[[ -e "$LOCKSTEP_STORE/packs/$mixed_pack" ]] ||
  fail "pack with a live blob removed"
# The dead bytes kept: mixed's m2..m5, 8 bytes each.
expect_eq "$(json stdout.txt 'd["deadBytesInKeptPacks"]')" 32 "dead bytes"
expect_exit 0 "$LOCKSTEP" data verify keep@1
expect_exit 0 "$LOCKSTEP" data verify live@2
echo "data_pack_test: ok"
