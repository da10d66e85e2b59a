"""The dashboard's money in funding: five `/balances?by=` calls (the gateway's way before) against
one `/balances/breakdowns`, at 100, 1,000 and 10,000 demo allocations.

    .venv/bin/python -m bench money

In process (funding's app through `httpx.ASGITransport`, no HTTP server, no load generator):
funding migrated and seeded on a throwaway database, then the demo allocations of
`bench.aggregates`; at each volume both ways in turn, 15 times, median wall-clock time.
"""

from __future__ import annotations

import statistics
import time

import httpx

from bench.aggregates import VOLUMES, _load, add_demo_allocations
from bench.gateway import _database, _services
from bench.harness.databases import usable_backends
from bench.harness.runner import Context, Section, markdown_table

BREAKDOWNS = ("operator", "funder", "theme", "year", "envelope")
TIMES = 15


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
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
        ):
            for volume in VOLUMES:
                await add_demo_allocations(url, volume - written, written)
                written = volume
                five, one = [], []
                for _ in range(TIMES):
                    started = time.perf_counter()
                    for by in BREAKDOWNS:
                        (await c.get("/api/v1/balances", params={"by": by})).raise_for_status()
                    five.append(time.perf_counter() - started)
                    started = time.perf_counter()
                    (await c.get("/api/v1/balances/breakdowns")).raise_for_status()
                    one.append(time.perf_counter() - started)
                a, b = statistics.median(five) * 1000, statistics.median(one) * 1000
                ctx.say(f"{backend} {volume}: five {a:.1f} ms, one {b:.1f} ms")
                rows.append([backend, f"{volume:,}", f"{a:.1f}", f"{b:.1f}", f"{a / b:.1f} ×"])
    return rows


async def run(ctx: Context) -> Section:
    rows = []
    for backend in await usable_backends(ctx):
        rows += await _one_backend(ctx, backend)
    load = _load()
    body = "\n".join(
        [
            "Funding's app in process (no server, no load generator), seeded, then 100, 1,000 "
            "and 10,000 committed demo allocations (left out of the money, as by default). At "
            f"each volume, {TIMES} times in turn: the five `/balances?by=` calls the dashboard "
            "made (operator, funder, theme, year, envelope; four statements each) and the one "
            "`/balances/breakdowns` it makes now (three statements); median wall-clock time. "
            f"Machine load average at the end: {load}.",
            "",
            markdown_table(
                ["backend", "demo allocations", "five /balances ms", "one /breakdowns ms", "gain"],
                rows,
            ),
        ]
    )
    return Section("Funding: the dashboard's money", body)
