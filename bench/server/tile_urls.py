#!/usr/bin/env python3
"""Random tile URL lists for the tile-server benchmark, one path a line, the same for every run (seed 42).

  tile_urls.py deepzoom W H TILE N FORMAT
      N DeepZoom tiles of a W x H slide on a TILE px grid: 90% from the three finest levels (weights 3:2:1,
      as a pathologist reviewing at high power asks for them), 10% from the coarse levels 8 .. finest-3.
      FORMAT names the path, with {l} {c} {r}: "/slides/ID_files/{l}/{c}_{r}.jpeg".
  tile_urls.py iiif W H TILE N FORMAT DOWNSAMPLES
      N IIIF regions that are exactly one whole stored TILE px tile of a level with the given downsamples
      (comma separated, finest first, weights 3:2:1 ...), so a server can send the stored JPEG as is.
      Edge tiles, cut short by the slide's border, are left out: they cannot be sent without transcoding.
      FORMAT has {x} {y} {w} {h} {tw} {th}: "/iiif/3/ID/{x},{y},{w},{h}/{tw},{th}/0/default.jpg".
"""
import math
import random
import sys


def deepzoom(W, H, tile, n, fmt, rnd):
    finest = math.ceil(math.log2(max(W, H)))  # DeepZoom level whose size is the slide's own
    for _ in range(n):
        if rnd.random() < 0.9:
            level = finest - rnd.choice([0, 0, 0, 1, 1, 2])
        else:
            level = rnd.randint(8, finest - 3)
        scale = 2 ** (finest - level)
        lw, lh = math.ceil(W / scale), math.ceil(H / scale)
        yield fmt.format(l=level, c=rnd.randrange(math.ceil(lw / tile)), r=rnd.randrange(math.ceil(lh / tile)))


def iiif(W, H, tile, n, fmt, downsamples, rnd):
    weights = list(range(len(downsamples), 0, -1))  # finest level most often, as above
    for _ in range(n):
        ds = rnd.choices(downsamples, weights)[0]
        span = tile * ds  # level-0 pixels one stored tile covers
        x, y = rnd.randrange(W // span) * span, rnd.randrange(H // span) * span
        yield fmt.format(x=x, y=y, w=span, h=span, tw=tile, th=tile)


def main(argv):
    if len(argv) < 7 or argv[1] not in ("deepzoom", "iiif"):
        sys.exit(__doc__)
    W, H, tile, n, fmt = int(argv[2]), int(argv[3]), int(argv[4]), int(argv[5]), argv[6]
    rnd = random.Random(42)
    if argv[1] == "deepzoom":
        urls = deepzoom(W, H, tile, n, fmt, rnd)
    else:
        urls = iiif(W, H, tile, n, fmt, [int(d) for d in argv[7].split(",")], rnd)
    sys.stdout.write("".join(u + "\n" for u in urls))


if __name__ == "__main__":
    main(sys.argv)
