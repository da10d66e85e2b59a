"""Listing fiches-actions with filters over 10,000 actions in 500 contracts, SQLite and PostgreSQL.

    .venv/bin/python -m bench contracts

For each backend: a throwaway database, migrated, holding 500 demo contracts of 20 actions
each on 250 fictitious territories (`contracts.seed.volume`); the contracts service in its own
uvicorn process (one worker); the load on list requests with the filters front-ends use, one
action by id and one contract with its 20 actions. Then, in process, the SQL statements and
database round trips of one list request for page sizes 10, 100 and 500: the same for each.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event

from bench.harness.databases import postgres_version, throwaway_database, usable_backends
from bench.harness.load import Scenario, Summary, compare, serve
from bench.harness.runner import Context, Section, markdown_table
from bench.harness.wire import database_calls

CONTRACTS, ACTIONS_PER_CONTRACT = 500, 20
PAGE_SIZES = (10, 100, 500)
# 5,000 phase-2 actions match: every page size below is a full page.
PAGED = "/api/v1/actions?phase=2&sort=-budget_cents&limit={limit}"
NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
LISTS = [
    ("(a) all actions, default order, 50 a page", "/api/v1/actions?limit=50"),
    (
        "(b) region and priority",
        "/api/v1/actions?region=84&priority=competences&limit=50",
    ),
    ("(c) theme and financer", "/api/v1/actions?theme=friche&financer=bpifrance&limit=50"),
    (
        "(d) phase and status, by budget, 100 a page",
        "/api/v1/actions?phase=1&status=planned&sort=-budget_cents&limit=100",
    ),
    ("(e) text search `q=plateforme`", "/api/v1/actions?q=plateforme&limit=50"),
]


@dataclass
class BackendRun:
    backend: str
    summaries: dict[str, Summary]
    paths: dict[str, str]
    calls: list[dict[str, Any]]
    unit: str


async def run(ctx: Context) -> Section:
    backends = await usable_backends(ctx)
    pg = await postgres_version(ctx) if "postgresql" in backends else None
    runs = [await run_backend(ctx, backend) for backend in backends]
    return Section("Contracts: listing fiches-actions", render(ctx, runs, pg))


async def load(ctx: Context, backend: str, url: str) -> list[Any]:
    """Migrate, then add the volume; the contracts' ids."""
    from contracts.main import MIGRATIONS
    from contracts.seed.volume import load_volume
    from tdi_kit import migrations
    from tdi_kit.db import create_engine, create_sessionmaker

    engine = create_engine(url)
    try:
        await migrations.upgrade(engine, MIGRATIONS)
        async with create_sessionmaker(engine)() as session:
            ids = await load_volume(
                session, contracts=CONTRACTS, actions_per_contract=ACTIONS_PER_CONTRACT
            )
            await session.commit()
    finally:
        await engine.dispose()
    ctx.say(f"{backend}: {CONTRACTS} contracts, {CONTRACTS * ACTIONS_PER_CONTRACT} actions")
    return ids


async def run_backend(ctx: Context, backend: str) -> BackendRun:
    async with throwaway_database(ctx, backend, "contracts") as url:
        ids = await load(ctx, backend, url)
        calls, unit, action_id = await count_calls(backend, url)
        env = {"CONTRACTS_DATABASE_URL": url, "CONTRACTS_LOG_LEVEL": "WARNING"}
        async with serve(
            "contracts.main:create_app",
            factory=True,
            name=f"contracts-{backend}",
            workdir=ctx.workdir,
            env=env,
        ) as server:
            paths = dict(LISTS)
            paths["(f) one action by id"] = f"/api/v1/actions/{action_id}"
            paths["(g) one contract with its 20 actions"] = f"/api/v1/contracts/{ids[0]}"
            scenarios = [
                Scenario(name, server.url + path, pid=server.pid) for name, path in paths.items()
            ]
            ctx.say(f"{backend}: load")
            summaries = await compare(ctx, scenarios)
    return BackendRun(backend, summaries, paths, calls, unit)


