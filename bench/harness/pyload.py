"""A closed-loop HTTP/1.1 load generator, for machines without wrk.

    python -m bench.harness.pyload http://127.0.0.1:8001/livez --connections 32 --duration 5

Each connection sends a GET, reads the whole answer, and sends the next (keep-alive), until the
duration is over or `--max-requests` were sent: loopback only, bounded in count and time. Prints
one JSON object: requests completed after the warm-up, seconds measured, p50/p99 in ms, errors.
It speaks just enough HTTP for the services' JSON answers (Content-Length or chunked bodies).
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import socket
import sys
import time
from urllib.parse import urlsplit

MAX_REQUESTS = 5_000_000


class Tally:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors = 0
        self.sent = 0
        self.first: float | None = None
        self.last = 0.0


async def _read_answer(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lowered = head.lower()
    if b"transfer-encoding: chunked" in lowered:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                return status
    marker = lowered.find(b"content-length:")
    if marker >= 0:
        end = lowered.index(b"\r\n", marker)
        await reader.readexactly(int(lowered[marker + 15 : end]))
    return status


async def connection(
    host: str, port: int, request: bytes, *, measure_from: float, until: float, tally: Tally
) -> None:
    reader = writer = None
    while time.perf_counter() < until and tally.sent < MAX_REQUESTS:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
                writer.transport.get_extra_info("socket").setsockopt(
                    socket.IPPROTO_TCP, socket.TCP_NODELAY, 1
                )
            assert reader is not None
            started = time.perf_counter()
            tally.sent += 1
            writer.write(request)
            status = await _read_answer(reader)
            done = time.perf_counter()
        except (OSError, asyncio.IncompleteReadError, ValueError):
            tally.errors += 1
            if writer is not None:
                writer.close()
            reader = writer = None
            await asyncio.sleep(0.01)
            continue
        if started >= measure_from:
            tally.first = started if tally.first is None else min(tally.first, started)
            tally.last = max(tally.last, done)
            tally.latencies.append(done - started)
            if status >= 400:
                tally.errors += 1
    if writer is not None:
        writer.close()


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def main(args: argparse.Namespace) -> dict[str, float | int]:
    parts = urlsplit(args.url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    if not ipaddress.ip_address(socket.gethostbyname(host)).is_loopback:
        raise SystemExit(f"{host} is not a loopback address: this tool only loads this machine")
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {path or '/'} HTTP/1.1", f"Host: {parts.netloc}", "Accept: */*"]
    lines += args.header
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    tally = Tally()
    now = time.perf_counter()
    measure_from = now + args.warmup
    until = measure_from + args.duration
    tasks = [
        connection(host, port, request, measure_from=measure_from, until=until, tally=tally)
        for _ in range(args.connections)
    ]
    await asyncio.wait_for(asyncio.gather(*tasks), args.warmup + args.duration + 20)
    seconds = tally.last - tally.first if tally.first is not None else 0.0
    return {
        "requests": len(tally.latencies),
        "seconds": seconds,
        "p50_ms": percentile(tally.latencies, 50) * 1000,
        "p99_ms": percentile(tally.latencies, 99) * 1000,
        "errors": tally.errors,
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=0.0)
    parser.add_argument("--header", action="append", default=[], help="'Name: value'")
    return parser.parse_args()


if __name__ == "__main__":
    try:
        from uvloop import run
    except ImportError:
        run = asyncio.run
    print(json.dumps(run(main(parse_args()))))
    sys.exit(0)
