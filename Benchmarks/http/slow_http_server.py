#!/usr/bin/env python3
"""The HTTP service the http benchmarks query: answers every request after DELAY_MS, on
loopback, with keep-alive (asyncio, one process, no thread per connection, so thousands
of waiting requests cost it little). Prints its port as its first line; stops on SIGTERM
or when its parent dies. Usage: slow_http_server.py DELAY_MS
"""
import asyncio
import os
import sys

DELAY = int(sys.argv[1]) / 1000 if len(sys.argv) > 1 else 0.1
BODY = b'{"allow": 1, "limit": 5}'
REPLY = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(BODY)) + BODY


async def serve(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            await asyncio.sleep(DELAY)
            writer.write(REPLY)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def watch_parent(parent):
    while os.getppid() == parent:
        await asyncio.sleep(0.5)
    os._exit(0)


async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", 0, backlog=4096)
    print(server.sockets[0].getsockname()[1], flush=True)
    asyncio.ensure_future(watch_parent(os.getppid()))
    async with server:
        await server.serve_forever()


asyncio.run(main())
