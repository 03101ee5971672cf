#!/usr/bin/python3
"""Reference DeepZoom geometry and tiles from openslide-python's DeepZoomGenerator.

The tests compare Reread's tiler against this output. Run with Debian's /usr/bin/python3.

  deepzoom_reference.py geometry SOURCE --tile-size N --overlap N [--limit-bounds]
  deepzoom_reference.py tiles SOURCE OUTDIR L/C/R ... --tile-size N --overlap N [--limit-bounds]

SOURCE is a slide file, or a JSON description of a slide's levels and properties
(prefixed with "spec:"), for geometry cases no real slide has (bounds, odd downsamples).
"""
import argparse
import json
import sys

import openslide
from openslide.deepzoom import DeepZoomGenerator


class SpecSlide:
    """The parts of an OpenSlide object that DeepZoomGenerator's geometry reads."""

    def __init__(self, spec):
        self.level_dimensions = tuple(tuple(d) for d in spec['level_dimensions'])
        self.level_downsamples = tuple(spec['level_downsamples'])
        self.dimensions = self.level_dimensions[0]
        self.properties = {k: str(v) for k, v in spec.get('properties', {}).items()}

    def get_best_level_for_downsample(self, downsample):
        # OpenSlide's rule: the last level whose downsample is not larger.
        if downsample < self.level_downsamples[0]:
            return 0
        for i in range(1, len(self.level_downsamples)):
            if downsample < self.level_downsamples[i]:
                return i - 1
        return len(self.level_downsamples) - 1


def open_source(source):
    if source.startswith('spec:'):
        return SpecSlide(json.loads(source[5:]))
    return openslide.OpenSlide(source)


def geometry(dz):
    levels = []
    for level in range(dz.level_count):
        cols, rows = dz.level_tiles[level]
        tiles = []
        for row in range(rows):
            for col in range(cols):
                (l0, slide_level, size) = dz.get_tile_coordinates(level, (col, row))
                z = dz.get_tile_dimensions(level, (col, row))
                tiles.append([col, row, l0[0], l0[1], slide_level, size[0], size[1], z[0], z[1]])
        levels.append({'dimensions': list(dz.level_dimensions[level]),
                       'tiles_across': cols, 'tiles_down': rows, 'tiles': tiles})
    return {'level_count': dz.level_count, 'tile_count': dz.tile_count, 'levels': levels,
            'dzi': dz.get_dzi('jpeg')}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('command', choices=['geometry', 'tiles'])
    parser.add_argument('source')
    parser.add_argument('rest', nargs='*')
    parser.add_argument('--tile-size', type=int, default=254)
    parser.add_argument('--overlap', type=int, default=1)
    parser.add_argument('--limit-bounds', action='store_true')
    args = parser.parse_args()

    dz = DeepZoomGenerator(open_source(args.source), args.tile_size, args.overlap, args.limit_bounds)
    if args.command == 'geometry':
        json.dump(geometry(dz), sys.stdout)
        return
    outdir, addresses = args.rest[0], args.rest[1:]
    sizes = {}
    for address in addresses:
        level, col, row = (int(v) for v in address.split('/'))
        tile = dz.get_tile(level, (col, row))
        tile.save('%s/%d_%d_%d.png' % (outdir, level, col, row))
        sizes[address] = list(tile.size)
    json.dump(sizes, sys.stdout)


if __name__ == '__main__':
    main()
