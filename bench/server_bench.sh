#!/usr/bin/env bash
# Tile-server benchmark: reread-server against IIPImage and nginx serving static tiles, in the same run,
# on loopback, on the same slide.
#   bench/server_bench.sh [SIZE]
# Slide: a SIZE x SIZE synthetic H&E Aperio SVS (default 50000; 4x levels, 256 px JPEG tiles), as
# reread-tiler synth writes it; the same slide as a pyramidal JPEG BigTIFF (vips tiffsave, Q75) for IIPImage
# and as DeepZoom tiles (vips dzsave, 254/1, Q75) for nginx, the static ceiling. The peers are set up as
# the reference figures were measured: IIPImage as two FastCGI processes (spawn-fcgi -F 2) behind one nginx
# worker, which also serves the static tiles.
# Load: wrk -t2, 8 and 64 connections, 15 s each, cycling through 5000 random tiles (90% from the three
# finest levels). Contenders:
#   reread-dz-cold   DeepZoom 254/1, transcoded, on a fresh server (empty tile cache)
#   reread-dz-warm   the same list again on that server, after every tile of it was fetched once
#   reread-iiif      IIIF regions that are exactly one stored 256 px tile (downsample 1, 4, 16): the
#                    stored JPEG is sent as is (zero-transcode); tile cache off, so every tile is read
#   iipimage         DeepZoom (its own 256/0 grid) through nginx + iipsrv FastCGI
#   nginx-static     the dzsave tiles as files
# For each: tiles/s, p50/p99 latency, errors, and the server's CPU seconds per 1000 tiles (utime+stime of
# its processes, nginx included for IIPImage), so per-tile cost compares even where wrk saturates the box.
# Everything it writes stays under bench/out/server (bench/out/synth-SIZE.svs is shared with tiler_bench).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-50000}
OUT=${BENCH_DIR:-bench/out}
WORK="$OUT/server"
HERE=bench/server
DURATION=${BENCH_DURATION:-15s}
CONNS=(8 64)
NURLS=5000
started_at=$(date +%s)

scripts/install-deps.sh >/dev/null
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DREREAD_BUILD_TESTS=OFF >/dev/null
cmake --build build-release --parallel "$(nproc)" >/dev/null
SERVER=build-release/server/reread-server
TILER=build-release/tiler/reread-tiler
mkdir -p "$WORK"
ABS_WORK=$(cd "$WORK" && pwd)  # nginx and iipsrv need absolute paths; they never reach a committed file

# --- processes this script starts; the trap stops each by its PID, whatever way the script ends ---
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -f "$WORK/iip.pid" ]; then
    while read -r p; do kill "$p" 2>/dev/null || true; done <"$WORK/iip.pid"  # spawn-fcgi: one PID a line
    rm -f "$WORK/iip.pid"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free loopback port: bind port 0 and report what the kernel chose.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- 1. the slide, three ways; each made once and reused (a file appears only when complete) ---
SYNTH="$OUT/synth-$SIZE.svs"
if [ ! -f "$SYNTH" ]; then
  echo "making $SYNTH ..."
  "$TILER" synth "$SYNTH" --width "$SIZE" --height "$SIZE" --seed 42 --jobs "$(nproc)" >/dev/null
fi
TIF="$WORK/synth-$SIZE.tif"
if [ ! -f "$TIF" ]; then
  echo "making $TIF for IIPImage (vips tiffsave) ..."
  vips tiffsave "$SYNTH" "$TIF.partial-$$.tif" --tile --pyramid --compression jpeg --Q 75 --bigtiff \
    --tile-width 256 --tile-height 256
  mv "$TIF.partial-$$.tif" "$TIF"
fi
DZ="$WORK/dz"
if [ ! -f "$DZ/synth.dzi" ]; then
  echo "making $DZ for nginx (vips dzsave) ..."
  rm -rf "$DZ"; mkdir -p "$DZ"
  vips dzsave "$SYNTH" "$DZ/synth" --tile-size 254 --overlap 1 --suffix ".jpeg[Q=75]"
fi
# reread-server serves a folder: give it one holding only this slide (a relative link, so no copy).
mkdir -p "$WORK/slides"
ln -sfn "../../$(basename "$SYNTH")" "$WORK/slides/synth.svs"
W=$(vipsheader -f width "$SYNTH"); H=$(vipsheader -f height "$SYNTH")

