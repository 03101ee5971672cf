#!/usr/bin/env bash
# Tile-server benchmark: reread-server against IIPImage and nginx serving static tiles, in the same run,
# on loopback, on the same slides.
#   bench/server_bench.sh [SIZE]          (REAL_TISSUE=0 skips the real-tissue slide)
# Slides: a SIZE x SIZE synthetic H&E Aperio SVS (default 50000; 4x levels, 256 px JPEG tiles) from
# reread-tiler synth, and, when ../shared/slides is beside the project, the real tissue of
# CMU-1-Small-Region.svs mirror-tiled 11 x 9 into a 48840 x 53406 pyramidal JPEG BigTIFF (2x levels), the
# same file tiler_bench.sh makes. Each is offered to IIPImage as a pyramidal JPEG TIFF (the synthetic one
# through vips tiffsave, Q75; the real one as is) and to nginx as vips dzsave tiles (254/1, Q75), the static
# ceiling. The peers are set up as for the reference figures: IIPImage as two FastCGI processes
# (spawn-fcgi -F 2) behind one nginx worker, which also serves the static tiles.
# Load: wrk -t2, 8 and 64 connections, 15 s each, cycling through 5000 random tiles (90% from the three
# finest levels). Contenders:
#   reread-dz-cold     DeepZoom 254/1 on a fresh server (empty tile cache; it holds the whole list within
#                      a second or two, so most of this run is cache hits: the path table says how many)
#   reread-dz-warm     the same list again on that server, after every tile of it was fetched once
#   reread-dz-nocache  DeepZoom with the tile cache off: every tile read, decoded, resized and encoded
#   reread-iiif        IIIF regions that are exactly one stored 256 px tile at downsample 1, 4 or 16, which
#                      Reread can send as stored (zero-transcode); tile cache off, so every tile is read
#   iipimage           DeepZoom (its own 256/0 grid) through nginx + iipsrv FastCGI
#   nginx-static       the dzsave tiles as files
# For each: tiles/s, p50/p99 latency, errors, and the server's CPU seconds per 1000 tiles (utime+stime of
# its processes, nginx included for IIPImage), so per-tile cost compares even where wrk, on the same cores,
# is the limit. Reread's /metrics say which path its tiles took (cache hit, transcoded, stored JPEG).
# Everything it writes stays under bench/out/server (bench/out/synth-SIZE.svs and
# bench/out/cmu-mirrored-11x9.tif are shared with tiler_bench.sh); slides made once are reused.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-50000}
OUT=${BENCH_DIR:-bench/out}
WORK="$OUT/server"
HERE=bench/server
SHARED=../shared/slides
DURATION=${BENCH_DURATION:-15s}
CONNS=(8 64)
NURLS=5000
started_at=$(date +%s)

scripts/install-deps.sh >/dev/null
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DREREAD_BUILD_TESTS=OFF >/dev/null
cmake --build build-release --parallel "$(nproc)" --target reread-server reread-tiler >/dev/null
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
    local iip=()
    mapfile -t iip <"$WORK/iip.pid"  # spawn-fcgi: one PID a line, the last with no line feed
    for p in "${iip[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -f "$WORK/iip.pid"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free loopback port: bind port 0 and report what the kernel chose.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- 1. slides, each made once and reused (a file appears under its name only when complete) ---
# Per slide TAG, $WORK/TAG holds: slides/slide.* (a relative link; reread-server serves this folder),
# iip.tif (what IIPImage serves), dz/slide_files (what nginx serves), URL lists, results and logs.
link() { ln -sfn "$(realpath --relative-to="$(dirname "$2")" "$1")" "$2"; }  # link TARGET NAME, relative
make_dz() {  # make_dz SLIDE TAG: vips dzsave tiles for nginx
  local dz="$WORK/$2/dz"
  if [ ! -d "$dz" ]; then
    echo "making $dz for nginx (vips dzsave) ..."
    rm -rf "$dz.partial"; mkdir -p "$dz.partial"
    vips dzsave "$1" "$dz.partial/slide" --tile-size 254 --overlap 1 --suffix ".jpeg[Q=75]"
    mv "$dz.partial" "$dz"
  fi
}

