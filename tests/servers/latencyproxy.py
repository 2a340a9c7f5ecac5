#!/usr/bin/env python3
"""latencyproxy: a loopback TCP proxy that adds network latency (python3 stdlib only).

What a client far from its server sees: every response arrives DELAY later than the server sent
it, and every new connection costs one DELAY before its first request is read (the handshake's
round trip), so connection reuse pays off as it does on a real network. Bytes pass through
unchanged (HTTP/1.1 keep-alive, chunked bodies, any Host header), so a registry's absolute
Location URLs and token realms keep pointing at the proxy. asyncio, no thread per request: a
few thousand requests a second on one core, so the proxy is not what a benchmark measures.

Usage
  latencyproxy.py --upstream 127.0.0.1:5000 [--port 0] [--delay-ms 50]
  Prints "PORT <n> CONTROL <m>" on stdout (flushed). Listens on 127.0.0.1 only. Stop it by PID.

Control port (one line in, one line out):
  "delay MS"   set the delay for data from now on        -> "ok"
  "stats"      {"connections": N, "requests": N} since the last "stats" (then reset), where a
               request is a burst of client bytes after the server last answered
"""
import argparse
import asyncio
import json
import sys
import time

STATE = {"delay": 0.0, "connections": 0, "requests": 0}


async def pump_up(reader, writer, conn):
    """Client to server, immediately; counts request bursts."""
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            if conn["answered"]:
                STATE["requests"] += 1
                conn["answered"] = False
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            writer.write_eof()
        except (ConnectionError, OSError, RuntimeError):
            pass


async def pump_down(reader, writer, conn):
    """Server to client, each chunk DELAY after it arrived, in order."""
    queue = asyncio.Queue()

    async def deliver():
        while True:
            due, data = await queue.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if data is None:
                break
            writer.write(data)
            await writer.drain()

    sender = asyncio.ensure_future(deliver())
    try:
        while True:
            data = await reader.read(65536)
            conn["answered"] = True
            queue.put_nowait((time.monotonic() + STATE["delay"], data or None))
            if not data:
                break
        await sender
    except (ConnectionError, OSError):
        sender.cancel()
    finally:
        try:
            writer.close()
        except (ConnectionError, OSError, RuntimeError):
            pass


async def handle(creader, cwriter, upstream):
    STATE["connections"] += 1
    await asyncio.sleep(STATE["delay"])  # the handshake's round trip
    host, port = upstream.rsplit(":", 1)
    try:
        ureader, uwriter = await asyncio.open_connection(host, int(port))
    except OSError:
        cwriter.close()
        return
    conn = {"answered": True}
    await asyncio.gather(pump_up(creader, uwriter, conn), pump_down(ureader, cwriter, conn))


async def control(reader, writer):
    line = (await reader.readline()).decode().split()
    if line[:1] == ["delay"] and len(line) == 2:
        STATE["delay"] = float(line[1]) / 1000
        writer.write(b"ok\n")
    elif line[:1] == ["stats"]:
        writer.write((json.dumps({"connections": STATE["connections"],
                                  "requests": STATE["requests"]}) + "\n").encode())
        STATE["connections"] = STATE["requests"] = 0
    else:
        writer.write(b"error\n")
    await writer.drain()
    writer.close()


async def main(args):
    STATE["delay"] = args.delay_ms / 1000
    srv = await asyncio.start_server(lambda r, w: handle(r, w, args.upstream), "127.0.0.1",
                                     args.port)
    ctl = await asyncio.start_server(control, "127.0.0.1", 0)
    print(f"PORT {srv.sockets[0].getsockname()[1]} CONTROL {ctl.sockets[0].getsockname()[1]}",
          flush=True)
    await asyncio.gather(srv.serve_forever(), ctl.serve_forever())


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--upstream", required=True, help="HOST:PORT of the server")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--delay-ms", type=float, default=0)
    try:
        asyncio.run(main(p.parse_args()))
    except KeyboardInterrupt:
        sys.exit(0)
