"""Every list of every service against its own service's read by key, on SQLite and PostgreSQL.

    .venv/bin/python -m bench lists

For each backend: the three services in their own uvicorn processes (one worker each) on
throwaway databases (the registry's seed; funding's facts and demo plus generated allocations;
contracts' acts on record plus generated contracts), and the bare app sending, from memory, the
very bytes each list answered. wrk on each list's page of 100 (or what it holds), on each
service's read by key and on the bare copies, interleaved over the rounds: each list's
throughput as a ratio of its service's read by key, and of its bare copy (the ceiling). Then
at one connection: funding's and contracts' lists for one territory against a territory by
code. Then the cost per request of the lists that grow with the data, at 1×, 10× and 100×.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from bench.harness.databases import (
    postgres_version,
    registry_database,
    settle_statistics,
    throwaway_database,
    usable_backends,
)
from bench.harness.load import Scenario, Summary, compare, free_port, ratio, serve
from bench.harness.runner import Context, Section, markdown_table
from tdi_kit.auth import mint_token
from tdi_kit.settings import DEV_JWT_SECRET

NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
GOAL = 0.25
P50_GOAL = 2.0
TERRITORY = "ti-2708"
# Generated volume per scale: funding allocations, contracts of 20 actions.
SCALES = {1: (100, 5), 10: (1_000, 50), 100: (10_000, 500)}
ADMIN = {
    "Authorization": "Bearer "
    + mint_token(secret=DEV_JWT_SECRET, sub="bench", scopes=["admin"], ttl_seconds=7200)
}


@dataclass(frozen=True)
class Listed:
    service: str
    path: str
    headers: dict[str, str] = dataclasses.field(default_factory=dict)


def lists(ids: dict[str, str]) -> list[Listed]:
    allocation, contract = ids["allocation"], ids["contract"]
    return [
        Listed("registry", "/api/v1/territories?limit=100"),
        Listed("registry", "/api/v1/territories?phase=2&sort=-name&limit=100"),
        Listed("registry", "/api/v1/groupements?limit=100"),
        Listed("registry", "/api/v1/communes?limit=100"),
        Listed("registry", "/api/v1/organisations?limit=100"),
        Listed("registry", "/api/v1/programme/milestones?limit=100"),
        Listed("registry", f"/api/v1/territories/{TERRITORY}/communes?limit=100"),
        Listed("funding", "/api/v1/conventions?limit=100"),
        Listed("funding", "/api/v1/envelopes?limit=100"),
        Listed("funding", "/api/v1/allocations?limit=100"),
        Listed("funding", f"/api/v1/allocations?territory={TERRITORY}&limit=100"),
        Listed("funding", f"/api/v1/allocations/{allocation}/disbursements?limit=100"),
        Listed("funding", "/api/v1/ledger?limit=100", ADMIN),
        Listed("funding", "/api/v1/reported-figures?limit=100"),
        Listed("contracts", "/api/v1/contracts?limit=100"),
        Listed("contracts", f"/api/v1/contracts?territory={TERRITORY}&limit=100"),
        Listed("contracts", "/api/v1/actions?limit=100"),
        Listed("contracts", f"/api/v1/actions?territory={TERRITORY}&limit=100"),
        Listed("contracts", f"/api/v1/contracts/{contract}/amendments?limit=100"),
        Listed("contracts", f"/api/v1/contracts/{contract}/history?limit=100"),
    ]


def by_key(ids: dict[str, str]) -> dict[str, str]:
    return {
        "registry": f"/api/v1/territories/{TERRITORY}",
        "funding": f"/api/v1/allocations/{ids['allocation']}",
        "contracts": f"/api/v1/actions/{ids['action']}",
    }


@dataclass
class BackendRun:
    backend: str
    listed: list[tuple[Listed, int, int, int]]  # list, items, total, bytes
    summaries: dict[str, Summary]
    single: dict[str, Summary]
    scales: dict[int, dict[str, Summary]]


async def run(ctx: Context) -> Section:
    backends = await usable_backends(ctx)
    pg = await postgres_version(ctx) if "postgresql" in backends else None
    runs = [await run_backend(ctx, backend) for backend in backends]
    return Section("Lists: every list against its service's read by key", render(ctx, runs, pg))


async def prepare_funding(url: str, allocations: int, territories: list[str]) -> None:
    """Facts and demo, then `allocations` generated ones: copies of a demo allocation over the
    registry's territories (inserted as rows: the bench reads them, never moves money)."""
    from sqlalchemy import insert, select

    from funding.main import MIGRATIONS
    from funding.models import Allocation, AllocationRegion
    from funding.seed.demo import load_demo
    from funding.seed.loader import load
    from tdi_kit import migrations

    async def generated(session: Any, say: Any) -> None:
        template = (await session.scalars(select(Allocation).limit(1))).one()
        columns = {
            c.key: getattr(template, c.key) for c in Allocation.__table__.columns if c.key != "id"
        }
        start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
        rows, regions = [], []
        for i in range(allocations):
            new_id = uuid.uuid4()
            rows.append(
                {
                    **columns,
                    "id": new_id,
                    "territory_code": territories[i % len(territories)],
                    "reference": f"bench-{i}",
                    "created_at": start + dt.timedelta(minutes=i),
                    "is_demo": True,
                }
            )
            regions.append({"allocation_id": new_id, "region_code": "27"})
        for first in range(0, len(rows), 1000):
            await session.execute(insert(Allocation), rows[first : first + 1000])
            await session.execute(insert(AllocationRegion), regions[first : first + 1000])

    await migrations.migrate_and_seed(url, MIGRATIONS, load, load_demo, generated)