SYNTH="$OUT/synth-$SIZE.svs"
if [ ! -f "$SYNTH" ]; then
  echo "making $SYNTH ..."
  "$TILER" synth "$SYNTH.partial-$$.svs" --width "$SIZE" --height "$SIZE" --seed 42 --jobs "$(nproc)" >/dev/null
  mv "$SYNTH.partial-$$.svs" "$SYNTH"
fi
TAGS=("synth-$SIZE")
mkdir -p "$WORK/synth-$SIZE/slides"
link "$SYNTH" "$WORK/synth-$SIZE/slides/slide.svs"
if [ ! -f "$WORK/synth-$SIZE/iip.tif" ]; then
  echo "making $WORK/synth-$SIZE/iip.tif for IIPImage (vips tiffsave) ..."
  vips tiffsave "$SYNTH" "$WORK/synth-$SIZE/iip.partial-$$.tif" --tile --pyramid --compression jpeg --Q 75 \
    --bigtiff --tile-width 256 --tile-height 256
  mv "$WORK/synth-$SIZE/iip.partial-$$.tif" "$WORK/synth-$SIZE/iip.tif"
fi
make_dz "$SYNTH" "synth-$SIZE"

if [ "${REAL_TISSUE:-1}" != 0 ] && [ -f "$SHARED/CMU-1-Small-Region.svs" ]; then
  REAL="$OUT/cmu-mirrored-11x9.tif"
  if [ ! -f "$REAL" ]; then  # as tiler_bench.sh makes it: the region and its mirror images, repeated
    echo "making $REAL ..."
    tmp="$WORK/tmp"; rm -rf "$tmp"; mkdir -p "$tmp"
    vips openslideload "$SHARED/CMU-1-Small-Region.svs" "$tmp/l0.v"
    vips extract_band "$tmp/l0.v" "$tmp/rgb.v" 0 --n 3
    vips flip "$tmp/rgb.v" "$tmp/h.v" horizontal
    vips join "$tmp/rgb.v" "$tmp/h.v" "$tmp/row.v" horizontal
    vips flip "$tmp/row.v" "$tmp/rowv.v" vertical
    vips join "$tmp/row.v" "$tmp/rowv.v" "$tmp/block.v" vertical
    vips replicate "$tmp/block.v" \
      "$REAL.partial-$$.tif[tile,pyramid,compression=jpeg,Q=85,bigtiff,tile-width=256,tile-height=256]" 11 9
    mv "$REAL.partial-$$.tif" "$REAL"; rm -rf "$tmp"
  fi
  TAGS+=(tissue)
  mkdir -p "$WORK/tissue/slides"
  link "$REAL" "$WORK/tissue/slides/slide.tif"
  link "$REAL" "$WORK/tissue/iip.tif"  # already a pyramidal JPEG TIFF: IIPImage and Reread read the same file
  make_dz "$REAL" tissue
fi

