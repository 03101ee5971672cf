#!/usr/bin/env bash
# The main job on an embedded default: installs what is missing, builds, generates the demo
# synthetic slide, prints its metadata and writes its DeepZoom pyramid.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build --parallel "$(nproc)"

DEMO=${REREAD_DEMO_DIR:-demo}
mkdir -p "$DEMO"
if [ ! -f "$DEMO/demo.svs" ]; then
  echo "== generating the demo slide ($DEMO/demo.svs, 20000 x 16000 px at 0.25 um/px)"
  build/tiler/reread-tiler synth "$DEMO/demo.svs" --width 20000 --height 16000 --seed 1
fi
echo "== reread-tiler info $DEMO/demo.svs"
build/tiler/reread-tiler info "$DEMO/demo.svs"
echo "== reread-tiler dzi $DEMO/demo.svs $DEMO/dzi"
build/tiler/reread-tiler dzi "$DEMO/demo.svs" "$DEMO/dzi"
echo "== wrote $DEMO/dzi/demo.dzi and $(find "$DEMO/dzi/demo_files" -type f | wc -l) tiles"
