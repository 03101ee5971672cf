#!/usr/bin/env python3
"""CPU seconds of process trees, and of the whole machine, over one benchmark run.

    cpu_sampler.py OUT.json NAME=PID...

Until SIGTERM, every 0.2 s: each NAME's process and all its descendants (followed when they are reparented,
as Chromium's helpers are) are charged the utime + stime they use from the start; then OUT.json gets {NAME: seconds, ...,
"machine_busy_s", "others_s", "others_top", "wall_s"}: others_s is the machine's busy time that none of the
trees (nor this sampler) used, i.e. other work sharing the cores; others_top names the commands that used most. A process that lives less than one sample goes uncounted.
"""
import json
import os
import signal
import sys
import time

TCK = os.sysconf("SC_CLK_TCK")


def machine_busy():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[0] + v[1] + v[2] + v[5] + v[6] + v[7]  # user nice system irq softirq steal


def processes():
    """pid -> (ppid, starttime, utime + stime, command name)."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                head, tail = f.read().rsplit(")", 1)
        except OSError:
            continue  # gone
        rest = tail.split()
        out[int(name)] = (int(rest[1]), int(rest[19]), int(rest[11]) + int(rest[12]), head.split("(", 1)[1])
    return out


def main():
    out_path = sys.argv[1]
    roots = {}
    for arg in sys.argv[2:]:
        name, pid = arg.split("=")
        roots[name] = int(pid)
    tracked = {name: set() for name in roots}  # (pid, starttime) of each tree's members
    ticks = {}  # (pid, starttime) -> utime + stime last seen
    base = {}  # what processes alive at the start had used before it
    everyone = {}  # (pid, starttime) -> (command, utime + stime last seen), every process on the box
    first = True
    stop = False

    def on_term(*_):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    busy0, t0 = machine_busy(), time.monotonic()
    while True:
        procs = processes()
        children = {}
        for pid, (ppid, start, used, comm) in procs.items():
            children.setdefault(ppid, []).append(pid)
            everyone[(pid, start)] = (comm, used)
            if first:
                base[(pid, start)] = used
        for name, root in roots.items():
            members = tracked[name]
            todo = [root] + [pid for pid, start in members if pid in procs and procs[pid][1] == start]
            seen = set()
            while todo:
                pid = todo.pop()
                if pid in seen or pid not in procs:
                    continue
                seen.add(pid)
                key = (pid, procs[pid][1])
                members.add(key)
                ticks[key] = procs[pid][2]
                todo.extend(children.get(pid, []))
        first = False
        if stop:
            break
        time.sleep(0.2)
    wall, busy = time.monotonic() - t0, (machine_busy() - busy0) / TCK
    result = {name: sum(ticks[k] - base.get(k, 0) for k in members) / TCK for name, members in tracked.items()}
    own = os.times()
    sampler = own.user + own.system
    result.update(machine_busy_s=busy, sampler_s=sampler, wall_s=wall,
                  others_s=max(0.0, busy - sum(result.values()) - sampler))
    # Who the others were: the untracked commands that used the most.
    ours = set().union(*tracked.values())
    by_command = {}
    for key, (comm, used) in everyone.items():
        if key not in ours and key[0] != os.getpid():
            by_command[comm] = by_command.get(comm, 0) + (used - base.get(key, 0)) / TCK
    result["others_top"] = sorted(([c, round(v, 1)] for c, v in by_command.items() if v >= 0.5), key=lambda cv: -cv[1])[:4]
    with open(out_path, "w") as f:
        json.dump(result, f)
        f.write("\n")


if __name__ == "__main__":
    main()