# --- 2. reread-server, started fresh for each cold measurement ---
RR_PID="" RR_URL="" RR_ID="" RR_TOKEN=""
start_reread() {  # start_reread TAG NAME CACHE_MB
  local log="$WORK/$1/reread-$2"
  rm -f "$log.out" "$log.err"  # an old "listening on" line must not be read before the new server writes its own
  # Authentication on, as deployed: a fresh record with an admin whose token every request carries
  # (wrk sends the same header to every contender, so requests are the same size).
  rm -rf "$WORK/$1/data"
  "$SERVER" user add admin --role admin --data "$WORK/$1/data" 2>/dev/null
  RR_TOKEN=$("$SERVER" token create admin --data "$WORK/$1/data" 2>/dev/null)
  export RR_TOKEN
  # Q75, as the IIPImage and dzsave tiles are, so every contender encodes the same work.
  "$SERVER" --listen 127.0.0.1:0 --slides "$WORK/$1/slides" --data "$WORK/$1/data" --cache-mb "$3" \
    --jpeg-quality 75 --log-level warn >"$log.out" 2>"$log.err" &
  RR_PID=$!; PIDS+=("$RR_PID")
  for _ in $(seq 100); do
    RR_URL=$(sed -n 's/^listening on \(http:[^ ]*\)$/\1/p' "$log.out")
    [ -n "$RR_URL" ] && break
    kill -0 "$RR_PID" 2>/dev/null || { echo "reread-server exited:"; cat "$log.err"; exit 1; }
    sleep 0.1
  done
  [ -n "$RR_URL" ] || { echo "reread-server did not start"; cat "$log.err"; exit 1; }
  RR_ID=$(curl -fsS -H "Authorization: Bearer $RR_TOKEN" "$RR_URL/api/slides" | python3 -c 'import json,sys
s=[e for e in json.load(sys.stdin)["slides"] if e["name"]=="slide"]
assert s and s[0]["status"]=="ok", s
print(s[0]["id"])')
}
stop_reread() {
  kill "$RR_PID"; wait "$RR_PID" 2>/dev/null || true
  local keep=() p
  for p in "${PIDS[@]}"; do [ "$p" = "$RR_PID" ] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

# check_tile LIST [WxH]: the first tile of LIST must be a JPEG (of that size): a fast server that sends
# broken tiles would otherwise look good here.
check_tile() {
  local path size
  path=$(head -1 "$1")
  curl -fsS -H "Authorization: Bearer $RR_TOKEN" -o "$WORK/check.jpg" "$RR_URL$path" || { echo "check: $path failed"; exit 1; }
  size=$(vipsheader -f width "$WORK/check.jpg")x$(vipsheader -f height "$WORK/check.jpg") \
    || { echo "check: $path is not an image"; exit 1; }
  [ -z "${2:-}" ] || [ "$size" = "$2" ] || { echo "check: $path is $size, not $2"; exit 1; }
}

# The counters that say which path tiles took, as "hits misses coalesced transcoded stored".
reread_counters() {
  curl -fsS -H "Authorization: Bearer $RR_TOKEN" "$RR_URL/metrics" | awk '
    /^reread_tile_cache_hits_total /                        { h = $2 }
    /^reread_tile_cache_misses_total /                      { m = $2 }
    /^reread_tile_cache_coalesced_total /                   { c = $2 }
    /^reread_tiles_rendered_total\{path="transcode"\} /     { t = $2 }
    /^reread_tiles_rendered_total\{path="stored"\} /        { s = $2 }
    END { print h + 0, m + 0, c + 0, t + 0, s + 0 }'
}

# --- 3. peers: one nginx (static tiles + FastCGI front) and two iipsrv processes, shared by all slides ---
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
  types { image/jpeg jpeg jpg; application/xml dzi; }
  server { listen 127.0.0.1:$NG_STATIC; root $ABS_WORK; }
  # A new FastCGI connection per request. Each iipsrv process serves one connection at a time, so with
  # fastcgi_keep_conn (as in ../shared/peers/run_peers.sh) requests that nginx sends down an idle kept
  # connection wait until a process drops its own: about the same tiles/s, but p99 of seconds and timeouts.
  server {
    listen 127.0.0.1:$NG_IIP;
    location /fcgi-bin/iipsrv.fcgi { fastcgi_pass 127.0.0.1:$IIP_FCGI; include /etc/nginx/fastcgi_params; }
  }
}
NG
nginx -e "$ABS_WORK/nginx/logs/error.log" -p "$ABS_WORK/nginx" -c "$ABS_WORK/nginx/nginx.conf" &
NGINX_PID=$!; PIDS+=("$NGINX_PID")
# 64 MB image cache as for the reference figures; no logging.
MAX_IMAGE_CACHE_SIZE=64 VERBOSITY=0 spawn-fcgi -a 127.0.0.1 -p "$IIP_FCGI" -F 2 -P "$WORK/iip.pid" \
  -- /usr/lib/iipimage-server/iipsrv.fcgi >/dev/null
for _ in $(seq 50); do
  curl -fsS -o /dev/null "http://127.0.0.1:$NG_STATIC/${TAGS[0]}/dz/slide.dzi" 2>/dev/null && break; sleep 0.1
done
mapfile -t IIP_PIDS <"$WORK/iip.pid"
nginx_pids() { echo "$NGINX_PID $(ps -o pid= --ppid "$NGINX_PID" | tr '\n' ' ')"; }  # master + worker

# --- 4. measurement ---
TCK=$(getconf CLK_TCK)
cpu_ticks() {  # utime + stime of the given PIDs, all their threads (fields 14 and 15 of /proc/PID/stat)
  local p t=0
  for p in "$@"; do t=$((t + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}'))); done
  echo "$t"
}
# run TAG NAME CONNS BASE_URL URLS_FILE PID...: one wrk run; appends "NAME CONNS key=value..." to TAG's results.
run() {
  local tag=$1 name=$2 c=$3 base=$4 list=$5; shift 5
  local before after line log="$WORK/$tag/wrk-$name-c$c.log"
  before=$(cpu_ticks "$@")
  line=$(wrk -t2 -c"$c" -d"$DURATION" --timeout 10s -H "Authorization: Bearer $RR_TOKEN" -s "$HERE/cycle.lua" \
    "$base" -- "$list" 2>&1 \
    | tee "$log" | grep '^RESULT') || { echo "wrk failed:"; cat "$log"; exit 1; }
  after=$(cpu_ticks "$@")
  echo "$name $c ${line#RESULT } cpu_ticks=$((after - before))" >>"$WORK/$tag/results.txt"
  printf '  %-17s c=%-3s %s\n' "$name" "$c" "${line#RESULT }"
}
# reread_run TAG NAME CONNS LIST: run() against reread-server, also recording the path counters' change.
reread_run() {
  local before after
  before=$(reread_counters)
  run "$1" "$2" "$3" "$RR_URL" "$4" "$RR_PID"
  after=$(reread_counters)
  echo "$2 $3 $before $after" >>"$WORK/$1/paths.txt"
}

urls() { python3 "$HERE/tile_urls.py" "$@"; }

# bench_slide TAG: every contender on one slide.
bench_slide() {
  local tag=$1 d="$WORK/$1" W H list c
  W=$(vipsheader -f width "$d/iip.tif"); H=$(vipsheader -f height "$d/iip.tif")
  : >"$d/results.txt"; : >"$d/paths.txt"
  # URL lists (seed 42: the same tiles every run). Reread's name the slide ID, known once a server runs.
  local dz_fmt="_files/{l}/{c}_{r}.jpeg"
  urls deepzoom "$W" "$H" 254 $NURLS "/$tag/dz/slide$dz_fmt" >"$d/urls-static.txt"
  # IIPImage's DeepZoom grid is the TIFF's own 256 px tiles, no overlap.
  urls deepzoom "$W" "$H" 256 $NURLS "/fcgi-bin/iipsrv.fcgi?DeepZoom=$ABS_WORK/$tag/iip.tif_files/{l}/{c}_{r}.jpg" \
    >"$d/urls-iip.txt"
  urls deepzoom "$W" "$H" 254 $NURLS "/slides/@ID@$dz_fmt" >"$d/urls-reread-dz.tmpl"
  urls iiif "$W" "$H" 256 $NURLS "/iiif/3/@ID@/{x},{y},{w},{h}/{tw},{th}/0/default.jpg" 1,4,16 \
    >"$d/urls-reread-iiif.tmpl"
  with_id() { sed "s/@ID@/$RR_ID/" "$d/$1.tmpl" >"$d/$1.txt"; echo "$d/$1.txt"; }

  # Every contender reads from the page cache: this measures serving, not the disk.
  cat "$d/iip.tif" "$d"/slides/* >/dev/null
  sed "s|^|$WORK|" "$d/urls-static.txt" | sort -u | xargs cat >/dev/null

  echo "== $tag: ${W} x ${H} px"
  for c in "${CONNS[@]}"; do
    start_reread "$tag" "dz-c$c" 512
    list=$(with_id urls-reread-dz)
    check_tile "$list"
    reread_run "$tag" reread-dz-cold "$c" "$list"
    echo "  $(python3 "$HERE/prime_cache.py" "$RR_URL" "$list")"
    reread_run "$tag" reread-dz-warm "$c" "$list"
    stop_reread
  done
  start_reread "$tag" nocache 0  # no cache: every request takes its path in full
  list=$(with_id urls-reread-dz)
  for c in "${CONNS[@]}"; do reread_run "$tag" reread-dz-nocache "$c" "$list"; done
  list=$(with_id urls-reread-iiif)
  check_tile "$list" 256x256
  for c in "${CONNS[@]}"; do reread_run "$tag" reread-iiif "$c" "$list"; done
  stop_reread
  for c in "${CONNS[@]}"; do
    # shellcheck disable=SC2046  # one argument per PID
    run "$tag" iipimage "$c" "http://127.0.0.1:$NG_IIP" "$d/urls-iip.txt" "${IIP_PIDS[@]}" $(nginx_pids)
  done
  for c in "${CONNS[@]}"; do
    # shellcheck disable=SC2046
    run "$tag" nginx-static "$c" "http://127.0.0.1:$NG_STATIC" "$d/urls-static.txt" $(nginx_pids)
  done
}

# --- 5. report ---
get() {  # get TAG RUN CONNS KEY
  awk -v n="$2" -v c="$3" -v k="$4" \
    '$1 == n && $2 == c { for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }' \
    "$WORK/$1/results.txt"
}
verdict() { if awk "BEGIN { exit !($1) }"; then echo "meets target"; else echo "BELOW TARGET"; fi; }
report() {
  local tag=$1 d="$WORK/$1" c r p99 check dz
  echo
  echo "== $tag: results (CPU s/1000 = server CPU seconds per 1000 tiles; IIPImage's includes its nginx front)"
  awk -v tck="$TCK" '
    BEGIN { printf "  %-17s %4s %9s %8s %8s %7s %8s %7s %10s\n", "contender", "conn", "tiles/s", "p50 ms", "p99 ms",
              "errors", "timeouts", "non2xx", "CPU s/1000" }
    { for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
      printf "  %-17s %4s %9.0f %8.2f %8.2f %7d %8d %7d %10.2f\n", $1, $2, v["rps"], v["p50_ms"], v["p99_ms"],
        v["errors"], v["timeouts"], v["non2xx"], v["requests"] ? v["cpu_ticks"] / tck / v["requests"] * 1000 : 0 }' \
    "$d/results.txt"
  echo "  what path Reread's tiles took (from /metrics, change over each run):"
  awk '{ printf "  %-17s c=%-3s cache hits %6d, misses %6d (coalesced %4d); transcoded %6d, stored JPEG as is %6d\n",
           $1, $2, $8 - $3, $9 - $4, $10 - $5, $11 - $6, $12 - $7 }' "$d/paths.txt"
  echo "  Reread's ratios (tiles/s, higher is better):"
  ratio() { echo "$(get "$tag" "$1" "$3" rps) / $(get "$tag" "$2" "$3" rps)" | bc -l; }
  for c in "${CONNS[@]}"; do
    for dz in reread-dz-cold reread-dz-nocache; do
      r=$(ratio "$dz" iipimage "$c"); p99=$(get "$tag" "$dz" "$c" p99_ms)
      if [ "$c" = 64 ]; then check="target >= 1.5x, p99 $p99 ms < 100 ms: $(verdict "$r >= 1.5 && $p99 < 100")"
      else check="target >= 1.5x: $(verdict "$r >= 1.5")"; fi
      printf '  c=%-3s %-36s %6.2fx  (%s)\n' "$c" "${dz#reread-} / iipimage" "$r" "$check"
    done
    r=$(ratio reread-iiif iipimage "$c")
    printf '  c=%-3s %-36s %6.2fx  (target >= 10x: %s)\n' "$c" "iiif native / iipimage" "$r" "$(verdict "$r >= 10")"
    r=$(ratio reread-dz-warm nginx-static "$c")
    printf '  c=%-3s %-36s %6.2fx  (target >= 0.5x: %s)\n' "$c" "dz-warm / nginx-static" "$r" "$(verdict "$r >= 0.5")"
  done
  for f in "$d"/reread-*.err; do
    if [ -s "$f" ]; then echo "  reread-server logged to $f:"; head -5 "$f"; fi
  done
}

echo "== tile servers on loopback, $(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1))"
echo "   wrk -t2, $DURATION per run, $NURLS random tiles a slide, 90% from the three finest levels"
# Which build and how busy the box was: figures from different builds or a loaded box do not compare.
echo "   reread-server sha256 $(sha256sum "$SERVER" | cut -c1-12), load average $(cut -d' ' -f1-3 /proc/loadavg)"
for tag in "${TAGS[@]}"; do bench_slide "$tag"; done
for tag in "${TAGS[@]}"; do report "$tag"; done
if grep -q '\[\(error\|crit\|alert\|emerg\)\]' "$WORK/nginx/logs/error.log" 2>/dev/null; then
  echo "nginx logged errors (last 5 lines of $WORK/nginx/logs/error.log):"; tail -5 "$WORK/nginx/logs/error.log"
fi
echo "total $(($(date +%s) - started_at)) s"
