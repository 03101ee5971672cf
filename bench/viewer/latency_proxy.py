#!/usr/bin/env python3
"""Delaying TCP proxy for the viewer benchmark: every chunk waits half the round trip in each direction.

    latency_proxy.py --listen 127.0.0.1:0 --upstream 127.0.0.1:8080 --rtt-ms 80 [--stats FILE] [--log FILE]
    latency_proxy.py --check URL --rtt-ms 80 [--token T]

Serve mode prints "listening on 127.0.0.1:PORT" once it accepts, then forwards each connection to the
upstream: a chunk read at time t is written at t + rtt/2, in the order it was read, so a request and its
answer on a kept-alive HTTP connection take rtt longer, while connections and large bodies still stream
(no bandwidth limit, no reordering). A new connection also waits one rtt before its first bytes go on, the
TCP handshake a real link would cost (--no-handshake: not). On SIGTERM/SIGINT it writes its byte counts as
JSON to --stats. --log FILE records when each connection opened and each request and answer went on (ms
from the start), to read a client's critical path from.

Check mode starts a proxy in front of URL's host, times GET /healthz round trips on one kept-alive
connection directly and through the proxy, and prints the added time; exit 1 if it is not rtt +- 5 ms.
"""
import argparse
import asyncio
import http.client
import json
import signal
import socket
import statistics
import sys
import time
import urllib.parse


class Counters:
    """Bytes and connections seen, both directions (one event loop: no lock needed)."""

    def __init__(self):
        self.connections = 0
        self.bytes_up = 0  # client to upstream (requests)
        self.bytes_down = 0  # upstream to client (responses)

    def as_json(self):
        return {"connections": self.connections, "bytes_up": self.bytes_up, "bytes_down": self.bytes_down}


def first_line(data):
    return data.split(b"\r\n", 1)[0].decode("latin-1")


async def delayed_pipe(reader, writer, delay_s, on_chunk, not_before=0.0):
    """Copies reader to writer, each chunk delayed by delay_s from when it was read (and from not_before,
    loop time, at the earliest), order kept.

    Reading goes on while earlier chunks wait, so the delay does not turn into a bandwidth limit."""
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def read_side():
        try:
            while True:
                data = await reader.read(256 * 1024)
                queue.put_nowait((max(loop.time(), not_before) + delay_s, data))
                if not data:
                    return
        except (ConnectionError, asyncio.CancelledError):
            queue.put_nowait((loop.time() + delay_s, b""))

    reading = asyncio.create_task(read_side())
    try:
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()  # half-close: the other direction may still be answering
                return
            on_chunk(data)
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        reading.cancel()


async def serve(listen, upstream, rtt_ms, counters, handshake=True, ready=None, log=None):
    host, port = listen.rsplit(":", 1)
    up_host, up_port = upstream.rsplit(":", 1)
    delay = rtt_ms / 2000.0

    async def handle(client_reader, client_writer):
        # The kernel completed the client's TCP handshake at once; a real link would have taken a round trip,
        # so what the client sends waits for it: a new connection costs one more RTT, as it would.
        handshake_done = asyncio.get_running_loop().time() + (rtt_ms / 1000.0 if handshake else 0.0)
        counters.connections += 1
        conn = counters.connections
        try:
            up_reader, up_writer = await asyncio.open_connection(up_host, int(up_port))
        except OSError:
            client_writer.close()
            return
        for w in (client_writer, up_writer):
            sock = w.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        if log:
            log(f"{conn} connect")

        def up(data):
            counters.bytes_up += len(data)
            if log and data[:1].isupper():  # a request starts here: "GET /path HTTP/1.1"
                log(f"{conn} > {first_line(data)}")

        def down(data):
            counters.bytes_down += len(data)
            if log and data.startswith(b"HTTP/"):
                log(f"{conn} < {first_line(data)}")

        try:
            await asyncio.gather(
                delayed_pipe(client_reader, up_writer, delay, up, handshake_done),
                delayed_pipe(up_reader, client_writer, delay, down),
                return_exceptions=True,
            )
        except asyncio.CancelledError:
            pass  # the proxy is stopping
        finally:
            for w in (client_writer, up_writer):
                w.close()

    server = await asyncio.start_server(handle, host, int(port), backlog=512)
    bound = server.sockets[0].getsockname()
    if ready is not None:
        ready.set_result(bound[1])
    else:
        print(f"listening on {bound[0]}:{bound[1]}", flush=True)
    return server


