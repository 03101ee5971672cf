#!/usr/bin/env python3
"""Prints the viewer benchmark's table from what viewer_bench.sh left in its work folder.

    report.py WORK TEXTURE_MB RTT...

Reads WORK/rtt-RTT/{reread-report.json, osd-result.json, reread-server.json, osd-server.json,
reread-proxy.json, osd-proxy.json}; writes WORK/summary.json with every figure printed.
Percentiles are nearest-rank, as reread-viewer computes its own.
"""
import json
import math
import os
import sys

# OpenSeadragon against nginx static tiles on a 2-core machine of this kind (../shared/peers/osd), by RTT.
REFERENCE = {
    0: {"first_view_s": 1.25, "p50_s": 3.5, "p95_s": 4.2},
    80: {"first_view_s": 1.48, "p50_s": 3.6, "p95_s": 4.5},
}
REFERENCE_TILE_REQUESTS = 4497
TARGET_P95_S = {0: 0.3, 80: 0.6}
TARGET_FIRST_VIEW_S = 0.5
TARGET_WASTED = 0.10


def load(path):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def cpu_use(work_dir, client):
    """CPU seconds of the client (its process tree), the server, the proxy, and everything else on the box."""
    c = load(f"{work_dir}/{client}-cpu.json") or {}
    return {"wall_s": c["wall_s"], "client_s": c["client"], "server_s": c["server"], "proxy_s": c.get("proxy", 0.0),
            "others_s": c["others_s"], "others_top": c.get("others_top", [])} if c else {}


def fmt_cpu(u):
    if not u:
        return "-"
    proxy = f" + {u['proxy_s']:.1f}" if u["proxy_s"] else ""
    return f"{u['client_s']:.1f} / {u['server_s']:.1f}{proxy}"


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, max(1, math.ceil(p * len(values))) - 1)]


def sharp_times(moves):
    """Seconds until sharp per move; a move never seen sharp counts as missing."""
    times = [m["ms_until_sharp"] / 1000.0 for m in moves if m.get("ms_until_sharp") is not None]
    return times, len(moves) - len(times)


def fmt_s(v):
    return "-" if v is None else f"{v:.2f} s"


def fmt_n(v):
    return "-" if v is None else f"{v:,}"


def fmt_mb(v):
    return "-" if v is None else f"{v / 1e6:.1f} MB"


def ratio(a, b):
    return "-" if a is None or b in (None, 0) else f"{a / b:.2f}x"


def verdict(ok):
    return "meets target" if ok else "MISSES TARGET"