async def prepare_contracts(url: str, contracts: int) -> None:
    from contracts.main import MIGRATIONS
    from contracts.seed.loader import load
    from contracts.seed.volume import load_volume
    from tdi_kit import migrations

    async def volume(session: Any, say: Any) -> None:
        await load_volume(session, contracts=contracts, actions_per_contract=20)

    await migrations.migrate_and_seed(url, MIGRATIONS, load, volume)


@asynccontextmanager
async def suite(ctx: Context, backend: str, scale: int, registry_url: str) -> AsyncIterator[Any]:
    """Funding and contracts at a scale, with the registry, each served."""
    allocations, contracts = SCALES[scale]
    async with AsyncExitStack() as stack:
        funding_url = await stack.enter_async_context(
            throwaway_database(ctx, backend, f"funding{scale}")
        )
        contracts_url = await stack.enter_async_context(
            throwaway_database(ctx, backend, f"contracts{scale}")
        )
        registry = await stack.enter_async_context(
            serve(
                "registry.main:create_app",
                factory=True,
                name=f"registry{scale}",
                workdir=ctx.workdir,
                env={"REGISTRY_DATABASE_URL": registry_url, "REGISTRY_LOG_LEVEL": "WARNING"},
            )
        )
        async with httpx.AsyncClient(base_url=registry.url, timeout=60) as client:
            codes = [
                t["code"]
                for t in (await client.get("/api/v1/territories?limit=1000")).json()["items"]
            ]
        await prepare_funding(funding_url, allocations, codes)
        await prepare_contracts(contracts_url, contracts)
        for url in (funding_url, contracts_url):
            await settle_statistics(url)
        ctx.say(f"{backend} ×{scale}: {allocations} generated allocations, {contracts} contracts")
        contracts_port = free_port()
        funding = await stack.enter_async_context(
            serve(
                "funding.main:create_app",
                factory=True,
                name=f"funding{scale}",
                workdir=ctx.workdir,
                env={
                    "FUNDING_DATABASE_URL": funding_url,
                    "FUNDING_REGISTRY_URL": registry.url,
                    "FUNDING_CONTRACTS_URL": f"http://127.0.0.1:{contracts_port}",
                    "FUNDING_LOG_LEVEL": "WARNING",
                },
            )
        )
        contracts_server = await stack.enter_async_context(
            serve(
                "contracts.main:create_app",
                factory=True,
                name=f"contracts{scale}",
                workdir=ctx.workdir,
                port=contracts_port,
                env={
                    "CONTRACTS_DATABASE_URL": contracts_url,
                    "CONTRACTS_REGISTRY_URL": registry.url,
                    "CONTRACTS_FUNDING_URL": funding.url,
                    "CONTRACTS_LOG_LEVEL": "WARNING",
                },
            )
        )
        yield {"registry": registry, "funding": funding, "contracts": contracts_server}