# --- 2. reread-server, started fresh for each cold measurement ---
RR_PID="" RR_URL="" RR_ID=""
start_reread() {  # start_reread NAME CACHE_MB
  local log="$WORK/reread-$1"
  # Q75, as the IIPImage and dzsave tiles are, so every contender encodes the same work.
  "$SERVER" --listen 127.0.0.1:0 --slides "$WORK/slides" --data "$WORK/data" --cache-mb "$2" \
    --jpeg-quality 75 --log-level warn >"$log.out" 2>"$log.err" &
  RR_PID=$!; PIDS+=("$RR_PID")
  for _ in $(seq 100); do
    RR_URL=$(sed -n 's/^listening on \(http:[^ ]*\)$/\1/p' "$log.out")
    [ -n "$RR_URL" ] && break
    kill -0 "$RR_PID" 2>/dev/null || { echo "reread-server exited:"; cat "$log.err"; exit 1; }
    sleep 0.1
  done
  [ -n "$RR_URL" ] || { echo "reread-server did not start"; cat "$log.err"; exit 1; }
  RR_ID=$(curl -fsS "$RR_URL/api/slides" | python3 -c 'import json,sys
s=[e for e in json.load(sys.stdin)["slides"] if e["name"]=="synth"]
assert s and s[0]["status"]=="ok", s
print(s[0]["id"])')
}
stop_reread() {
  kill "$RR_PID"; wait "$RR_PID" 2>/dev/null || true
  local keep=() p
  for p in "${PIDS[@]}"; do [ "$p" = "$RR_PID" ] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

# The counters that say which path tiles took, as "hits misses coalesced transcoded stored".
reread_counters() {
  curl -fsS "$RR_URL/metrics" | awk '
    /^reread_tile_cache_hits_total /                        { h = $2 }
    /^reread_tile_cache_misses_total /                      { m = $2 }
    /^reread_tile_cache_coalesced_total /                   { c = $2 }
    /^reread_tiles_rendered_total\{path="transcode"\} /     { t = $2 }
    /^reread_tiles_rendered_total\{path="stored"\} /        { s = $2 }
    END { print h + 0, m + 0, c + 0, t + 0, s + 0 }'
}

# --- 3. peers: one nginx (static tiles + FastCGI front) and two iipsrv processes ---
NG_STATIC=$(free_port); NG_IIP=$(free_port); IIP_FCGI=$(free_port)
mkdir -p "$WORK/nginx/logs" "$WORK/nginx/tmp"
cat >"$WORK/nginx/nginx.conf" <<NG
# One worker, as for the reference figures; foreground so this script owns its PID.
worker_processes 1; daemon off; pid $ABS_WORK/nginx/nginx.pid; error_log $ABS_WORK/nginx/logs/error.log warn;
user $(id -un) $(id -gn);
events { worker_connections 4096; }
http {
  access_log off; sendfile on; keepalive_requests 100000;
  client_body_temp_path $ABS_WORK/nginx/tmp; fastcgi_temp_path $ABS_WORK/nginx/tmp; proxy_temp_path $ABS_WORK/nginx/tmp;
  uwsgi_temp_path $ABS_WORK/nginx/tmp; scgi_temp_path $ABS_WORK/nginx/tmp;
  types { image/jpeg jpeg jpg; }
  server { listen 127.0.0.1:$NG_STATIC; root $ABS_WORK/dz; }
  upstream iip { server 127.0.0.1:$IIP_FCGI; keepalive 64; }
  server {
    listen 127.0.0.1:$NG_IIP;
    location /fcgi-bin/iipsrv.fcgi { fastcgi_pass iip; fastcgi_keep_conn on; include /etc/nginx/fastcgi_params; }
  }
}
NG
nginx -e "$ABS_WORK/nginx/logs/error.log" -p "$ABS_WORK/nginx" -c "$ABS_WORK/nginx/nginx.conf" &
NGINX_PID=$!; PIDS+=("$NGINX_PID")
# 64 MB image cache as for the reference figures; no logging.
MAX_IMAGE_CACHE_SIZE=64 VERBOSITY=0 spawn-fcgi -a 127.0.0.1 -p "$IIP_FCGI" -F 2 -P "$WORK/iip.pid" \
  -- /usr/lib/iipimage-server/iipsrv.fcgi >/dev/null
for _ in $(seq 50); do curl -fsS -o /dev/null "http://127.0.0.1:$NG_STATIC/synth.dzi" 2>/dev/null && break; sleep 0.1; done
mapfile -t IIP_PIDS <"$WORK/iip.pid"
nginx_pids() { echo "$NGINX_PID $(ps -o pid= --ppid "$NGINX_PID" | tr '\n' ' ')"; }  # master + worker

# --- 4. URL lists ---
urls() { python3 "$HERE/tile_urls.py" "$@"; }
DZ_FMT="_files/{l}/{c}_{r}.jpeg"
urls deepzoom "$W" "$H" 254 $NURLS "/synth$DZ_FMT" >"$WORK/urls-static.txt"
# IIPImage's DeepZoom grid is the TIFF's own 256 px tiles, no overlap.
urls deepzoom "$W" "$H" 256 $NURLS "/fcgi-bin/iipsrv.fcgi?DeepZoom=$ABS_WORK/$(basename "$TIF")_files/{l}/{c}_{r}.jpg" \
  >"$WORK/urls-iip.txt"
# Reread's URLs name the slide ID, known once a server runs; {ID} is filled in then.
urls deepzoom "$W" "$H" 254 $NURLS "/slides/{ID}$DZ_FMT" >"$WORK/urls-reread-dz.tmpl"
urls iiif "$W" "$H" 256 $NURLS "/iiif/3/{ID}/{x},{y},{w},{h}/{tw},{th}/0/default.jpg" 1,4,16 \
  >"$WORK/urls-reread-iiif.tmpl"
with_id() { sed "s/{ID}/$RR_ID/" "$WORK/$1.tmpl" >"$WORK/$1.txt"; echo "$WORK/$1.txt"; }

# --- 5. measurement ---
TCK=$(getconf CLK_TCK)
cpu_ticks() {  # utime + stime of the given PIDs, all their threads (fields 14 and 15 of /proc/PID/stat)
  local p t=0
  for p in "$@"; do t=$((t + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}'))); done
  echo "$t"
}
RESULTS="$WORK/results.txt"; : >"$RESULTS"
PATHS="$WORK/paths.txt"; : >"$PATHS"
# run NAME CONNS BASE_URL URLS_FILE PID...: one wrk run; appends "NAME CONNS key=value..." to $RESULTS.
run() {
  local name=$1 c=$2 base=$3 list=$4; shift 4
  local before after line
  before=$(cpu_ticks "$@")
  line=$(wrk -t2 -c"$c" -d"$DURATION" --timeout 10s -s "$HERE/cycle.lua" "$base" -- "$list" 2>&1 \
    | tee "$WORK/wrk-$name-c$c.log" | grep '^RESULT') || { echo "wrk failed:"; cat "$WORK/wrk-$name-c$c.log"; exit 1; }
  after=$(cpu_ticks "$@")
  echo "$name $c ${line#RESULT } cpu_ticks=$((after - before))" >>"$RESULTS"
  printf '  %-15s c=%-3s %s\n' "$name" "$c" "${line#RESULT }"
}
# reread_run NAME CONNS LIST: run() against reread-server, also recording the path counters' change.
reread_run() {
  local before after
  before=$(reread_counters)
  run "$1" "$2" "$RR_URL" "$3" "$RR_PID"
  after=$(reread_counters)
  echo "$1 $2 $before $after" >>"$PATHS"
}

# Every contender reads from the page cache: this measures serving, not the disk.
cat "$SYNTH" "$TIF" >/dev/null
sed "s|^|$DZ|" "$WORK/urls-static.txt" | sort -u | xargs cat >/dev/null
echo "== tile servers on loopback, $(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1))"
echo "   slide ${W} x ${H} px; wrk -t2, $DURATION per run, $NURLS random tiles, 90% from the three finest levels"
for c in "${CONNS[@]}"; do
  start_reread "dz-c$c" 512
  list=$(with_id urls-reread-dz)
  reread_run reread-dz-cold "$c" "$list"
  echo "  $(python3 "$HERE/prime_cache.py" "$RR_URL" "$list")"
  reread_run reread-dz-warm "$c" "$list"
  stop_reread
done
start_reread iiif 0  # no cache: every request takes the stored-tile path
list=$(with_id urls-reread-iiif)
for c in "${CONNS[@]}"; do reread_run reread-iiif "$c" "$list"; done
stop_reread
for c in "${CONNS[@]}"; do
  # shellcheck disable=SC2046  # one argument per PID
  run iipimage "$c" "http://127.0.0.1:$NG_IIP" "$WORK/urls-iip.txt" "${IIP_PIDS[@]}" $(nginx_pids)
done
for c in "${CONNS[@]}"; do
  # shellcheck disable=SC2046
  run nginx-static "$c" "http://127.0.0.1:$NG_STATIC" "$WORK/urls-static.txt" $(nginx_pids)
done

# --- 6. report ---
echo
echo "== results (CPU s/1000 = server CPU seconds per 1000 tiles; IIPImage's includes its nginx front)"
awk -v tck="$TCK" '
  { for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    printf "  %-15s %4s %9.0f %8.2f %8.2f %7d %8d %7d %9.2f\n", $1, $2, v["rps"], v["p50_ms"], v["p99_ms"],
      v["errors"], v["timeouts"], v["non2xx"], v["requests"] ? v["cpu_ticks"] / tck / v["requests"] * 1000 : 0 }
  BEGIN { printf "  %-15s %4s %9s %8s %8s %7s %8s %7s %9s\n", "contender", "conn", "tiles/s", "p50 ms", "p99 ms",
            "errors", "timeouts", "non2xx", "CPU s/1000" }' "$RESULTS"

echo
echo "== what path Reread's tiles took in each run (from /metrics: change over the run)"
awk '{ printf "  %-15s c=%-3s cache hits %6d, misses %6d (coalesced %d); tiles transcoded %6d, stored JPEG sent as is %6d\n",
         $1, $2, $8 - $3, $9 - $4, $10 - $5, $11 - $6, $12 - $7 }' "$PATHS"

echo
echo "== Reread's ratios (higher is better)"
# ratio A B CONNS: tiles/s of A over B at CONNS connections
get() { awk -v n="$1" -v c="$2" -v k="$3" '$1 == n && $2 == c { for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }' "$RESULTS"; }
verdict() { if awk "BEGIN { exit !($1) }"; then echo "meets target"; else echo "BELOW TARGET"; fi; }
for c in "${CONNS[@]}"; do
  dz=$(echo "$(get reread-dz-cold "$c" rps) / $(get iipimage "$c" rps)" | bc -l)
  iiif=$(echo "$(get reread-iiif "$c" rps) / $(get iipimage "$c" rps)" | bc -l)
  warm=$(echo "$(get reread-dz-warm "$c" rps) / $(get nginx-static "$c" rps)" | bc -l)
  p99=$(get reread-dz-cold "$c" p99_ms)
  if [ "$c" = 64 ]; then p99_check=" and p99 $p99 ms < 100 ms: $(verdict "$dz >= 1.5 && $p99 < 100")"
  else p99_check=": $(verdict "$dz >= 1.5")"; fi
  printf '  c=%-3s DeepZoom transcoded (cold) / IIPImage : %5.2fx  (target >= 1.5x%s)\n' "$c" "$dz" "$p99_check"
  printf '  c=%-3s IIIF native (no cache)    / IIPImage : %5.2fx  (target >= 10x: %s)\n' "$c" "$iiif" "$(verdict "$iiif >= 10")"
  printf '  c=%-3s DeepZoom warm cache  / nginx static  : %5.2fx  (target >= 0.5x: %s)\n' "$c" "$warm" "$(verdict "$warm >= 0.5")"
done
if grep -q '\[\(error\|crit\|alert\|emerg\)\]' "$WORK/nginx/logs/error.log" 2>/dev/null; then
  echo "nginx logged errors (last 5 lines of $WORK/nginx/logs/error.log):"; tail -5 "$WORK/nginx/logs/error.log"
fi
for f in "$WORK"/reread-*.err; do
  if [ -s "$f" ]; then echo "reread-server logged to $f:"; head -5 "$f"; fi
done
echo "total $(($(date +%s) - started_at)) s"
