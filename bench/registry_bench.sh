#!/usr/bin/env bash
# Lockstep's registry side by side with Debian's docker-registry
# (distribution 2.8) on loopback, skopeo as the client for both:
#   - push and pull of an image with 200 small layers (and, with --large,
#     of a 1 GiB single-layer image), as throughput ratios;
#   - blob HEAD requests per second from ApacheBench (`ab -i`, from
#     apache2-utils): wrk completes no HEAD request whose response carries
#     a Content-Length (it waits for a body that never comes), so it
#     cannot measure this;
#   - peak resident memory (VmHWM) of both servers;
#   - CPU time (user + system, from /proc/PID/stat) each server spent
#     serving the push and the pull: skopeo's own work (and, on pull, its
#     fsyncs) is in every wall-clock time, so the wall-clock ratio is
#     bounded by the client, while the CPU ratio is the servers' own;
#   - skopeo's own CPU time (user + system) for every pull;
#   - as extra rows beside the default ones ("push, skopeo cache on
#     tmpfs" and "pull, skopeo on tmpfs"), the same copies with skopeo's
#     blob-info cache (/var/lib/containers/cache, a BoltDB it fdatasyncs
#     about six times per layer) and, on pull, its destination on fresh
#     tmpfs mounts, in a private mount namespace (unshare -m, so needs
#     root): the disk's share of skopeo's work taken out, equally for
#     both servers. The push row also starts from an empty cache each
#     time. The default rows keep skopeo as it is: destination in $TMPDIR,
#     the machine's own persistent cache.
# Each push/pull case runs REPS times (default 3) against fresh servers
# with empty storage; medians are reported.
#
#   scripts/install-deps.sh --bench
#   bench/registry_bench.sh [--large] [--reps N] [--lockstep build/lockstep]
#   bench/registry_bench.sh --against OTHER_LOCKSTEP [--reps N]
#   bench/registry_bench.sh --layer-counts [--reps N]
#   bench/registry_bench.sh --wire
# The second form compares two lockstep binaries (a branch and main) on
# the push of the 200-layer image alone, alternated in each of N rounds
# on fresh servers, and prints each one's median push time. The third
# pushes images of 50, 100, 200 and 400 small layers to both servers and
# prints, for each count, the median wall times, their ratio and skopeo's
# own CPU time: what the client costs as the layer count grows, which no
# server can take off the wall-clock time. The fourth captures one push
# and one pull of the 200-layer image per server with tcpdump and splits
# each between the server's time on the wire and the client's
# (bench/registry_wire_time.py), then the ratio to docker-registry that a
# server answering in no time would reach: the most skopeo lets any
# server show.
set -euo pipefail

lockstep=build/lockstep
reps=3
large=0
against=""
layer_counts=0
wire=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --large) large=1 ;;
    --reps) reps=$2; shift ;;
    --lockstep) lockstep=$2; shift ;;
    --against) against=$(realpath "$2"); shift ;;
    --layer-counts) layer_counts=1 ;;
    --wire) wire=1 ;;
    *) echo "unknown flag $1" >&2; exit 64 ;;
  esac
  shift
done
lockstep=$(realpath "$lockstep")
work=$(mktemp -d "${TMPDIR:-/tmp}/registry-bench.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_up() {
  for _ in $(seq 1 200); do
    curl -s -o /dev/null "http://$1/v2/" && return 0
    sleep 0.05
  done
  echo "server at $1 did not start" >&2
  exit 1
}

# start_server KIND: starts a fresh server, sets ADDR and PID.
start_server() {
  local kind=$1 port binary=${2:-$lockstep}
  port=$(free_port)
  ADDR="127.0.0.1:$port"
  local dir="$work/$kind-$RANDOM$RANDOM"
  mkdir -p "$dir"
  if [[ $kind == lockstep ]]; then
    "$binary" registry serve --quiet --store "$dir/store" \
      --listen "$ADDR" >"$dir/log" 2>&1 &
  else
    # Our own config: loopback only, storage in the temp folder.
    cat >"$dir/config.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: $ADDR
YAML
    docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
  fi
  PID=$!
  pids+=("$PID")
  wait_up "$ADDR"
}

peak_rss_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
# cpu_seconds PID: user + system CPU time the process has used so far.
ticks=$(getconf CLK_TCK)
cpu_seconds() {
  awk -v t="$ticks" '{printf "%.3f\n", ($14 + $15) / t}' "/proc/$1/stat"
}

