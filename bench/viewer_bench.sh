#!/usr/bin/env bash
# Viewer benchmark: reread-viewer against OpenSeadragon in headless Chromium, in the same run, replaying the
# same review of the same slide from the same reread-server on loopback, with 0 ms and with 80 ms of added
# round-trip latency.
#   bench/viewer_bench.sh [SIZE]      (RTTS="0 80" picks the latencies; BENCH_LOCK=FILE, see below)
# Slide: a SIZE x SIZE synthetic H&E Aperio SVS (default 50000; bench/out/synth-SIZE.svs, shared with the
# other benchmarks and reused), in a case assigned to a consultant whose bearer token both viewers send.
# The review (bench/viewer/review_path.py, derived once from the slide's size and the server's thumbnail):
# open at fit; zoom to 40x at three places that are all tissue; zoom to 20x and pan 20 screen widths (10
# right, one back and a screen height down, 9 left) along the row with the most tissue; after every move,
# wait until the view is sharp. 24 moves in a 1920 x 1080 window.
#   reread-viewer   --script (bench/out/viewer/review/reread-script.json) under Xvfb, Mesa's OpenGL; its
#                   --report gives time to the first complete view, per-move time until sharp, frame times,
#                   tiles fetched and never shown, bytes, peak texture memory (bound: --texture-mb) and RSS
#   OpenSeadragon   6.1 (tests/browser/node_modules), canvas drawer, animationTime 0, in Debian's chromium
#                   (--headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking),
#                   driven by playwright-core (bench/viewer/osd_review.mjs); its page is served on the tile
#                   server's origin, so tiles need no CORS preflight; sharp = getFullyLoaded() (what
#                   'fully-loaded-change' reports) on a frame drawn after the move
# Moves: jumps in both clients: reread-viewer's script zooms and pans (an arrow key's pan is animated, a
# script's is not), OpenSeadragon's zoomTo/panTo with immediately = true.
# Latency: bench/viewer/latency_proxy.py, a TCP proxy that holds every chunk half the RTT in each direction
# (order kept; a new connection also waits one RTT, its handshake); checked to add RTT +- 5 ms to a request
# on a kept-alive connection before use. At 0 ms the clients talk to the server directly.
# Each client run gets a freshly started server (empty tile cache, the slide in the page cache), so neither
# client reads tiles the other had the server render. Tile requests and bytes are also counted by the server
# (/metrics), the same yardstick for both. bench/viewer/cpu_sampler.py charges CPU seconds to each client's
# process tree (Chromium's helpers included), the server and the proxy, and reports what other work on the
# box took meanwhile: both clients share the two cores with it. The proxy logs each request with its time
# (rtt-RTT/CLIENT-proxy.log), to read a client's critical path from.
# Shared machine: with BENCH_LOCK=FILE, the build waits while FILE exists, and the measurement waits for it,
# then creates it (others' builds pause) and removes it when done, whatever way the script ends.
# Everything it writes stays under bench/out/viewer.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-50000}
OUT=${BENCH_DIR:-bench/out}
WORK="$OUT/viewer"
HERE=bench/viewer
BUILD=build-vbench
read -r -a RTTS <<<"${RTTS:-0 80}"
VIEW=1920x1080
TEXTURE_MB=384  # reread-viewer's GPU texture bound per view (its default), checked against the peak
started_at=$(date +%s)

wait_lock() { [ -z "${BENCH_LOCK:-}" ] || while [ -e "$BENCH_LOCK" ]; do sleep 15; done; }
HOLDING_LOCK=0
take_lock() {  # atomically: a file another script creates between our wait and our write is not overwritten
  [ -n "${BENCH_LOCK:-}" ] || return 0
  while ! (set -o noclobber; echo "$$ bench/viewer_bench.sh" >"$BENCH_LOCK") 2>/dev/null; do wait_lock; done
  HOLDING_LOCK=1
}
release_lock() { if [ "$HOLDING_LOCK" = 1 ]; then rm -f "$BENCH_LOCK"; HOLDING_LOCK=0; fi; }

wait_lock
scripts/install-deps.sh >/dev/null
for tool in xvfb-run node chromium; do
  command -v "$tool" >/dev/null || { echo "viewer_bench: $tool not found (apt-get install xvfb nodejs chromium)"; exit 1; }