async def discover(servers: dict[str, Any]) -> dict[str, str]:
    async with httpx.AsyncClient(timeout=60) as client:
        funding, contracts = servers["funding"].url, servers["contracts"].url
        allocation = (await client.get(f"{funding}/api/v1/allocations?limit=1")).json()
        action = (await client.get(f"{contracts}/api/v1/actions?limit=1")).json()
        contract = (await client.get(f"{contracts}/api/v1/contracts?is_demo=false")).json()
    return {
        "allocation": allocation["items"][0]["id"],
        "action": action["items"][0]["id"],
        "contract": contract["items"][0]["id"],
    }


async def run_backend(ctx: Context, backend: str) -> BackendRun:
    logging.getLogger("tdi").setLevel(logging.WARNING)
    name = NAMES[backend]
    async with registry_database(ctx, backend) as registry_url:
        async with suite(ctx, backend, 1, registry_url) as servers:
            ids = await discover(servers)
            listed, bodies = [], ctx.workdir / f"bodies-{backend}"
            bodies.mkdir(exist_ok=True)
            async with httpx.AsyncClient(timeout=60) as client:
                for i, item in enumerate(lists(ids)):
                    r = await client.get(
                        servers[item.service].url + item.path, headers=item.headers
                    )
                    r.raise_for_status()
                    page = r.json()
                    (bodies / f"{i}.json").write_bytes(r.content)
                    listed.append((item, len(page["items"]), page["total"], len(r.content)))
            async with serve(
                "bench.harness.bare:app",
                name=f"bare-{backend}",
                workdir=ctx.workdir,
                ready_path="/readyz",
                env={"BENCH_BARE_BODIES": str(bodies)},
            ) as bare:
                scenarios = [
                    Scenario(f"key {s}", servers[s].url + path, pid=servers[s].pid)
                    for s, path in by_key(ids).items()
                ]
                for i, (item, *_rest) in enumerate(listed):
                    server = servers[item.service]
                    scenarios.append(
                        Scenario(f"list {i}", server.url + item.path, item.headers, pid=server.pid)
                    )
                    scenarios.append(Scenario(f"bare {i}", f"{bare.url}/body/{i}", pid=bare.pid))
                ctx.say(f"{name}: {len(scenarios)} scenarios")
                summaries = await compare(ctx, scenarios)
            single = await one_connection(ctx, servers)
        scales = {1: single}
        for scale in (10, 100):
            async with suite(ctx, backend, scale, registry_url) as servers:
                scales[scale] = await one_connection(ctx, servers)
    return BackendRun(backend, listed, summaries, single, scales)


ONE_CONNECTION = {
    "registry: a territory by code": ("registry", f"/api/v1/territories/{TERRITORY}"),
    "registry: 100 territories": ("registry", "/api/v1/territories?limit=100"),
    "funding: the territory's allocations": (
        "funding",
        f"/api/v1/allocations?territory={TERRITORY}&limit=100",
    ),
    "funding: 100 allocations": ("funding", "/api/v1/allocations?limit=100"),
    "contracts: the territory's contracts": (
        "contracts",
        f"/api/v1/contracts?territory={TERRITORY}&limit=100",
    ),
    "contracts: the territory's actions": (
        "contracts",
        f"/api/v1/actions?territory={TERRITORY}&limit=100",
    ),
    "contracts: 100 actions": ("contracts", "/api/v1/actions?limit=100"),
}


async def one_connection(ctx: Context, servers: dict[str, Any]) -> dict[str, Summary]:
    """Latency at one connection (no queueing), and the server's CPU per request."""
    single = dataclasses.replace(ctx, connections=1)
    scenarios = [
        Scenario(label, servers[s].url + path, pid=servers[s].pid)
        for label, (s, path) in ONE_CONNECTION.items()
    ]
    return await compare(single, scenarios)