# make_layout DIR LAYERS BYTES_PER_LAYER
make_layout() {
  python3 - "$@" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile
root, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
blobs = os.path.join(root, "blobs", "sha256")
os.makedirs(blobs, exist_ok=True)
def put_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    digest = h.hexdigest()
    os.replace(path, os.path.join(blobs, digest))
    return "sha256:" + digest, os.path.getsize(os.path.join(blobs, digest))
layers, diff_ids = [], []
for i in range(count):
    tmp = os.path.join(root, "layer.tmp")
    # Random bytes do not compress: the layer is about `size` bytes.
    with open(tmp, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0,
                           compresslevel=1) as gz:
            with tarfile.open(fileobj=gz, mode="w") as t:
                info = tarfile.TarInfo(f"f{i}")
                info.size = size
                class R(io.RawIOBase):
                    left = size
                    def readable(self):
                        return True
                    def readinto(self, b):
                        n = min(len(b), self.left, 1 << 20)
                        b[:n] = os.urandom(n)
                        self.left -= n
                        return n
                t.addfile(info, io.BufferedReader(R()))
    digest, length = put_file(tmp)
    diff_ids.append(digest)  # not checked by registries
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                   "digest": digest, "size": length})
config = json.dumps({"architecture": "amd64", "os": "linux",
                     "rootfs": {"type": "layers", "diff_ids": diff_ids}})
path = os.path.join(root, "config.tmp")
open(path, "w").write(config)
cdigest, csize = put_file(path)
manifest = json.dumps({"schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
               "digest": cdigest, "size": csize}, "layers": layers})
path = os.path.join(root, "manifest.tmp")
open(path, "w").write(manifest)
mdigest, msize = put_file(path)
json.dump({"schemaVersion": 2, "manifests": [{
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "digest": mdigest, "size": msize,
    "annotations": {"org.opencontainers.image.ref.name": "bench"}}]},
    open(os.path.join(root, "index.json"), "w"))
open(os.path.join(root, "oci-layout"), "w").write('{"imageLayoutVersion":"1.0.0"}')
print(layers[0]["digest"])
PY
}

now() { date +%s.%N; }

# skopeo_copy TIMES ARGS...: `skopeo copy -q ARGS`, writing "WALL CPU"
# (seconds; CPU is skopeo's user + system) to the file TIMES.
skopeo_copy() {
  local times=$1
  shift
  local TIMEFORMAT='%R %U %S'
  { time skopeo copy -q "$@" 2>"$times.err"; } 2>"$times.raw" ||
    { cat "$times.err" >&2; exit 1; }
  awk '{printf "%s %.3f\n", $1, $2 + $3}' "$times.raw" >"$times"
}

skopeo_cache=/var/lib/containers/cache
tmpfs_row=0
if [[ $EUID == 0 ]] && unshare --mount true 2>/dev/null; then
  tmpfs_row=1
  mkdir -p "$skopeo_cache"
else
  echo "not root: no 'skopeo on tmpfs' row (it needs unshare -m)" >&2
fi

