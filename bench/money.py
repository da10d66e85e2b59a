"""The dashboard's money in funding: the one `/balances/breakdowns` call the gateway's dashboard
makes, at 100, 1,000 and 10,000 demo allocations, against the statement over the kept sums it
reads.

    .venv/bin/python -m bench money

In process (funding's app through `httpx.ASGITransport`, no HTTP server, no load generator):
funding migrated and seeded on a throwaway database, then the demo allocations of
`bench.aggregates`. At each volume (once the relay has sequenced the events written), for the
whole programme and for one Région, demo money left out (the dashboard's default) and counted:
the call `TIMES` times, median wall-clock time and CPU time of the process per call
(`time.process_time`); and the finest grouping's statement alone, through the app's own driver
reader, median wall-clock time.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import httpx

from bench.aggregates import VOLUMES, _load, add_demo_allocations
from bench.gateway import _database, _services
from bench.harness.databases import usable_backends
from bench.harness.runner import Context, Section, markdown_table

TIMES = 15
# The dashboard's calls: the whole programme or one Région, demo money left out or counted.
CALLS: dict[str, dict[str, str]] = {
    "programme": {"include_demo": "false"},
    "programme, demo counted": {"include_demo": "true"},
    "Région 27": {"region": "27", "include_demo": "false"},
}


async def _settled(engine: Any) -> None:
    """Once the app's relay has given every event just written its feed position: until then,
    it shares the process with the calls measured."""
    from sqlalchemy import text

    for _ in range(600):
        async with engine.connect() as connection:
            pending = await connection.scalar(
                text("SELECT 1 FROM events WHERE position IS NULL LIMIT 1")
            )
        if pending is None:
            return
        await asyncio.sleep(0.2)


async def _call(c: httpx.AsyncClient, params: dict[str, str]) -> tuple[float, float]:
    """Median wall-clock ms, and CPU µs per call."""
    for _ in range(3):
        (await c.get("/api/v1/balances/breakdowns", params=params)).raise_for_status()
    walls = []
    cpu = time.process_time()
    for _ in range(TIMES):
        started = time.perf_counter()
        (await c.get("/api/v1/balances/breakdowns", params=params)).raise_for_status()
        walls.append(time.perf_counter() - started)
    return statistics.median(walls) * 1000, (time.process_time() - cpu) / TIMES * 1e6


async def _statement(rows: Any, params: dict[str, str]) -> float:
    """The finest grouping's statement alone (what the database does), median wall-clock ms."""
    from funding.balances import queries

    region = params.get("region")
    stmt = queries.kept_grouped(
        regional=region is not None,
        by_operator=False,
        include_demo=params["include_demo"] == "true",
    )
    walls = []
    for _ in range(TIMES):
        started = time.perf_counter()
        await rows.all(stmt, region=region or "")
        walls.append(time.perf_counter() - started)
    return statistics.median(walls) * 1000


async def _one_backend(ctx: Context, backend: str) -> list[list[str]]:
    from funding.main import create_app
    from funding.settings import FundingSettings

    funding = next(s for s in _services() if s.name == "funding")
    rows = []
    async with _database(ctx, backend, funding) as url:
        app = create_app(FundingSettings(database_url=url, environment="test", log_level="WARNING"))
        written = 0
        async with (
            app.router.lifespan_context(app),
            # Uncompressed, as the gateway asks (its clients send no Accept-Encoding).
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://t",
                headers={"Accept-Encoding": "identity"},
            ) as c,
        ):
            for volume in VOLUMES:
                await add_demo_allocations(url, volume - written, written)
                written = volume
                await _settled(app.state.engine)
                for name, params in CALLS.items():
                    wall, cpu = await _call(c, params)
                    alone = await _statement(app.state.rows, params)
                    ctx.say(
                        f"{backend} {volume} {name}: {wall:.2f} ms, {cpu:,.0f} µs CPU, "
                        f"statement {alone:.2f} ms"
                    )
                    rows.append(
                        [
                            backend,
                            f"{volume:,}",
                            name,
                            f"{wall:.2f}",
                            f"{cpu:,.0f}",
                            f"{alone:.2f}",
                            f"{wall / alone:.1f} ×",
                        ]
                    )
    return rows


async def run(ctx: Context) -> Section:
    rows = []
    for backend in await usable_backends(ctx):
        rows += await _one_backend(ctx, backend)
    load = _load()
    body = "\n".join(
        [
            "Funding's app in process (no server, no load generator), seeded, then 100, 1,000 "
            "and 10,000 committed demo allocations. At each volume, the one "
            "`/balances/breakdowns` call the dashboard makes, uncompressed as the gateway asks "
            "(the programme, or one Région; demo money left out as by default, or counted), "
            f"{TIMES} times: median wall-clock time and CPU time per call; beside it, the "
            "finest grouping's statement over the kept sums (`balance_sums`) alone, through "
            "the app's driver reader, and the call's time over the statement's. The call reads "
            "three kept statements through the driver (the grouping with its names, the "
            "nested envelopes, the reported figures). "
            f"Machine load average at the end: {load}.",
            "",
            markdown_table(
                [
                    "backend",
                    "demo allocations",
                    "call",
                    "p50 ms",
                    "CPU µs / call",
                    "statement alone ms",
                    "call / statement",
                ],
                rows,
            ),
        ]
    )
    return Section("Funding: the dashboard's money", body)