async def count_calls(backend: str, url: str) -> tuple[list[dict[str, Any]], str, str]:
    """Statements (`before_cursor_execute`) and round trips of one list request per page size."""
    from contracts.main import create_app
    from contracts.settings import ContractsSettings
    from tdi_kit.testing import asgi_client

    rows: list[dict[str, Any]] = []
    async with database_calls(backend, url) as calls:
        app = create_app(
            ContractsSettings(database_url=calls.url, log_level="WARNING", log_json=False)
        )
        logging.getLogger().setLevel(logging.WARNING)
        seen: list[str] = []

        def on_execute(*args: Any) -> None:
            seen.append(" ".join(str(args[2]).split()))

        event.listen(app.state.engine.sync_engine, "before_cursor_execute", on_execute)
        try:
            async with asgi_client(app) as client:
                first = await client.get(PAGED.format(limit=10))  # opens the pool's connection
                action_id = first.json()["items"][0]["id"]
                for limit in PAGE_SIZES:
                    for path in (PAGED.format(limit=limit), LISTS[2][1].replace("50", str(limit))):
                        before, trips = len(seen), calls.total
                        response = await client.get(path)
                        response.raise_for_status()
                        rows.append(
                            {
                                "path": path,
                                "limit": limit,
                                "items": len(response.json()["items"]),
                                "statements": seen[before:],
                                "round_trips": calls.total - trips,
                                "bytes": len(response.content),
                            }
                        )
        finally:
            event.remove(app.state.engine.sync_engine, "before_cursor_execute", on_execute)
            await app.state.registry.aclose()
            await app.state.engine.dispose()
    return rows, calls.unit, action_id


def render(ctx: Context, runs: list[BackendRun], pg: str | None) -> str:
    parts = [
        f"{CONTRACTS} demo contracts of {ACTIONS_PER_CONTRACT} fiches-actions each "
        f"({CONTRACTS * ACTIONS_PER_CONTRACT:,} actions, each with 2 themes, 2 plan lines, an "
        "indicator and 2 milestones) on 250 fictitious territories of 12 regions, both phases. "
        "The contracts service as shipped, one uvicorn worker; "
        f"{ctx.rounds_text}." + (f" PostgreSQL {pg}." if pg else ""),
        "",
        "Lists are served from the JSON document stored with each action (rewritten by every "
        "write): a page is one indexed SELECT whose rows are joined into the answer without "
        "decoding them; filters are column tests or `EXISTS` on indexed tables.",
        "",
        "The server, PostgreSQL and wrk share the machine's cores: when the machine is busy "
        "(last column), compare the server's CPU per request rather than the throughput. The "
        "statement counts are the point: one SELECT per page whatever its size (SQLite adds "
        "its `BEGIN`), the same for 10, 100 and 500 items.",
    ]
    for run_ in runs:
        name = NAMES[run_.backend]
        rows = []
        for label, summary in run_.summaries.items():
            rows.append(
                [
                    f"{label}: `GET {run_.paths[label]}`",
                    f"{summary.rps:,.0f}",
                    f"{summary.p50_ms:.1f}",
                    f"{summary.p99_ms:.1f}",
                    summary.errors,
                    f"{summary.cpu_us_per_request:,.0f}",
                    f"{summary.machine_busy:.0%}",
                ]
            )
        parts += [
            "",
            f"### {name}: throughput and latency",
            "",
            markdown_table(
                [
                    "request",
                    "req/s",
                    "p50 ms",
                    "p99 ms",
                    "errors",
                    "server CPU µs/req",
                    "machine busy",
                ],
                rows,
            ),
            "",
            f"### {name}: what one list request sends to the database",
            "",
            markdown_table(
                ["request", "items", "SQL statements", run_.unit, "bytes"],
                [
                    [
                        f"`GET {c['path']}`",
                        c["items"],
                        len(c["statements"]),
                        c["round_trips"],
                        f"{c['bytes']:,}",
                    ]
                    for c in run_.calls
                ],
            ),
            "",
            "The statements of a page of 500: "
            + "; ".join(
                f"`{s[:160]}{'...' if len(s) > 160 else ''}`" for s in run_.calls[-2]["statements"]
            ),
        ]
    return "\n".join(parts)
