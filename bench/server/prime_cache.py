#!/usr/bin/env python3
"""prime_cache.py BASE_URL URLS_FILE [CONNECTIONS]: asks for every distinct URL once, so the server's tile
cache holds the whole list before a warm-cache run. Prints how many answered 200 and how long it took;
exits 1 if any did not."""
import http.client
import os
import sys
import threading
import time
import urllib.parse


def fetch_all(host, port, paths, failures):
    conn = http.client.HTTPConnection(host, port, timeout=30)  # one keep-alive connection per thread
    for p in paths:
        conn.request("GET", p, headers=HEADERS)
        res = conn.getresponse()
        res.read()
        if res.status != 200:
            failures.append(f"{res.status} {p}")


# reread-server wants the bearer token the benchmark created (RR_TOKEN).
HEADERS = {"Authorization": "Bearer " + os.environ["RR_TOKEN"]} if os.environ.get("RR_TOKEN") else {}


def main():
    base = urllib.parse.urlsplit(sys.argv[1])
    with open(sys.argv[2]) as f:
        paths = list(dict.fromkeys(line.strip() for line in f if line.strip()))
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    failures = []
    started = time.monotonic()
    threads = [threading.Thread(target=fetch_all, args=(base.hostname, base.port, paths[i::n], failures))
               for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"primed {len(paths) - len(failures)}/{len(paths)} tiles in {time.monotonic() - started:.1f} s")
    for line in failures[:5]:
        print("  not 200:", line)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