def render(ctx: Context, runs: list[BackendRun], pg: str | None) -> str:
    out = [
        "Each service in its own uvicorn process (one worker), the bare app beside them; "
        f"{ctx.connections} connections, {ctx.warmup:g} s warm-up then {ctx.duration:g} s per "
        f"measurement, median of {ctx.repeat} interleaved round(s). PostgreSQL {pg or '-'} on "
        "loopback, SQLite in WAL mode. The load generator, the servers and PostgreSQL share the "
        "machine's 2 cores with whatever else runs (`machine busy`): compare the ratios, "
        "measured in the same rounds, rather than the absolute figures.",
        "",
        "Data (×1): the registry's seed (331 territories, 1,255 groupements, 34,871 communes); "
        f"funding's facts and demo plus {SCALES[1][0]:,} generated allocations over the "
        f"registry's territories; contracts' acts on record plus {SCALES[1][1]} generated "
        "contracts of 20 actions. PostgreSQL's databases vacuumed and analysed once loaded, as "
        "autovacuum leaves them soon after a bulk load.",
        "",
        "`vs read by key`: the list's throughput over its own service's read by key (registry: "
        f"`/territories/{TERRITORY}`; funding: one allocation by id; contracts: one action by "
        "id), median of the per-round ratios; `vs bare`: over the bare app sending the same bytes "
        "from memory (the ceiling of a list of that size).",
    ]
    for run in runs:
        name = NAMES[run.backend]
        rows = []
        met = []
        for s in ("registry", "funding", "contracts"):
            key = run.summaries[f"key {s}"]
            rows.append(
                [
                    f"{s}: read by key",
                    "1",
                    "-",
                    "-",
                    f"{key.rps:,.0f}",
                    f"{key.p50_ms:.1f}",
                    f"{key.cpu_us_per_request:,.0f}",
                    "1",
                    "-",
                    f"{key.machine_busy:.0%}",
                ]
            )
        for i, (item, items, total, size) in enumerate(run.listed):
            summary = run.summaries[f"list {i}"]
            key = run.summaries[f"key {item.service}"]
            bare = run.summaries[f"bare {i}"]
            vs_key = ratio(summary, key)
            vs_bare = ratio(summary, bare)
            met.append(vs_key[0] >= GOAL)
            rows.append(
                [
                    f"{item.service}: `{item.path}`",
                    f"{items}",
                    f"{total:,}",
                    f"{size:,}",
                    f"{summary.rps:,.0f}",
                    f"{summary.p50_ms:.1f}",
                    f"{summary.cpu_us_per_request:,.0f}",
                    f"**{vs_key[0]:.2f}** ({vs_key[1]:.2f}–{vs_key[2]:.2f})",
                    f"{vs_bare[0]:.2f}",
                    f"{summary.machine_busy:.0%}",
                ]
            )
        out += [
            "",
            f"### {name}: 100-item pages against the read by key",
            "",
            markdown_table(
                [
                    "request",
                    "items",
                    "total",
                    "bytes",
                    "req/s",
                    "p50 ms",
                    "CPU µs/req",
                    "vs read by key",
                    "vs bare",
                    "machine busy",
                ],
                rows,
            ),
            "",
            f"**Goal: every list ≥ {GOAL} of its service's read by key**: "
            f"{sum(met)} of {len(met)} met.",
        ]
        base = run.single
        code = base["registry: a territory by code"]
        p50_rows = []
        for label, summary in base.items():
            p50_rows.append(
                [
                    label,
                    f"{summary.p50_ms:.2f}",
                    f"{summary.p50_ms / code.p50_ms:.2f}",
                    f"{summary.cpu_us_per_request:,.0f}",
                ]
            )
        out += [
            "",
            f"### {name}: one connection, against a territory by code",
            "",
            markdown_table(["request", "p50 ms", "× territory by code", "CPU µs/req"], p50_rows),
            "",
            f"Goal: funding's and contracts' lists for one territory ≤ {P50_GOAL:g}× a territory "
            "by code at p50: "
            + ", ".join(
                f"{label} {base[label].p50_ms / code.p50_ms:.2f}×"
                for label in ONE_CONNECTION
                if "the territory's" in label
            )
            + ".",
        ]
        scale_rows = []
        for label in ONE_CONNECTION:
            cells = [label]
            for scale in (1, 10, 100):
                s = run.scales[scale][label]
                cells += [f"{s.p50_ms:.2f}", f"{s.cpu_us_per_request:,.0f}"]
            scale_rows.append(cells)
        out += [
            "",
            f"### {name}: cost as the data grows (one connection)",
            "",
            "×1, ×10, ×100: "
            + "; ".join(
                f"×{k}: {a:,} generated allocations, {c * 20:,} generated actions"
                for k, (a, c) in SCALES.items()
            )
            + " (the registry's register does not grow).",
            "",
            markdown_table(
                [
                    "request",
                    "×1 p50 ms",
                    "×1 CPU µs",
                    "×10 p50 ms",
                    "×10 CPU µs",
                    "×100 p50 ms",
                    "×100 CPU µs",
                ],
                scale_rows,
            ),
        ]
    return "\n".join(out)


__all__ = ["run"]