done
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DREREAD_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD" --parallel 2 --target reread-server reread-tiler reread-viewer >/dev/null
SERVER=$BUILD/server/reread-server
TILER=$BUILD/tiler/reread-tiler
VIEWER=$BUILD/viewer/reread-viewer
if [ ! -f tests/browser/node_modules/openseadragon/package.json ] || [ ! -f tests/browser/node_modules/playwright-core/package.json ]; then
  echo "installing OpenSeadragon and playwright-core (npm ci in tests/browser) ..."
  (cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
mkdir -p "$WORK"

# --- processes this script starts; the trap stops each by its PID, whatever way the script ends ---
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  release_lock
}
trap cleanup EXIT
trap 'exit 130' INT TERM
forget_pid() {
  local keep=() p
  for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

# --- 1. the slide, made once and reused (a file appears under its name only when complete) ---
SYNTH="$OUT/synth-$SIZE.svs"
if [ ! -f "$SYNTH" ]; then
  echo "making $SYNTH ..."
  "$TILER" synth "$SYNTH.partial-$$.svs" --width "$SIZE" --height "$SIZE" --seed 42 --jobs "$(nproc)" >/dev/null
  mv "$SYNTH.partial-$$.svs" "$SYNTH"
fi
mkdir -p "$WORK/slides"
ln -sfn "$(realpath --relative-to="$WORK/slides" "$SYNTH")" "$WORK/slides/synth-$SIZE.svs"

# --- 2. the record: a consultant and their token, a case holding the slide (imported before any server);
# an admin, whose token only reads /metrics ---
rm -rf "$WORK/data"
"$SERVER" user add reviewer --role consultant --data "$WORK/data" 2>/dev/null
TOKEN=$("$SERVER" token create reviewer --data "$WORK/data" 2>/dev/null)
"$SERVER" user add admin --role admin --data "$WORK/data" 2>/dev/null
ADMIN_TOKEN=$("$SERVER" token create admin --data "$WORK/data" 2>/dev/null)
python3 - "$SIZE" >"$WORK/case.json" <<'PY'
import json, sys
case = json.load(open("server/api/demo_case.json"))
case.pop("referrer")
case.update(accession="BENCH-VIEWER", consultants=["reviewer"], boards=[],
            slides=[{"name": f"synth-{sys.argv[1]}", "label": "A1 H&E (synthetic)"}])
print(json.dumps(case, indent=1))
PY
CASE_ID=$("$SERVER" case import "$WORK/case.json" --slides "$WORK/slides" --data "$WORK/data" 2>/dev/null)

# --- 3. reread-server, started fresh for each client run ---
RR_PID="" RR_URL=""
start_server() {  # start_server LOG_PREFIX
  rm -f "$1.out" "$1.err"  # an old "listening on" line must not be read before the new server writes its own
  "$SERVER" --listen 127.0.0.1:0 --slides "$WORK/slides" --data "$WORK/data" --log-level warn >"$1.out" 2>"$1.err" &
  RR_PID=$!; PIDS+=("$RR_PID")
  RR_URL=""
  for _ in $(seq 100); do
    RR_URL=$(sed -n 's/^listening on \(http:[^ ]*\)$/\1/p' "$1.out")
    [ -n "$RR_URL" ] && break
    kill -0 "$RR_PID" 2>/dev/null || { echo "reread-server exited:"; cat "$1.err"; exit 1; }
    sleep 0.1
  done
  [ -n "$RR_URL" ] || { echo "reread-server did not start"; cat "$1.err"; exit 1; }
}
stop_server() { kill "$RR_PID"; wait "$RR_PID" 2>/dev/null || true; forget_pid "$RR_PID"; }
api() { curl -fsS -H "Authorization: Bearer $TOKEN" "$RR_URL$1"; }

# Proxy in front of the server; PROXY_URL is where the clients go (the server itself at 0 ms).
PROXY_PID="" PROXY_URL=""
start_proxy() {  # start_proxy RTT LOG_PREFIX
  if [ "$1" = 0 ]; then PROXY_URL=$RR_URL; return; fi
  rm -f "$2-proxy.out" "$2-proxy.json" "$2-proxy.log"
  python3 "$HERE/latency_proxy.py" --upstream "${RR_URL#http://}" --rtt-ms "$1" --stats "$2-proxy.json" \
    --log "$2-proxy.log" >"$2-proxy.out" &
  PROXY_PID=$!; PIDS+=("$PROXY_PID")
  PROXY_URL=""
  for _ in $(seq 100); do
    PROXY_URL=$(sed -n 's/^listening on \(.*\)$/http:\/\/\1/p' "$2-proxy.out")
    [ -n "$PROXY_URL" ] && break
    sleep 0.1
  done
  [ -n "$PROXY_URL" ] || { echo "latency proxy did not start"; exit 1; }
}
stop_proxy() {
  [ -n "$PROXY_PID" ] || return 0
  kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true; forget_pid "$PROXY_PID"; PROXY_PID=""
}

# --- 4. the review, derived from the slide's size and thumbnail ---
mkdir -p "$WORK/review"
start_server "$WORK/review/server"
SLIDE_ID=$(api /api/slides | python3 -c 'import json, sys
s = [e for e in json.load(sys.stdin)["slides"] if e["name"] == sys.argv[1]]
assert s and s[0]["status"] == "ok", s
print(s[0]["id"])' "synth-$SIZE")
read -r W H < <(api "/api/slides/$SLIDE_ID" | python3 -c 'import json, sys; m = json.load(sys.stdin); print(m["width"], m["height"])')
api "/slides/$SLIDE_ID/thumbnail?max=1024" >"$WORK/review/thumbnail.jpg"
vips copy "$WORK/review/thumbnail.jpg" "$WORK/review/thumbnail.ppm"
REVIEW_LINE=$(python3 "$HERE/review_path.py" "$WORK/review/thumbnail.ppm" "$W" "$H" "$CASE_ID" "$SLIDE_ID" "$WORK/review")
PROXY_CHECKS=()
for rtt in "${RTTS[@]}"; do
  [ "$rtt" = 0 ] && continue
  PROXY_CHECKS+=("$(python3 "$HERE/latency_proxy.py" --check "$RR_URL" --rtt-ms "$rtt" --token "$TOKEN" || true)")
done
stop_server

# --- 5. measurement ---
# The server's own count of what a client took: tile requests and response body bytes, all routes.
server_counts() {
  curl -fsS -H "Authorization: Bearer $ADMIN_TOKEN" "$RR_URL/metrics" | awk '
    /^reread_http_requests_total\{route="deepzoom_tile",/ { tiles += $2 }
    /^reread_http_response_bytes_total\{/                 { bytes += $2 }
    END { printf "{\"tile_requests\": %d, \"response_bytes\": %d}\n", tiles, bytes }'
}
# start_client CLIENT DIR: one client's run of the review in the background (timeout's PID in RUN_PID; a TERM
# to it ends the whole run); its output goes to DIR/CLIENT.log.
RUN_PID=""
start_client() {
  case $1 in
    reread)
      timeout -k 10 600 xvfb-run -a -s "-screen 0 ${VIEW}x24" "$VIEWER" --server "$PROXY_URL" --token "$TOKEN" \
        --size "$VIEW" --texture-mb "$TEXTURE_MB" --state-dir "$2/state" --script "$WORK/review/reread-script.json" \
        --report "$2/reread-report.json" >"$2/reread.log" 2>&1 &
      ;;
    osd)
      timeout -k 10 600 node "$HERE/osd_review.mjs" --base "$PROXY_URL" --review "$WORK/review/review.json" \
        --token "$TOKEN" --out "$2/osd-result.json" >"$2/osd.log" 2>&1 &
      ;;
  esac
  RUN_PID=$!; PIDS+=("$RUN_PID")
}

echo "== viewer review on loopback, $(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1))"
echo "   slide ${W} x ${H} px (synthetic, 40x), window $VIEW; $REVIEW_LINE"
for line in "${PROXY_CHECKS[@]}"; do echo "   $line"; done
echo "   reread-viewer sha256 $(sha256sum "$VIEWER" | cut -c1-12), reread-server sha256 $(sha256sum "$SERVER" | cut -c1-12)"
wait_lock
take_lock
echo "   load average before measuring $(cut -d' ' -f1-3 /proc/loadavg)"
FAILED=()
for rtt in "${RTTS[@]}"; do
  d="$WORK/rtt-$rtt"; rm -rf "$d"; mkdir -p "$d"
  for client in reread osd; do
    start_server "$d/$client-server"
    start_proxy "$rtt" "$d/$client"
    cat "$SYNTH" >/dev/null  # both clients read the slide from the page cache
    echo "   $client, +$rtt ms RTT ..."
    start_client "$client" "$d"
    # CPU seconds of the client's process tree, the server, the proxy, and of other work on the box.
    python3 "$HERE/cpu_sampler.py" "$d/$client-cpu.json" client="$RUN_PID" server="$RR_PID" \
      ${PROXY_PID:+proxy="$PROXY_PID"} & sampler_pid=$!; PIDS+=("$sampler_pid")
    status=0; wait "$RUN_PID" || status=$?
    forget_pid "$RUN_PID"
    kill "$sampler_pid"; wait "$sampler_pid" || true; forget_pid "$sampler_pid"
    if [ "$status" != 0 ]; then
      echo "   $client failed (exit $status$([ "$status" = 124 ] && echo ': timed out')); the end of $d/$client.log:"
      tail -20 "$d/$client.log" | sed 's/^/     /'
      FAILED+=("$client +$rtt ms")
    fi
    stop_proxy
    server_counts >"$d/$client-server.json"
    stop_server
  done
done
release_lock

# --- 6. report ---
python3 "$HERE/report.py" "$WORK" "$TEXTURE_MB" "${RTTS[@]}"
for f in "$WORK"/rtt-*/*-server.err; do
  if [ -s "$f" ]; then echo "reread-server logged to $f:"; head -5 "$f"; fi
done
if [ ${#FAILED[@]} -gt 0 ]; then echo "FAILED runs: ${FAILED[*]}"; fi
echo "total $(($(date +%s) - started_at)) s"
[ ${#FAILED[@]} -eq 0 ]
