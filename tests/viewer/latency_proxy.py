#!/usr/bin/env python3
"""A TCP relay to HOST:PORT that delays every byte by DELAY_MS in each direction, without limiting
bandwidth (one round trip gains 2 x DELAY_MS). Prints "listening on PORT" once it accepts connections.

Usage: latency_proxy.py TARGET_PORT DELAY_MS
"""
import asyncio
import sys


async def relay(reader, writer, delay):
    # Each chunk is delivered `delay` after it was read, in order: a queue of (due time, bytes).
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def read():
        while True:
            data = await reader.read(65536)
            await queue.put((loop.time() + delay, data))
            if not data:
                return

    async def write():
        while True:
            due, data = await queue.get()
            await asyncio.sleep(max(0.0, due - loop.time()))
            if not data:
                break
            writer.write(data)
            await writer.drain()
        writer.close()

    try:
        await asyncio.gather(read(), write())
    except (ConnectionError, asyncio.CancelledError):
        writer.close()


async def main():
    target_port, delay = int(sys.argv[1]), float(sys.argv[2]) / 1000.0

    async def accept(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(relay(client_reader, server_writer, delay), relay(server_reader, client_writer, delay),
                             return_exceptions=True)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    print("listening on", server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
