"""The gateway's own share of the dossier and the dashboard: CPU per aggregate, p50 against parts.

    .venv/bin/python scripts/gateway_aggregates_cpu.py sqlite [--requests 200] [--profile]
        [--dump answers.json]
    TDI_TEST_DATABASE_URL=postgresql+asyncpg://... .venv/bin/python \
        scripts/gateway_aggregates_cpu.py postgresql

The suite of `bench.gateway` (three services and the gateway, one uvicorn process each, seeded,
the bench programme for ti-2708), then, one connection, sequential requests, interleaved: each
part of an aggregate asked straight from its service, then the aggregate through the gateway.
Printed: p50 of each, the aggregate's p50 over its slowest part's, and the gateway process's CPU
(user + system, from /proc) per aggregate request. `--dump` writes each aggregate's status,
ETag and body (hex of a hash) to compare two trees' answers; `--profile` samples the gateway
with py-spy while wrk loads each aggregate and prints the hottest frames. Writes no doc.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.aggregates import DASHBOARD, _parts  # noqa: E402
from bench.gateway import DOSSIER, _cpu_seconds, suite  # noqa: E402
from bench.harness.load import Scenario, pick_generator  # noqa: E402
from bench.harness.runner import Context  # noqa: E402
from bench.harness.sampling import sample_under_load  # noqa: E402

# Answers compared byte for byte between two trees: the aggregates with their variants.
COMPARED = [
    DOSSIER,
    DOSSIER + "?include_demo=true",
    "/api/v1/territories/ti-0000/dossier",
    DASHBOARD,
    DASHBOARD + "?region=27",
    DASHBOARD + "?phase=1&include_demo=true",
]


async def _timed(client: httpx.AsyncClient, url: str) -> float:
    started = time.perf_counter()
    r = await client.get(url)
    elapsed = time.perf_counter() - started
    if r.status_code != 200:
        raise RuntimeError(f"{url} answered {r.status_code}")
    return elapsed


async def _aggregate(ctx: Context, name: str, urls: dict[str, str], gateway_pid: int, n: int):
    whole = next(k for k in urls if k.startswith("the "))
    times: dict[str, list[float]] = {k: [] for k in urls}
    cpu = 0.0
    async with httpx.AsyncClient(timeout=60) as client:
        for url in urls.values():  # warm-up
            for _ in range(5):
                await _timed(client, url)
        for _ in range(n):
            for key, url in urls.items():
                if key == whole:
                    before = _cpu_seconds(gateway_pid)
                    times[key].append(await _timed(client, url))
                    cpu += _cpu_seconds(gateway_pid) - before
                else:
                    times[key].append(await _timed(client, url))
    p50 = {k: statistics.median(v) * 1000 for k, v in times.items()}
    slowest = max((k for k in urls if k != whole), key=lambda k: p50[k])
    for k, v in p50.items():
        print(f"  {k:55s} p50 {v:7.2f} ms")
    print(
        f"  {name}: {p50[whole] / p50[slowest]:.2f} x its slowest part ({slowest}); "
        f"gateway CPU {cpu / n * 1e6:,.0f} us per request"
    )


async def _dump(gateway: str, path: Path) -> None:
    out = {}
    async with httpx.AsyncClient(base_url=gateway, timeout=60) as client:
        for url in COMPARED:
            for encoding in ("identity", "gzip", "br"):
                r = await client.get(url, headers={"Accept-Encoding": encoding})
                out[f"{url} [{encoding}]"] = {
                    "status": r.status_code,
                    "etag": r.headers.get("etag"),
                    "content-encoding": r.headers.get("content-encoding"),
                    "vary": r.headers.get("vary"),
                    "body": hashlib.sha256(r.content).hexdigest(),
                    "bytes": len(r.content),
                }
    path.write_text(json.dumps(out, indent=1, sort_keys=True))
    print(f"answers written to {path}")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("backend", choices=("sqlite", "postgresql"))
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--dump", type=Path)
    parser.add_argument("--hold", type=Path, help="write the servers' URLs there and wait")
    args = parser.parse_args()
    loadgen, _ = pick_generator()
    with tempfile.TemporaryDirectory() as workdir:
        ctx = Context(
            duration=5,
            warmup=0.5,
            connections=8,
            repeat=1,
            backends=[args.backend],
            postgres_url=os.environ.get("TDI_TEST_DATABASE_URL"),
            profile=args.profile,
            workdir=Path(workdir),
            loadgen=loadgen,
        )
        async with suite(ctx, args.backend) as servers:
            gateway = servers["gateway"]
            if args.hold:
                urls = {name: server.url for name, server in servers.items()}
                args.hold.write_text(json.dumps(urls))
                await asyncio.Event().wait()
            if args.dump:
                await _dump(gateway.url, args.dump)
            parts = _parts(servers)
            for name in ("dossier", "dashboard"):
                await _aggregate(ctx, name, parts[name], gateway.pid, args.requests)
            if args.profile:
                for name, path in (("dossier", DOSSIER), ("dashboard", DASHBOARD)):
                    scenario = Scenario(name=name, url=gateway.url + path, headers={})
                    profile = await sample_under_load(ctx, gateway, scenario, seconds=10)
                    if profile is None:
                        continue
                    print(f"profile of the gateway, {name}: {profile.samples} samples")
                    print(f"  GIL held {profile.gil_held:.0%}")
                    for leaf, share in profile.top_leaves(15):
                        print(f"  {share:6.1%}  {leaf}")
                    raw = ctx.workdir / f"gateway-{name}.raw"
                    if raw.exists():
                        target = Path(f"/tmp/gw-profile-{args.backend}-{name}.raw")
                        target.write_bytes(raw.read_bytes())


if __name__ == "__main__":
    asyncio.run(main())