def main():
    work, texture_mb, rtts = sys.argv[1], int(sys.argv[2]), [int(r) for r in sys.argv[3:]]
    summary = {"texture_bound_bytes": texture_mb << 20, "runs": {}}
    for rtt in rtts:
        d = f"{work}/rtt-{rtt}"
        rr, osd = load(f"{d}/reread-report.json"), load(f"{d}/osd-result.json")
        rr_srv, osd_srv = load(f"{d}/reread-server.json") or {}, load(f"{d}/osd-server.json") or {}
        rr_proxy, osd_proxy = load(f"{d}/reread-proxy.json") or {}, load(f"{d}/osd-proxy.json") or {}
        ref = REFERENCE.get(rtt, {})
        row = {}
        if rr:
            t, missing = sharp_times(rr["moves"])
            fetched, never = rr["tiles"]["fetched"], rr["tiles"]["never_shown"]
            row["reread"] = {
                "first_view_s": None if rr["time_to_first_complete_view_ms"] is None else rr["time_to_first_complete_view_ms"] / 1000,
                "p50_s": percentile(t, 0.5), "p95_s": percentile(t, 0.95), "moves": len(rr["moves"]), "moves_never_sharp": missing,
                "frame_p50_ms": rr["frame_ms"]["p50"], "frame_p99_ms": rr["frame_ms"]["p99"], "frames": rr["frame_ms"]["count"],
                "tiles_fetched": fetched, "tiles_never_shown": never, "wasted": never / fetched if fetched else None,
                "bytes": rr["bytes"], "peak_texture_bytes": rr["peak_texture_bytes"], "peak_rss_bytes": rr["peak_rss_bytes"],
                "renderer": rr.get("renderer"), "server": rr_srv, "proxy": rr_proxy, "cpu": cpu_use(d, "reread"),
            }
        if osd:
            t, missing = sharp_times(osd["moves"])
            row["osd"] = {
                "first_view_s": osd["first_view_ms"] / 1000, "first_view_from_navigation_s": osd["first_view_from_navigation_ms"] / 1000,
                "p50_s": percentile(t, 0.5), "p95_s": percentile(t, 0.95), "moves": len(osd["moves"]), "moves_never_sharp": missing,
                "tile_requests": osd["tile_requests"], "tile_transfer_bytes": osd["tile_transfer_bytes"],
                "client": osd["client"], "server": osd_srv, "proxy": osd_proxy, "cpu": cpu_use(d, "osd"),
            }
        summary["runs"][rtt] = row
        r, o = row.get("reread", {}), row.get("osd", {})

        print()
        print(f"== +{rtt} ms round trip{' (through the latency proxy)' if rtt else ' (direct)'}")
        if o:
            print(f"   OpenSeadragon: {o['client']}")
        if r:
            print(f"   reread-viewer: {r['renderer']}")
        head = ("", "Reread", "OpenSeadragon", "Reread/OSD", "OSD reference", "target", "")
        lines = [head]
        p95_target = TARGET_P95_S.get(rtt)

        def add(name, rv, ov, rat="", refv="", target="", check=""):
            lines.append((name, rv, ov, rat, refv, target, check))

        add("time to first complete view", fmt_s(r.get("first_view_s")), fmt_s(o.get("first_view_s")),
            ratio(r.get("first_view_s"), o.get("first_view_s")), fmt_s(ref.get("first_view_s")),
            f"< {TARGET_FIRST_VIEW_S} s",
            verdict(r.get("first_view_s") is not None and r["first_view_s"] < TARGET_FIRST_VIEW_S) if r else "")
        add("  OSD from page navigation", "", fmt_s(o.get("first_view_from_navigation_s")), "", "(as reference)")
        add("sharp after move, p50", fmt_s(r.get("p50_s")), fmt_s(o.get("p50_s")), ratio(r.get("p50_s"), o.get("p50_s")),
            fmt_s(ref.get("p50_s")))
        add("sharp after move, p95", fmt_s(r.get("p95_s")), fmt_s(o.get("p95_s")), ratio(r.get("p95_s"), o.get("p95_s")),
            fmt_s(ref.get("p95_s")), f"<= {p95_target} s" if p95_target else "",
            verdict(r.get("p95_s") is not None and not r["moves_never_sharp"] and r["p95_s"] <= p95_target) if r and p95_target else "")
        add("moves (never sharp)", f"{r.get('moves', '-')} ({r.get('moves_never_sharp', '-')})",
            f"{o.get('moves', '-')} ({o.get('moves_never_sharp', '-')})")
        add("frame time p50 / p99", f"{r['frame_p50_ms']:.1f} / {r['frame_p99_ms']:.1f} ms" if r else "-", "-")
        add("tile requests, client's count", fmt_n(r.get("tiles_fetched")), fmt_n(o.get("tile_requests")),
            ratio(r.get("tiles_fetched"), o.get("tile_requests")), fmt_n(REFERENCE_TILE_REQUESTS))
        rs, os_ = r.get("server", {}), o.get("server", {})
        add("tile requests, server's count", fmt_n(rs.get("tile_requests")), fmt_n(os_.get("tile_requests")),
            ratio(rs.get("tile_requests"), os_.get("tile_requests")))
        add("tiles fetched, never shown",
            f"{r['tiles_never_shown']:,} ({100 * r['wasted']:.1f}%)" if r and r["wasted"] is not None else "-", "-", "", "",
            f"< {100 * TARGET_WASTED:.0f}%", verdict(r["wasted"] is not None and r["wasted"] < TARGET_WASTED) if r else "")
        add("bytes, client's count", fmt_mb(r.get("bytes")), fmt_mb(o.get("tile_transfer_bytes")),
            ratio(r.get("bytes"), o.get("tile_transfer_bytes")))
        add("bytes, server's count (bodies)", fmt_mb(rs.get("response_bytes")), fmt_mb(os_.get("response_bytes")),
            ratio(rs.get("response_bytes"), os_.get("response_bytes")))
        if rtt:
            rp, op = r.get("proxy", {}), o.get("proxy", {})
            add("bytes through the proxy (down)", fmt_mb(rp.get("bytes_down")), fmt_mb(op.get("bytes_down")),
                ratio(rp.get("bytes_down"), op.get("bytes_down")))
            add("connections through the proxy", fmt_n(rp.get("connections")), fmt_n(op.get("connections")))
        add("peak GPU texture memory", f"{r['peak_texture_bytes'] / 2**20:.0f} MiB" if r else "-", "-", "", "",
            f"<= {texture_mb} MiB (bound)", verdict(r["peak_texture_bytes"] <= texture_mb << 20) if r else "")
        add("peak RSS", f"{r['peak_rss_bytes'] / 2**20:.0f} MiB" if r else "-", "-")
        rc, oc = r.get("cpu", {}), o.get("cpu", {})
        add("CPU s: client / server" + (" + proxy" if rtt else ""), fmt_cpu(rc), fmt_cpu(oc),
            ratio(rc.get("client_s"), oc.get("client_s")))
        add("run wall time; others' CPU on the box", f"{rc['wall_s']:.0f} s; {rc['others_s']:.1f} s" if rc else "-",
            f"{oc['wall_s']:.0f} s; {oc['others_s']:.1f} s" if oc else "-")
        widths = [max(len(str(line[i])) for line in lines) for i in range(len(head))]
        for line in lines:
            print("   " + "  ".join(str(v).ljust(w) if i == 0 else str(v).rjust(w) if i < 5 else str(v).ljust(w)
                                   for i, (v, w) in enumerate(zip(line, widths))).rstrip())
        for name, u in (("Reread", rc), ("OpenSeadragon", oc)):
            if u.get("others_top"):
                print(f"   others during the {name} run: " + ", ".join(f"{c} {v:.1f} s" for c, v in u["others_top"]))
    print()
    print("   OSD reference: OpenSeadragon 6 (canvas) against nginx static tiles, ../shared/peers/osd, first view")
    print("   timed from page navigation. Ratios: Reread / OpenSeadragon (below 1: Reread is faster or takes less).")
    print("   Others' CPU: seconds the box was busy with neither client, server nor proxy during that run (the")
    print("   figures share two cores with it; a large value means a disturbed run).")
    with open(f"{work}/summary.json", "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
