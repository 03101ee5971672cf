#!/usr/bin/env python3
"""The review both viewers replay, derived once from the slide's size and the server's thumbnail.

    review_path.py THUMB.ppm WIDTH HEIGHT CASE_ID SLIDE_ID OUT_DIR

Writes OUT_DIR/review.json (the moves in level-0 pixels, read by the OpenSeadragon runner) and
OUT_DIR/reread-script.json (the same moves as a reread-viewer --script). The review, for a 1920 x 1080
view of a 40x slide:
  open at fit;
  3 zooms to 40x, each centred where a 40x view is all tissue, in three different places of the slide;
  a zoom to 20x at the start of the pan path;
  20 pans of one screen width at 20x: 10 to the right, one to the left and a screen height down, 9 to the
  left (the path of ../shared/peers/osd/run.js), on the row where those 21 views hold the most tissue.
That is 24 moves, each followed by a wait until the view is sharp.
Tissue is what the thumbnail shows as stained (pink or purple), not near-white glass.
"""
import json
import sys

VIEW_W, VIEW_H = 1920, 1080  # screen pixels
PANS = 20


def read_ppm(path):
    with open(path, "rb") as f:
        data = f.read()
    # P6 header: magic, width, height, maxval, separated by whitespace; vips adds a comment line.
    fields, pos = [], 0
    while len(fields) < 4:
        while data[pos : pos + 1].isspace():
            pos += 1
        if data[pos : pos + 1] == b"#":
            pos = data.index(b"\n", pos) + 1
            continue
        end = pos
        while not data[end : end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    if fields[0] != b"P6" or int(fields[3]) != 255:
        raise SystemExit(f"{path}: not an 8-bit binary PPM")
    w, h = int(fields[1]), int(fields[2])
    return w, h, data[pos + 1 : pos + 1 + 3 * w * h]


def tissue_integral(w, h, rgb):
    """Summed-area table of the tissue mask: stained (red and blue above green), not near-white glass."""
    table = [[0] * (w + 1) for _ in range(h + 1)]
    for y in range(h):
        row_sum, above, row = 0, table[y], table[y + 1]
        base = 3 * w * y
        for x in range(w):
            r, g, b = rgb[base + 3 * x], rgb[base + 3 * x + 1], rgb[base + 3 * x + 2]
            row_sum += 1 if min(r, g, b) < 220 and max(r, b) - g >= 12 else 0
            row[x + 1] = above[x + 1] + row_sum
    return table


def main():
    thumb, W, H, case_id, slide_id, out_dir = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
    tw, th, rgb = read_ppm(thumb)
    table = tissue_integral(tw, th, rgb)
    sx, sy = tw / W, th / H  # thumbnail pixels per level-0 pixel

    def tissue(cx, cy, w, h):
        """Share of tissue in the level-0 rectangle of size w x h centred on (cx, cy)."""
        x0, x1 = max(0, int((cx - w / 2) * sx)), min(tw, int((cx + w / 2) * sx + 0.999))
        y0, y1 = max(0, int((cy - h / 2) * sy)), min(th, int((cy + h / 2) * sy + 0.999))
        if x1 <= x0 or y1 <= y0:
            return 0.0
        n = table[y1][x1] - table[y0][x1] - table[y1][x0] + table[y0][x0]
        return n / ((x1 - x0) * (y1 - y0))

    # Three 40x places (1 level-0 pixel a screen pixel): all tissue, deep in it (scored on a window twice
    # the view), at least a quarter of the slide apart, so each lands on tiles the others did not fetch.
    step = max(1, int(1 / sx))
    candidates = []
    for cy in range(VIEW_H, H - VIEW_H, 8 * step):
        for cx in range(VIEW_W, W - VIEW_W, 8 * step):
            if tissue(cx, cy, VIEW_W, VIEW_H) >= 0.95:
                candidates.append((tissue(cx, cy, 2 * VIEW_W, 2 * VIEW_H), cx, cy))
    candidates.sort(key=lambda c: (-c[0], c[2], c[1]))
    places = []
    for score, cx, cy in candidates:
        if all(max(abs(cx - px), abs(cy - py)) >= W / 4 for px, py, _ in places):
            places.append((cx, cy, score))
        if len(places) == 3:
            break
    if len(places) < 3:
        raise SystemExit("review_path: fewer than three all-tissue 40x places on this slide")

    # The pan path at 20x (2 level-0 pixels a screen pixel): its 21 views stay on the slide.
    pw, ph = 2 * VIEW_W, 2 * VIEW_H  # a view, in level-0 pixels
    half = PANS // 2

    def path_from(x0, y0):
        views, x, y = [(x0, y0)], x0, y0
        for i in range(PANS):
            if i == half:
                x, y = x - pw, y + ph
            else:
                x += pw if i < half else -pw
            views.append((x, y))
        return views

    best = None
    for y0 in range(ph // 2, H - ph - ph // 2, 4 * step):
        for x0 in range(pw // 2, W - half * pw - pw // 2 + 1, 16 * step):
            score = sum(tissue(x, y, pw, ph) for x, y in path_from(x0, y0)) / (PANS + 1)
            if best is None or score > best[0]:
                best = (score, x0, y0)
    if best is None:
        raise SystemExit(f"review_path: a {W} x {H} slide is too small for {half} pans of {pw} px")
    score, x0, y0 = best
    views = path_from(x0, y0)

    moves = [{"kind": "zoom", "magnification": 40, "center": [cx, cy], "tissue": round(s, 3)} for cx, cy, s in places]
    moves.append({"kind": "zoom", "magnification": 20, "center": list(views[0])})
    for (ax, ay), (bx, by) in zip(views, views[1:]):
        # dx, dy in screen pixels, the way the picture moves (the view moves the other way).
        moves.append({"kind": "pan", "magnification": 20, "center": [bx, by], "dx": -(bx - ax) / 2, "dy": -(by - ay) / 2})
    review = {"slide": {"width": W, "height": H, "case": int(case_id), "id": slide_id},
              "viewport": [VIEW_W, VIEW_H], "pan_path_tissue": round(score, 3), "moves": moves}
    with open(f"{out_dir}/review.json", "w") as f:
        json.dump(review, f, indent=1)

    script = [{"open": {"case": int(case_id), "slide": slide_id}}]
    for m in moves:
        if m["kind"] == "zoom":
            script.append({"zoom": {"magnification": m["magnification"], "center": m["center"]}})
        else:
            script.append({"pan": {"dx": m["dx"], "dy": m["dy"]}})
        script.append({"wait": "sharp"})
    with open(f"{out_dir}/reread-script.json", "w") as f:
        json.dump(script, f, indent=1)

    print(f"review: 40x at " + ", ".join(f"({cx}, {cy})" for cx, cy, _ in places)
          + f"; 20x pans from ({x0}, {y0}), {round(100 * score)}% tissue along the path; {len(moves)} moves")


if __name__ == "__main__":
    main()