# skopeo_tmpfs TIMES SOURCE DEST: copies SOURCE to DEST as skopeo_copy
# does, with skopeo's blob-info cache on a fresh tmpfs mount that exists
# only in a private mount namespace. DEST, when it is an `oci:` layout, is
# on a fresh tmpfs too. Only the copy is timed.
skopeo_tmpfs() {
  local dest="$work/copied-tmpfs"
  mkdir -p "$dest"
  unshare --mount --propagation private bash -c '
    set -e
    mount -t tmpfs bench-cache "$4"
    mount -t tmpfs bench-dest "$5"
    target=$3
    [[ $target == oci:* ]] && target="oci:$5/image:bench"
    TIMEFORMAT="%R %U %S"
    { time skopeo copy -q --src-tls-verify=false --dest-tls-verify=false \
        "$2" "$target" 2>"$1.err"; } 2>"$1.raw"
  ' _ "$1" "$2" "$3" "$skopeo_cache" "$dest" ||
    { cat "$1.err" >&2; exit 1; }
  awk '{printf "%s %.3f\n", $1, $2 + $3}' "$1.raw" >"$1"
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# run_case NAME LAYOUT BYTES: prints "NAME push_ls pull_ls push_dr pull_dr"
# (seconds, medians over the reps).
declare -A rss
run_case() {
  local name=$1 layout=$2
  local kind t0 t1
  local c0 c1
  declare -A push pull push_cpu pull_cpu pull_skopeo tpull tpull_skopeo tpush
  for kind in lockstep docker; do
    push[$kind]=""
    pull[$kind]=""
    push_cpu[$kind]=""
    pull_cpu[$kind]=""
    pull_skopeo[$kind]=""
    tpull[$kind]=""
    tpush[$kind]=""
    tpull_skopeo[$kind]=""
  done
  local times="$work/times"
  for rep in $(seq 1 "$reps"); do
    for kind in lockstep docker; do
      start_server "$kind"
      c0=$(cpu_seconds "$PID")
      t0=$(now)
      skopeo copy -q --dest-tls-verify=false "oci:$layout:bench" \
        "docker://$ADDR/bench/$name:v1"
      t1=$(now)
      c1=$(cpu_seconds "$PID")
      push[$kind]+="$(echo "$t1 - $t0" | bc) "
      push_cpu[$kind]+="$(echo "$c1 - $c0" | bc) "
      rm -rf "$work/pulled"
      c0=$(cpu_seconds "$PID")
      skopeo_copy "$times" --src-tls-verify=false \
        "docker://$ADDR/bench/$name:v1" "oci:$work/pulled:bench"
      c1=$(cpu_seconds "$PID")
      pull[$kind]+="$(cut -d' ' -f1 "$times") "
      pull_skopeo[$kind]+="$(cut -d' ' -f2 "$times") "
      pull_cpu[$kind]+="$(echo "$c1 - $c0" | bc) "
      if [[ $tmpfs_row == 1 ]]; then
        skopeo_tmpfs "$times" "docker://$ADDR/bench/$name:v1" oci:
        tpull[$kind]+="$(cut -d' ' -f1 "$times") "
        tpull_skopeo[$kind]+="$(cut -d' ' -f2 "$times") "
      fi
      local hwm
      hwm=$(peak_rss_kib "$PID")
      if [[ -z "${rss[$kind-$name]:-}" || $hwm -gt ${rss[$kind-$name]} ]]; then
        rss[$kind-$name]=$hwm
      fi
      kill "$PID"
      wait "$PID" 2>/dev/null || true
      if [[ $tmpfs_row == 1 ]]; then
        # A fresh server: on the first one every blob is already there.
        start_server "$kind"
        skopeo_tmpfs "$times" "oci:$layout:bench" \
          "docker://$ADDR/bench/$name:v1"
        tpush[$kind]+="$(cut -d' ' -f1 "$times") "
        kill "$PID"
        wait "$PID" 2>/dev/null || true
      fi
    done
  done
  local pl pd ql qd
  pl=$(tr ' ' '\n' <<<"${push[lockstep]}" | grep . | median)
  pd=$(tr ' ' '\n' <<<"${push[docker]}" | grep . | median)
  ql=$(tr ' ' '\n' <<<"${pull[lockstep]}" | grep . | median)
  qd=$(tr ' ' '\n' <<<"${pull[docker]}" | grep . | median)
  printf '%-14s push: lockstep %6.2fs  docker-registry %6.2fs  ratio %.2f\n' \
    "$name" "$pl" "$pd" "$(echo "$pd / $pl" | bc -l)"
  printf '%-14s pull: lockstep %6.2fs  docker-registry %6.2fs  ratio %.2f\n' \
    "$name" "$ql" "$qd" "$(echo "$qd / $ql" | bc -l)"
  if [[ $tmpfs_row == 1 ]]; then
    ratio_line "$name push, skopeo cache on tmpfs" \
      "${tpush[lockstep]}" "${tpush[docker]}"
    ratio_line "$name pull, skopeo on tmpfs" \
      "${tpull[lockstep]}" "${tpull[docker]}"
  fi
  cpu_line "$name push" "${push_cpu[lockstep]}" "${push_cpu[docker]}"
  cpu_line "$name pull" "${pull_cpu[lockstep]}" "${pull_cpu[docker]}"
  skopeo_line "$name pull" "${pull_skopeo[lockstep]}" "${pull_skopeo[docker]}"
  if [[ $tmpfs_row == 1 ]]; then
    skopeo_line "$name pull, tmpfs" \
      "${tpull_skopeo[lockstep]}" "${tpull_skopeo[docker]}"
  fi
}

# ratio_line LABEL LOCKSTEP_TIMES DOCKER_TIMES: medians of wall times.
ratio_line() {
  local tl td
  tl=$(tr ' ' '\n' <<<"$2" | grep . | median)
  td=$(tr ' ' '\n' <<<"$3" | grep . | median)
  printf '%s: lockstep %6.2fs  docker-registry %6.2fs  ratio %.2f\n' \
    "$1" "$tl" "$td" "$(echo "$td / $tl" | bc -l)"
}

# skopeo_line LABEL LOCKSTEP_TIMES DOCKER_TIMES: medians of skopeo's own
# CPU time while it pulled from each server.
skopeo_line() {
  local sl sd
  sl=$(tr ' ' '\n' <<<"$2" | grep . | median)
  sd=$(tr ' ' '\n' <<<"$3" | grep . | median)
  printf '%s skopeo CPU: lockstep %6.2fs  docker-registry %6.2fs\n' \
    "$1" "$sl" "$sd"
}

# cpu_line LABEL LOCKSTEP_TIMES DOCKER_TIMES: medians of server CPU time.
cpu_line() {
  local cl cd
  cl=$(tr ' ' '\n' <<<"$2" | grep . | median)
  cd=$(tr ' ' '\n' <<<"$3" | grep . | median)
  # A floor of one clock tick (10 ms) keeps the ratio finite.
  printf '%-19s server CPU: lockstep %6.2fs  docker-registry %6.2fs  ratio %.1f\n' \
    "$1" "$cl" "$cd" "$(echo "$cd / ($cl + ($cl < 0.01) * 0.01)" | bc -l)"
}

echo "building the test images in $work ..." >&2
make_layout "$work/small" 200 4096 >/dev/null

# push_ab: the 200-layer push with $lockstep and $against alternated.
push_ab() {
  local times_a="" times_b="" binary t0 t1
  for _ in $(seq 1 "$reps"); do
    for binary in "$lockstep" "$against"; do
      start_server lockstep "$binary"
      t0=$(now)
      skopeo copy -q --dest-tls-verify=false "oci:$work/small:bench" \
        "docker://$ADDR/bench/ab:v1"
      t1=$(now)
      kill "$PID"
      wait "$PID" 2>/dev/null || true
      if [[ $binary == "$lockstep" ]]; then
        times_a+="$(echo "$t1 - $t0" | bc) "
      else
        times_b+="$(echo "$t1 - $t0" | bc) "
      fi
    done
  done
  ratio_line "push, 200 small layers ($lockstep against $against)" \
    "$times_a" "$times_b" | sed 's/docker-registry/against/'
}
if [[ -n $against ]]; then
  push_ab
  exit 0
fi

# push_timed TIMES LAYOUT: pushes LAYOUT to the running server, appending
# "WALL SKOPEO_CPU" to the file TIMES.
push_timed() {
  skopeo_copy "$1.one" --dest-tls-verify=false "oci:$2:bench" \
    "docker://$ADDR/bench/count:v1"
  cat "$1.one" >>"$1"
}

# layer_count_rows: one row per layer count, each server pushed to REPS
# times from a fresh start.
layer_count_rows() {
  local count kind
  for count in 50 100 200 400; do
    make_layout "$work/layers-$count" "$count" 4096 >/dev/null
    for kind in lockstep docker; do : >"$work/times-$kind"; done
    for _ in $(seq 1 "$reps"); do
      for kind in lockstep docker; do
        start_server "$kind"
        push_timed "$work/times-$kind" "$work/layers-$count"
        kill "$PID"
        wait "$PID" 2>/dev/null || true
      done
    done
    local wl wd cl cd
    wl=$(cut -d' ' -f1 "$work/times-lockstep" | median)
    wd=$(cut -d' ' -f1 "$work/times-docker" | median)
    cl=$(cut -d' ' -f2 "$work/times-lockstep" | median)
    cd=$(cut -d' ' -f2 "$work/times-docker" | median)
    printf '%3d layers push: lockstep %6.2fs  docker-registry %6.2fs  ' \
      "$count" "$wl" "$wd"
    printf 'ratio %.2f  skopeo CPU %6.2fs / %6.2fs\n' \
      "$(echo "$wd / $wl" | bc -l)" "$cl" "$cd"
  done
}
if [[ $layer_counts == 1 ]]; then
  layer_count_rows
  exit 0
fi

# captured COPY_NAME SOURCE DEST: one `skopeo copy` under tcpdump on the
# running server's port, then the split of its time.
captured() {
  local pcap="$work/$1.pcap" port=${ADDR##*:} dump
  tcpdump -U -i lo -n -s 256 -w "$pcap" "tcp port $port" 2>/dev/null &
  dump=$!
  sleep 1  # tcpdump has no "ready" signal
  skopeo copy -q --src-tls-verify=false --dest-tls-verify=false "$2" "$3"
  sleep 2  # tcpdump reads behind: stopped at once, it loses the end
  kill -INT "$dump"
  wait "$dump" || true
  echo "$1:"
  python3 "$(dirname "$0")/registry_wire_time.py" "$pcap" "$port" |
    tee "$work/wire-$1.txt"
}

# wire_field COPY_NAME FIELD: the span (FIELD 2) or the server's time
# (FIELD 5), in seconds, of a capture `captured` split.
wire_field() {
  awk -v f="$2" '/^span/ {print $f; exit}' "$work/wire-$1.txt"
}

# The most any server could gain over docker-registry with this client:
# lockstep's time on the wire taken out of its copy entirely (a server
# that answers at once), the rest being skopeo's and the kernel's. For
# the pull, whose requests overlap, taking out their sum overstates the
# gain, so the figure stays an upper bound.
wire_bounds() {
  local copy rest
  for copy in push pull; do
    rest=$(echo "$(wire_field "lockstep $copy" 2) - \
      $(wire_field "lockstep $copy" 5)" | bc -l)
    printf '%s: skopeo and kernel %.3f s; a server answering at once ' \
      "$copy" "$rest"
    printf 'would be at most %.2fx docker-registry\n' \
      "$(echo "$(wire_field "docker $copy" 2) / $rest" | bc -l)"
  done
}

wire_rows() {
  local kind
  for kind in lockstep docker; do
    start_server "$kind"
    captured "$kind push" "oci:$work/small:bench" \
      "docker://$ADDR/bench/wire:v1"
    rm -rf "$work/pulled"
    captured "$kind pull" "docker://$ADDR/bench/wire:v1" \
      "oci:$work/pulled:bench"
    kill "$PID"
    wait "$PID" 2>/dev/null || true
  done
}
if [[ $wire == 1 ]]; then
  wire_rows
  wire_bounds
  exit 0
fi
run_case small-200 "$work/small"
if [[ $large == 1 ]]; then
  make_layout "$work/large" 1 $((1024 * 1024 * 1024)) >/dev/null
  run_case large-1gib "$work/large"
fi

# Blob HEAD requests per second (ab, keep-alive, 32 connections, 40000
# requests).
layer=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1]+"/index.json"))["manifests"][0]["digest"].split(":")[1]; print(json.load(open(sys.argv[1]+"/blobs/sha256/"+m))["layers"][0]["digest"])' "$work/small")
declare -A rate
for kind in lockstep docker; do
  start_server "$kind"
  skopeo copy -q --dest-tls-verify=false "oci:$work/small:bench" \
    "docker://$ADDR/bench/head:v1"
  code=$(curl -s -o /dev/null -w '%{http_code}' -I \
    "http://$ADDR/v2/bench/head/blobs/$layer")
  [[ $code == 200 ]] || { echo "HEAD answered $code on $kind" >&2; exit 1; }
  rate[$kind]=$(ab -q -i -k -c 32 -n 40000 \
    "http://$ADDR/v2/bench/head/blobs/$layer" |
    awk '/Requests per second/ {print $4}')
  hwm=$(peak_rss_kib "$PID")
  if [[ $hwm -gt ${rss[$kind-head]:-0} ]]; then rss[$kind-head]=$hwm; fi
  kill "$PID"
  wait "$PID" 2>/dev/null || true
done
printf 'blob HEAD      req/s: lockstep %8.0f  docker-registry %8.0f  ratio %.2f\n' \
  "${rate[lockstep]}" "${rate[docker]}" \
  "$(echo "${rate[lockstep]} / ${rate[docker]}" | bc -l)"
for key in $(printf '%s\n' "${!rss[@]}" | sort); do
  printf 'peak RSS %-24s %8d KiB\n' "$key" "${rss[$key]}"
done
