# A failing step's stderr is stored whole but only its tail is read for
# the message: a 64 MB stderr used to be held in memory twice over.
source "$(dirname "$0")/lib.sh"

cat >big.yaml <<'YAML'
pipeline: big
steps:
  a:
    run: [sh, -c, 'head -c 64000000 /dev/zero | tr "\0" x >&2; echo last line >&2; exit 1']
YAML
expect_exit 1 /usr/bin/time -f "%M" -o rss.txt \
  "$LOCKSTEP" --json run big.yaml --sandbox none
expect_eq "$(json stdout.txt 'd["steps"][0]["message"][-10:]')" "xlast line" \
  "message tail"
expect_eq "$(json stdout.txt 'len(d["steps"][0]["message"])')" "638" \
  "message length (its last 600 bytes of stderr)"
# The whole 64000010 bytes are in the store.
expect_eq "$(find "$LOCKSTEP_STORE/blobs" -type f -size 64000010c | wc -l)" \
  1 "stderr blob"
# AddressSanitizer's quarantine keeps freed buffers resident, so the
# bound only holds for a normal build.
if [[ "$(ldd "$LOCKSTEP")" != *libasan* ]]; then
  rss_kb=$(tail -1 rss.txt)
  (( rss_kb < 48000 )) || fail "peak RSS ${rss_kb} KB for a 64 MB stderr"
fi
echo ok
