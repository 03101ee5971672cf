#!/usr/bin/env bash
# Tiler benchmark: reread-tiler against libvips on the same slides, in the same run.
#   bench/tiler_bench.sh [SIZE]
# Slides: a SIZE x SIZE synthetic H&E slide (default 50000, Aperio SVS, which vips reads through
# OpenSlide) and, when ../shared/slides is beside the project, the real tissue of
# CMU-1-Small-Region.svs mirror-tiled 11 x 9 into a 48840 x 53406 generic pyramidal TIFF (which vips
# reads with its own libtiff loader). For each: `dzi` vs `vips dzsave` (254/1, Q75) and `pyramid` vs
# `vips tiffsave --tile --pyramid --compression jpeg --bigtiff` (256, Q75): wall time, peak RSS, and
# Reread's ratios; plus where Reread's time went (read/decode, downsample, encode+write, store).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-50000}
OUT=${BENCH_DIR:-bench/out}
JOBS=$(nproc)
SHARED=../shared/slides

scripts/install-deps.sh >/dev/null
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DREREAD_BUILD_TESTS=OFF >/dev/null
cmake --build build-release --parallel "$JOBS" >/dev/null
TILER=build-release/tiler/reread-tiler
mkdir -p "$OUT"

# measure NAME COMMAND...: runs once; records "wall_s peak_kib" in $OUT/NAME.time
measure() {
  local name=$1; shift
  rm -rf "${OUT:?}/$name"; mkdir -p "$OUT/$name"
  /usr/bin/time -f "%e %M" -o "$OUT/$name.time" "$@" >/dev/null 2>"$OUT/$name.log" || {
    echo "$name failed:"; cat "$OUT/$name.log"; exit 1; }
  read -r wall kib <"$OUT/$name.time"
  printf '  %-22s %7.1f s  %6.0f MiB peak RSS' "$name" "$wall" "$(echo "$kib / 1024" | bc -l)"
  if grep -q '^{' "$OUT/$name.log"; then printf '   %s' "$(grep '^{' "$OUT/$name.log")"; fi
  echo
  rm -rf "${OUT:?}/$name"  # keep the disk free for the next contender
}
ratio() {
  read -r a ka <"$OUT/$1.time"; read -r b kb <"$OUT/$2.time"
  printf '%.2fx wall, %.2fx peak RSS' "$(echo "$a / $b" | bc -l)" "$(echo "$ka / $kb" | bc -l)"
}

# compare TAG SLIDE
compare() {
  local tag=$1 slide=$2
  cat "$slide" >/dev/null  # the same warm page cache for every contender
  echo "== $tag: $slide ($(vipsheader -f width "$slide") x $(vipsheader -f height "$slide") px), $JOBS cores"
  echo " DeepZoom, tile 254, overlap 1, JPEG Q75:"
  measure "$tag-vips-dzsave" vips dzsave "$slide" "$OUT/$tag-vips-dzsave/slide" --tile-size 254 --overlap 1 --suffix ".jpeg[Q=75]"
  measure "$tag-reread-dzi" "$TILER" dzi "$slide" "$OUT/$tag-reread-dzi" --name slide --tile-size 254 --overlap 1 \
    --quality 75 --jobs "$JOBS" --timings
  echo " Pyramidal BigTIFF, tile 256, JPEG Q75:"
  measure "$tag-vips-tiffsave" vips tiffsave "$slide" "$OUT/$tag-vips-tiffsave/slide.tif" --tile --tile-width 256 \
    --tile-height 256 --pyramid --compression jpeg --Q 75 --bigtiff
  measure "$tag-reread-pyramid" "$TILER" pyramid "$slide" "$OUT/$tag-reread-pyramid/slide.tif" --tile-size 256 \
    --quality 75 --jobs "$JOBS" --timings
  echo " Reread / vips (lower is better; target <= 1.00x wall, peak RSS < 1 GiB):"
  echo "  dzi     / dzsave   : $(ratio "$tag-reread-dzi" "$tag-vips-dzsave")"
  echo "  pyramid / tiffsave : $(ratio "$tag-reread-pyramid" "$tag-vips-tiffsave")"
}

SYNTH="$OUT/synth-$SIZE.svs"
if [ ! -f "$SYNTH" ]; then
  /usr/bin/time -f "generated $SYNTH: %e s wall, %M KiB peak RSS" \
    "$TILER" synth "$SYNTH" --width "$SIZE" --height "$SIZE" --seed 42 --jobs "$JOBS"
fi
compare synthetic "$SYNTH"

if [ -f "$SHARED/CMU-1-Small-Region.svs" ]; then
  REAL="$OUT/cmu-mirrored-11x9.tif"
  if [ ! -f "$REAL" ]; then
    work=$(mktemp -d)
    vips openslideload "$SHARED/CMU-1-Small-Region.svs" "$work/l0.v"
    vips extract_band "$work/l0.v" "$work/rgb.v" 0 --n 3
    vips flip "$work/rgb.v" "$work/h.v" horizontal
    vips join "$work/rgb.v" "$work/h.v" "$work/row.v" horizontal
    vips flip "$work/row.v" "$work/rowv.v" vertical
    vips join "$work/row.v" "$work/rowv.v" "$work/block.v" vertical
    vips replicate "$work/block.v" "$REAL[tile,pyramid,compression=jpeg,Q=85,bigtiff,tile-width=256,tile-height=256]" 11 9
    rm -rf "$work"
  fi
  compare real-tissue "$REAL"
else
  echo "(../shared/slides not found: the real-tissue comparison is skipped)"
fi
