"""Annotations for the annotation drawing benchmark: COUNT closed outlines of VERTICES vertices each (irregular
blobs, 60..600 px across, like traced glands, nuclei clusters and tumour regions), spread over the tissue
of a slide's thumbnail, as one QuPath GeoJSON FeatureCollection.
  annotation_layer.py THUMBNAIL.ppm WIDTH HEIGHT COUNT VERTICES OUT.geojson"""
import json
import math
import random
import sys


def read_ppm(path):
    data = open(path, "rb").read()
    parts, pos = [], 0
    while len(parts) < 4:
        while data[pos:pos + 1].isspace() or data[pos:pos + 1] == b"#":
            if data[pos:pos + 1] == b"#":  # a comment runs to the end of its line
                pos = data.index(b"\n", pos)
            pos += 1
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        parts.append(data[pos:end])
        pos = end
    w, h = int(parts[1]), int(parts[2])
    return w, h, data[pos + 1:]


def main():
    thumb, width, height, count, vertices, out = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), \
        int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
    tw, th, pixels = read_ppm(thumb)
    tissue = [(x, y) for y in range(th) for x in range(tw)
              if sum(pixels[(y * tw + x) * 3:(y * tw + x) * 3 + 3]) < 3 * 215]
    rng = random.Random(7)
    classes = [("tumour", -3670016), ("stroma", -16744448), ("necrosis", -8355712)]
    features = []
    for i in range(count):
        tx, ty = rng.choice(tissue)
        cx = (tx + rng.random()) * width / tw
        cy = (ty + rng.random()) * height / th
        radius = rng.uniform(30, 300)
        phases = [rng.uniform(0, 2 * math.pi) for _ in range(3)]
        ring = []
        for k in range(vertices - 1):
            a = 2 * math.pi * k / (vertices - 1)
            r = radius * (1 + 0.18 * math.sin(3 * a + phases[0]) + 0.1 * math.sin(7 * a + phases[1])
                          + 0.05 * math.sin(13 * a + phases[2]))
            ring.append([round(min(max(cx + r * math.cos(a), 0), width), 1),
                         round(min(max(cy + r * math.sin(a), 0), height), 1)])
        ring.append(ring[0])
        name, color = classes[i % len(classes)]
        features.append({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
                         "properties": {"objectType": "annotation", "name": f"a{i}",
                                        "classification": {"name": name, "colorRGB": color}}})
    json.dump({"type": "FeatureCollection", "features": features}, open(out, "w"))


main()
