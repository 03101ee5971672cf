#!/usr/bin/env bash
# The main job on an embedded default: installs what is missing, builds, generates the demo
# synthetic slide, seeds a demo case (original report, a consultant, a referrer, a tumour-board member
# and an admin, with their tokens), serves it with reread-server until interrupted (Ctrl-C), and, when a
# display is available, opens reread-viewer on the demo case as its consultant.
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

SERVER=build/server/reread-server
TOKENS="$DEMO/tokens.txt"
if [ ! -f "$DEMO/data/reread.db" ]; then
  echo "== seeding the demo case (server/api/demo_case.json) and its users"
  (umask 077 && : >"$TOKENS.partial")
  for user in admin:admin dr-consult:consultant dr-referrer:referrer board-member:board; do
    name=${user%%:*} role=${user#*:}
    extra=()
    [ "$role" = board ] && extra=(--board breast-board)
    "$SERVER" user add "$name" --role "$role" "${extra[@]}" --data "$DEMO/data"
    echo "$name $("$SERVER" token create "$name" --label demo --data "$DEMO/data")" >>"$TOKENS.partial"
  done
  "$SERVER" case import server/api/demo_case.json --slides "$DEMO/slides" --data "$DEMO/data" >/dev/null
  mv "$TOKENS.partial" "$TOKENS"
fi
token() { awk -v n="$1" '$1 == n { print $2 }' "$TOKENS"; }
ADMIN=$(token admin)

"$SERVER" --listen "$LISTEN" --slides "$DEMO/slides" --data "$DEMO/data" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null' INT TERM EXIT
for _ in $(seq 50); do curl -fs "http://$LISTEN/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
id=$(curl -fs -H "Authorization: Bearer $ADMIN" "http://$LISTEN/api/slides" | python3 -c 'import json,sys; print([s["id"] for s in json.load(sys.stdin)["slides"] if s["name"]=="demo"][0])')
cat <<TXT
== reread-server is serving the demo case (Ctrl-C stops it). Every request but /healthz needs a token:
     curl -H "Authorization: Bearer \$TOKEN" URL       (tokens are also in $TOKENS)
  admin           $(token admin)
  consultant      $(token dr-consult)      (dr-consult: assigned to the demo case)
  referrer        $(token dr-referrer)      (dr-referrer: asked for the re-read)
  tumour board    $(token board-member)      (board-member: breast-board, read-only)
  cases (JSON)      http://$LISTEN/api/cases
  the demo case     http://$LISTEN/api/cases/1
  API description   http://$LISTEN/api/openapi.json
  slides (JSON)     http://$LISTEN/api/slides
  DeepZoom          http://$LISTEN/slides/$id.dzi
  a DeepZoom tile   http://$LISTEN/slides/${id}_files/14/20_15.jpeg
  IIIF Image API 3  http://$LISTEN/iiif/3/$id/info.json
  a IIIF region     http://$LISTEN/iiif/3/$id/8000,6000,2048,2048/512,/0/default.jpg
  thumbnail         http://$LISTEN/slides/$id/thumbnail?max=512
  metrics           http://$LISTEN/metrics
TXT
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -z "${REREAD_NO_VIEWER:-}" ]; then
  echo "== opening reread-viewer on the demo case as dr-consult (closing it leaves the server running)"
  REREAD_TOKEN=$(token dr-consult) build/viewer/reread-viewer --server "http://$LISTEN" --case 1 &
  viewer=$!
  trap 'kill $viewer $server 2>/dev/null; wait $server 2>/dev/null' INT TERM EXIT
else
  echo "== no display: the viewer is not opened (on a desktop: build/viewer/reread-viewer --server http://$LISTEN --token TOKEN)"
fi
wait $server
