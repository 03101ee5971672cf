#!/usr/bin/env bash
# Tiler benchmark: reread-tiler against libvips on the same synthetic slide, in the same run.
#   bench/tiler_bench.sh [SIZE]      (default 50000: a SIZE x SIZE synthetic slide at 0.25 um/px)
# Prints wall time and peak RSS of `dzi` vs `vips dzsave` (254/1, Q75) and of `pyramid` vs
# `vips tiffsave --tile --pyramid --compression jpeg --bigtiff`, and Reread's ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-50000}
OUT=${BENCH_DIR:-bench/out}
JOBS=$(nproc)

scripts/install-deps.sh >/dev/null
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DREREAD_BUILD_TESTS=OFF >/dev/null
cmake --build build-release --parallel "$JOBS" >/dev/null
TILER=build-release/tiler/reread-tiler

mkdir -p "$OUT"
SLIDE="$OUT/synth-$SIZE.svs"
if [ ! -f "$SLIDE" ]; then
  echo "generating $SLIDE ..."
  /usr/bin/time -f "synth: %e s wall, %M KiB peak RSS" "$TILER" synth "$SLIDE" --width "$SIZE" --height "$SIZE" --seed 42 --jobs "$JOBS"
fi
cat "$SLIDE" >/dev/null  # same warm page cache for every contender

# measure NAME COMMAND...: runs once, records "wall_s peak_kib" in $OUT/NAME.time
measure() {
  local name=$1; shift
  rm -rf "$OUT/$name"; mkdir -p "$OUT/$name"
  /usr/bin/time -f "%e %M" -o "$OUT/$name.time" "$@" >/dev/null 2>"$OUT/$name.log" || {
    echo "$name failed:"; cat "$OUT/$name.log"; exit 1; }
  read -r wall kib <"$OUT/$name.time"
  printf '  %-16s %8.1f s  %7.0f MiB peak RSS\n' "$name" "$wall" "$(echo "$kib / 1024" | bc -l)"
}

echo "slide: $SLIDE ($SIZE x $SIZE px), $JOBS cores"
echo "DeepZoom, tile 254, overlap 1, JPEG Q75:"
measure vips-dzsave vips dzsave "$SLIDE" "$OUT/vips-dzsave/slide" --tile-size 254 --overlap 1 --suffix ".jpeg[Q=75]"
measure reread-dzi "$TILER" dzi "$SLIDE" "$OUT/reread-dzi" --name slide --tile-size 254 --overlap 1 --quality 75 --jobs "$JOBS"
echo "Pyramidal BigTIFF, tile 256, JPEG Q75:"
measure vips-tiffsave vips tiffsave "$SLIDE" "$OUT/vips-tiffsave/slide.tif" --tile --tile-width 256 --tile-height 256 \
  --pyramid --compression jpeg --Q 75 --bigtiff
measure reread-pyramid "$TILER" pyramid "$SLIDE" "$OUT/reread-pyramid/slide.tif" --tile-size 256 --quality 75 --jobs "$JOBS"

ratio() { read -r a ka <"$OUT/$1.time"; read -r b kb <"$OUT/$2.time"; printf '%.2fx wall, %.2fx peak RSS' "$(echo "$a / $b" | bc -l)" "$(echo "$ka / $kb" | bc -l)"; }
echo "Reread / vips (lower is better; target <= 1.00x wall, < 1 GiB RSS):"
echo "  dzi     / dzsave   : $(ratio reread-dzi vips-dzsave)"
echo "  pyramid / tiffsave : $(ratio reread-pyramid vips-tiffsave)"
echo "tiles written: reread $(find "$OUT/reread-dzi/slide_files" -type f | wc -l), vips $(find "$OUT/vips-dzsave/slide_files" -type f | wc -l)"
