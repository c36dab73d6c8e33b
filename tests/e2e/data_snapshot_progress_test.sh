#!/usr/bin/env bash
# Progress of a folder snapshot on a terminal. Its total is not known
# while the folder is walked, and with no total every file was drawn: a
# tester's 3,001 files gave 3,001 frames ("1/0 files" ... "3000/0 files",
# 160 KB of escape codes). Now at most ten frames a second, and a count
# alone until there is a total.
source "$(dirname "$0")/lib.sh"
command -v script >/dev/null || { echo "skipped: no script(1)"; exit 0; }

mkdir folder
python3 - <<'PY'
for i in range(3000):
    with open(f"folder/f{i:04d}.txt", "w") as f:
        f.write(f"{i}\n")
PY
script -qc "$LOCKSTEP data snapshot folder --name many" /dev/null \
  >tty.txt 2>&1 || fail "the snapshot failed: $(cat tty.txt)"
expect_contains tty.txt "snapshot many@1"
if grep -q '/0 files' tty.txt; then fail "a total of 0 was drawn"; fi
# One frame starts with the erase-line code; the snapshot takes well
# under the 150 s that 1,500 frames at ten a second would need.
frames=$(grep -o $'\e\\[2K' tty.txt | wc -l)
(( frames < 1500 )) || fail "$frames frames for 3,000 files"
echo "data snapshot progress: ok ($frames frames)"
