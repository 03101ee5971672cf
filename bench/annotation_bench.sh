#!/usr/bin/env bash
# Annotation drawing benchmark: does reread-viewer keep its frame rate with 10,000 annotations of 100
# vertices each (1,000,000 in all) on the slide? The same pan-and-zoom review of the same slide, from the
# same reread-server, once in a case without annotations (the bare slide) and once in a case holding them;
# the frame rates are compared (target: at most 20% lower with the annotations).
#   bench/annotation_bench.sh [COUNT [VERTICES]]     (BENCH_LOCK=FILE as in bench/viewer_bench.sh)
# Slide: the 50000 x 50000 synthetic SVS of the viewer benchmark (bench/out/synth-50000.svs, made if missing).
# Annotations: bench/viewer/annotation_layer.py, irregular closed outlines 60..600 px across on the tissue,
# imported through the server's QuPath GeoJSON import. Viewer under Xvfb with Mesa's llvmpipe, 1920 x 1080,
# script: open at fit, then at 1.25x, 2.5x, 5x, 10x and 20x: wait until sharp and pan 24 times by 160 px,
# 40 ms apart (the view keeps drawing every frame). A first run of the bare case warms the server's tile
# cache, so both measured runs read the same cached tiles. Frame times are the viewer's own (--report),
# with each frame's CPU time by phase.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${1:-10000}
VERTICES=${2:-100}
SIZE=50000
OUT=${BENCH_DIR:-bench/out}
WORK="$OUT/annotations"
BUILD=build-vbench
VIEW=1920x1080

