#!/usr/bin/env bash
# The main job on an embedded default: installs what is missing, builds, generates the demo
# synthetic slide, and serves it with reread-server until interrupted (Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build --parallel "$(nproc)"

DEMO=${REREAD_DEMO_DIR:-demo}
LISTEN=${REREAD_LISTEN:-127.0.0.1:8080}
mkdir -p "$DEMO/slides"
if [ ! -f "$DEMO/slides/demo.svs" ]; then
  echo "== generating the demo slide ($DEMO/slides/demo.svs, 20000 x 16000 px at 0.25 um/px)"
  build/tiler/reread-tiler synth "$DEMO/slides/demo.svs" --width 20000 --height 16000 --seed 1
fi
echo "== reread-tiler info $DEMO/slides/demo.svs (summary)"
build/tiler/reread-tiler info "$DEMO/slides/demo.svs" | python3 -c '
import json, sys
j = json.load(sys.stdin)
print("  vendor %s, %d x %d px, %d levels, %.2f um/px, %sx, associated: %s" % (j["vendor"], j["dimensions"][0],
      j["dimensions"][1], j["level_count"], j["mpp_x"], j["objective_power"], ", ".join(a["name"] for a in j["associated_images"])))'

build/server/reread-server --listen "$LISTEN" --slides "$DEMO/slides" --data "$DEMO/data" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null' INT TERM EXIT
for _ in $(seq 50); do curl -fs "http://$LISTEN/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
id=$(curl -fs "http://$LISTEN/api/slides" | python3 -c 'import json,sys; print([s["id"] for s in json.load(sys.stdin)["slides"] if s["name"]=="demo"][0])')
cat <<TXT
== reread-server is serving the demo slide (Ctrl-C stops it)
  slides (JSON)     http://$LISTEN/api/slides
  DeepZoom          http://$LISTEN/slides/$id.dzi
  a DeepZoom tile   http://$LISTEN/slides/${id}_files/14/20_15.jpeg
  IIIF Image API 3  http://$LISTEN/iiif/3/$id/info.json
  a IIIF region     http://$LISTEN/iiif/3/$id/8000,6000,2048,2048/512,/0/default.jpg
  thumbnail         http://$LISTEN/slides/$id/thumbnail?max=512
  metrics           http://$LISTEN/metrics
TXT
wait $server