def run_server(args):
    counters = Counters()

    log = None
    if args.log:
        log_file = open(args.log, "w", buffering=1)
        start = time.monotonic()

        def log(line):  # when the bytes went on, ms from the proxy's start
            log_file.write(f"{(time.monotonic() - start) * 1000:.1f} {line}\n")

    async def main():
        server = await serve(args.listen, args.upstream, args.rtt_ms, counters, not args.no_handshake, log=log)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        server.close()

    asyncio.run(main())
    if args.stats:
        with open(args.stats, "w") as f:
            json.dump(counters.as_json(), f)
            f.write("\n")


def round_trips(host, port, token, n):
    """The first GET /healthz on a new connection (ms, connecting included), then the median and each of
    n round trips on that kept-alive connection."""
    conn = http.client.HTTPConnection(host, port, timeout=10)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    times, first = [], 0.0
    for i in range(n + 2):
        t0 = time.perf_counter()
        if i == 0:
            conn.connect()
        conn.request("GET", "/healthz", headers=headers)
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            raise RuntimeError(f"GET /healthz through {host}:{port} answered {r.status}")
        if i == 0:
            first = (time.perf_counter() - t0) * 1000.0
        elif i >= 2:  # the second warms up
            times.append((time.perf_counter() - t0) * 1000.0)
    conn.close()
    return first, statistics.median(times), times


def run_check(args):
    url = urllib.parse.urlsplit(args.check)
    counters = Counters()

    async def with_proxy():
        loop = asyncio.get_running_loop()
        ready = loop.create_future()
        server = await serve("127.0.0.1:0", f"{url.hostname}:{url.port}", args.rtt_ms, counters, True, ready)
        port = await ready
        proxied = await asyncio.to_thread(round_trips, "127.0.0.1", port, args.token, args.samples)
        server.close()
        return proxied

    direct_first, direct, _ = round_trips(url.hostname, url.port, args.token, args.samples)
    proxied_first, proxied, times = asyncio.run(with_proxy())
    added = proxied - direct
    ok = abs(added - args.rtt_ms) <= 5.0
    print(
        f"latency proxy check: GET /healthz on one kept-alive connection, median of {args.samples}: "
        f"direct {direct:.2f} ms, through the proxy {proxied:.2f} ms (min {min(times):.2f}, max {max(times):.2f}); "
        f"added {added:.2f} ms, want {args.rtt_ms:g} +- 5: {'ok' if ok else 'FAILED'}; "
        f"a new connection's first request added {proxied_first - direct_first:.2f} ms (handshake + request: 2 x {args.rtt_ms:g})"
    )
    return 0 if ok else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--listen", default="127.0.0.1:0")
    p.add_argument("--upstream")
    p.add_argument("--rtt-ms", type=float, required=True, help="added round trip, ms (half each way)")
    p.add_argument("--no-handshake", action="store_true", help="a new connection costs no extra round trip")
    p.add_argument("--log", help="serve mode: log each connection, request line and status line here, timed")
    p.add_argument("--stats", help="serve mode: write byte counts here (JSON) on exit")
    p.add_argument("--check", metavar="URL", help="measure the added round trip against URL's /healthz")
    p.add_argument("--token", default="")
    p.add_argument("--samples", type=int, default=20)
    args = p.parse_args()
    if args.check:
        return run_check(args)
    if not args.upstream:
        p.error("--upstream HOST:PORT is needed to serve")
    run_server(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