wait_lock() { [ -z "${BENCH_LOCK:-}" ] || while [ -e "$BENCH_LOCK" ]; do sleep 15; done; }
HOLDING_LOCK=0
take_lock() {
  [ -n "${BENCH_LOCK:-}" ] || return 0
  while ! (set -o noclobber; echo "$$ bench/annotation_bench.sh" >"$BENCH_LOCK") 2>/dev/null; do wait_lock; done
  HOLDING_LOCK=1
}
SERVER_PID=""
cleanup() {
  [ -z "$SERVER_PID" ] || { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; }
  if [ "$HOLDING_LOCK" = 1 ]; then rm -f "$BENCH_LOCK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_lock
scripts/install-deps.sh >/dev/null
command -v xvfb-run >/dev/null || { echo "annotation_bench: xvfb-run not found (apt-get install xvfb)"; exit 1; }
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DREREAD_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD" --parallel 2 --target reread-server reread-tiler reread-viewer >/dev/null
SERVER=$BUILD/server/reread-server
VIEWER=$BUILD/viewer/reread-viewer
mkdir -p "$WORK/slides"
SYNTH="$OUT/synth-$SIZE.svs"
if [ ! -f "$SYNTH" ]; then
  echo "making $SYNTH ..."
  "$BUILD/tiler/reread-tiler" synth "$SYNTH.partial-$$.svs" --width "$SIZE" --height "$SIZE" --seed 42 \
    --jobs "$(nproc)" >/dev/null
  mv "$SYNTH.partial-$$.svs" "$SYNTH"
fi
ln -sfn "$(realpath --relative-to="$WORK/slides" "$SYNTH")" "$WORK/slides/synth-$SIZE.svs"

# Two cases on the same slide: one keeps the annotations, the other stays bare.
rm -rf "$WORK/data" "$WORK/state"
"$SERVER" user add reviewer --role consultant --data "$WORK/data" 2>/dev/null
TOKEN=$("$SERVER" token create reviewer --data "$WORK/data" 2>/dev/null)
for name in ANNOTATED BARE; do
  python3 - "$SIZE" "$name" >"$WORK/case-$name.json" <<'PY'
import json, sys
case = json.load(open("server/api/demo_case.json"))
case.pop("referrer")
case.update(accession="BENCH-" + sys.argv[2], consultants=["reviewer"], boards=[],
            slides=[{"name": f"synth-{sys.argv[1]}", "label": "A1 H&E (synthetic)"}])
print(json.dumps(case))
PY
  declare "CASE_$name=$("$SERVER" case import "$WORK/case-$name.json" --slides "$WORK/slides" --data "$WORK/data" 2>/dev/null)"
done

"$SERVER" --listen 127.0.0.1:0 --slides "$WORK/slides" --data "$WORK/data" --log-level warn \
  >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!
URL=""
for _ in $(seq 100); do
  URL=$(sed -n 's/^listening on \(http:[^ ]*\)$/\1/p' "$WORK/server.out")
  [ -n "$URL" ] && break
  sleep 0.1
done
[ -n "$URL" ] || { echo "reread-server did not start"; cat "$WORK/server.err"; exit 1; }
api() { curl -fsS -H "Authorization: Bearer $TOKEN" "$URL$1"; }
SLIDE_ID=$(api /api/slides | python3 -c 'import json, sys; print(json.load(sys.stdin)["slides"][0]["id"])')
api "/slides/$SLIDE_ID/thumbnail?max=512" >"$WORK/thumbnail.jpg"
vips copy "$WORK/thumbnail.jpg" "$WORK/thumbnail.ppm"
python3 bench/viewer/annotation_layer.py "$WORK/thumbnail.ppm" "$SIZE" "$SIZE" "$COUNT" "$VERTICES" \
  "$WORK/annotations.geojson"
t0=$(date +%s.%N)
api_import=$(curl -fsS -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/geo+json" \
  --data-binary "@$WORK/annotations.geojson" \
  "$URL/api/cases/$CASE_ANNOTATED/slides/$SLIDE_ID/annotations/import?format=geojson")
t1=$(date +%s.%N)
echo "== annotation drawing, 2 cores, llvmpipe, window $VIEW"
echo "   imported $(echo "$api_import" | python3 -c 'import json,sys; print(json.load(sys.stdin)["imported"])') annotations" \
  "($VERTICES vertices each, $(du -h "$WORK/annotations.geojson" | cut -f1) of GeoJSON) in $(python3 -c "print(round($t1 - $t0, 2))") s"

for case_name in ANNOTATED BARE; do
  case_id_var="CASE_$case_name"
  python3 - "${!case_id_var}" "$SLIDE_ID" "$SIZE" >"$WORK/script-$case_name.json" <<'PY'
import json, sys
case, slide, size = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
steps = [{"open": {"case": case, "slide": slide}}, {"wait": "saved"}, {"wait": 500}]
for i, m in enumerate([1.25, 2.5, 5, 10, 20]):
    steps += [{"zoom": {"magnification": m, "center": [size * (0.35 + 0.06 * i), size * 0.5]}}, {"wait": "sharp"}]
    for k in range(24):
        steps += [{"pan": {"dx": 160 if (k // 6) % 2 == 0 else -160, "dy": 0}}, {"wait": 40}]
print(json.dumps(steps))
PY
done

run_viewer() {  # run_viewer CASE_NAME REPORT
  timeout -k 10 900 xvfb-run -a -s "-screen 0 ${VIEW}x24" "$VIEWER" --server "$URL" --token "$TOKEN" \
    --size "$VIEW" --state-dir "$WORK/state" --timeout 120 --script "$WORK/script-$1.json" --report "$2" \
    >"$2.log" 2>&1 || { echo "reread-viewer failed:"; tail -5 "$2.log"; exit 1; }
}
take_lock
echo "   load average before measuring $(cut -d' ' -f1-3 /proc/loadavg)"
run_viewer BARE "$WORK/warmup.json"
run_viewer ANNOTATED "$WORK/annotated.json"
run_viewer BARE "$WORK/bare.json"
python3 - "$WORK/bare.json" "$WORK/annotated.json" "$COUNT" "$VERTICES" <<'PY'
import json, sys
bare, ann = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
def row(name, key):
    b, a = bare["frame_phases_ms"][key]["p50"], ann["frame_phases_ms"][key]["p50"]
    print(f"     {name:<34}{b:>10.2f}{a:>12.2f}")
fb, fa = bare["frame_ms"]["p50"], ann["frame_ms"]["p50"]
print(f"   {'':<36}{'bare':>10}{'annotated':>12}")
print(f"   {'frame time p50 (ms)':<36}{fb:>10.1f}{fa:>12.1f}")
print(f"   {'frame time p99 (ms)':<36}{bare['frame_ms']['p99']:>10.1f}{ann['frame_ms']['p99']:>12.1f}")
print(f"   {'frames per second (from p50)':<36}{1000 / fb:>10.1f}{1000 / fa:>12.1f}")
print("   CPU ms per frame by phase, p50:")
for name, key in [("planning", "plan"), ("texture uploads", "upload"), ("tile draw calls", "draw"),
                  ("annotation outlines", "annotations"), ("ImGui (panels, overlay)", "ui"), ("swap (GPU work)", "swap")]:
    if key in bare["frame_phases_ms"]:
        row(name, key)
drop = 1 - fb / fa
print(f"   frame rate with {int(sys.argv[3]):,} annotations x {int(sys.argv[4])} vertices: "
      f"{100 * drop:.1f}% lower than on the bare slide (target: at most 20% lower) -> "
      f"{'meets target' if drop <= 0.20 else 'MISSES TARGET'}")
print(f"   renderer: {ann['renderer']}")
PY
