"""The gateway's aggregates against their slowest part, at 1×, 10× and 100× the demo money;
what compression saves and costs.

    .venv/bin/python -m bench aggregates

For each backend: the suite (registry, funding, contracts on throwaway databases, migrated and
seeded, and the gateway), the bench programme of `bench.gateway` (a contract of 12
fiches-actions and 40 allocations for ti-2708), then 100, 1,000 and 10,000 demo allocations
(committed, spread over the phase-2 territories) written straight into funding's database.
At each volume, one connection, sequential requests (latency, not throughput), interleaved over
the rounds: each part of the dossier and of the dashboard asked straight from its service, then
the aggregate through the gateway; p50 of the aggregate over its slowest part's.

Compression: the gateway's answers (identity bytes) compressed in process by the kit's
encoders, CPU time per answer (`time.process_time`, best of a few), and the size the gateway
actually sends when asked for each encoding.

Goals (issue 11): dossier ≤ 1.2 × its slowest part; dashboard ≤ 1.5 × its slowest part
whatever the number of allocations; the phase-2 outlines in well under a quarter of their size.
"""

from __future__ import annotations

import csv
import statistics
import time
from dataclasses import replace
from typing import Any

import httpx

from bench.gateway import CODE, DOSSIER, suite
from bench.harness.databases import postgres_version, settle_statistics, usable_backends
from bench.harness.load import REPO, Result, Server, process_cpu
from bench.harness.runner import Context, Section, markdown_table

NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
VOLUMES = (100, 1_000, 10_000)  # demo allocations: 1×, 10×, 100×
GOAL_DOSSIER, GOAL_DASHBOARD = 1.2, 1.5
DASHBOARD = "/api/v1/dashboard"
OUTLINES = "/api/v1/territory-outlines"


def _phase2_territories() -> list[tuple[str, str]]:
    path = REPO / "services/registry/src/registry/seed/data/territories.csv"
    with path.open(encoding="utf-8") as f:
        return [
            (row["code"], row.get("region_code") or "27")
            for row in csv.DictReader(f)
            if row["code"].startswith("ti-")
        ]


async def add_demo_allocations(funding_url: str, count: int, start: int) -> None:
    """`count` committed demo allocations on a demo envelope, as the demo seed writes them."""
    from funding.allocations import service as allocations
    from funding.envelopes import service as envelopes
    from funding.ledger.service import Actor
    from funding.references import Territory
    from funding.schemas import AllocationCreate, EnvelopeCreate, TrancheCreate
    from tdi_kit.auth import Caller
    from tdi_kit.db import create_engine, create_sessionmaker

    territories = _phase2_territories()
    regions = dict(territories)

    class Owners:
        async def territory(self, code: str) -> Territory:
            return Territory(code, (regions[code],))

        async def action_exists(self, action_id: Any) -> bool:
            return True

    actor = Actor("bench")
    caller = Caller(sub="bench", org=None, scopes=frozenset({"admin"}))
    engine = create_engine(funding_url)
    try:
        async with create_sessionmaker(engine)() as session:
            code = f"bench-demo-{start}"
            await envelopes.insert(
                session,
                payload=EnvelopeCreate(
                    code=code,
                    operator_code=("bpifrance", "banque-des-territoires", "ademe")[start % 3],
                    name=f"Enveloppe de démonstration {start}",
                    kind="grant",
                    themes=["innovation"],
                    start_year=2024,
                    end_year=2027,
                    tranches=[
                        TrancheCreate(year=y, amount_cents=10**13, funder_code="etat")
                        for y in (2024, 2025, 2026, 2027)
                    ],
                ),
                actor=actor,
                is_demo=True,
            )
            rows = [
                AllocationCreate(
                    envelope_code=code,
                    year=2024 + n % 4,
                    territory_code=territories[n % len(territories)][0],
                    title=f"Projet de démonstration {n}",
                    beneficiary_name="Entreprise de démonstration",
                    amount_cents=100_000 + n,
                    status="committed",
                )
                for n in range(start, start + count)
            ]
            outcome = await allocations.create_many(
                session, caller=caller, owners=Owners(), rows=rows, actor=actor, is_demo=True
            )
            assert not outcome.problems, outcome.problems[:3]
            await session.commit()
    finally:
        await engine.dispose()


def _parts(servers: dict[str, Server]) -> dict[str, dict[str, str]]:
    registry, funding = servers["registry"].url, servers["funding"].url
    contracts, gateway = servers["contracts"].url, servers["gateway"].url
    return {
        "dossier": {
            "registry: the territory": f"{registry}/api/v1/territories/{CODE}",
            "contracts: its contracts with their actions": (
                f"{contracts}/api/v1/territories/{CODE}/contracts"
            ),
            "funding: its allocations": (
                f"{funding}/api/v1/allocations?territory={CODE}&limit=1000"
            ),
            "the dossier, through the gateway": gateway + DOSSIER,
        },
        # One call per service, each counting with its database (issue 11).
        "dashboard": {
            "registry: the territory counts": f"{registry}/api/v1/programme/counts",
            "contracts: the contract and action counts": (
                f"{contracts}/api/v1/contracts/counts?include_demo=false"
            ),
            "funding: the money's breakdowns": (
                f"{funding}/api/v1/balances/breakdowns?include_demo=false"
            ),
            "the dashboard, through the gateway": gateway + DASHBOARD,
        },
    }


async def _latencies(ctx: Context, urls: dict[str, str], gateway_pid: int) -> dict[str, Result]:
    """One connection; every URL once per round, the rounds interleaved; median p50 kept; the
    gateway's CPU (its process's user + system time) while the aggregate is measured."""
    async with httpx.AsyncClient(timeout=60) as client:
        for name, url in urls.items():
            r = await client.get(url)
            if r.status_code != 200:
                raise RuntimeError(f"{name}: {url} answered {r.status_code}")
    runs: dict[str, list[Result]] = {name: [] for name in urls}
    names = list(urls)
    for round_ in range(ctx.repeat):
        shift = round_ % len(names)
        for name in [*names[shift:], *names[:shift]]:
            kwargs: dict[str, Any] = {"headers": {}, "connections": 1}
            if ctx.warmup > 0:
                await ctx.loadgen.run(urls[name], duration=ctx.warmup, **kwargs)
            before = process_cpu(gateway_pid)
            result = await ctx.loadgen.run(urls[name], duration=ctx.duration, **kwargs)
            if name.startswith("the "):  # the aggregate, through the gateway
                result = replace(result, server_cpu=process_cpu(gateway_pid) - before)
            runs[name].append(result)
    return {
        name: Result(
            requests=sum(r.requests for r in rs),
            seconds=sum(r.seconds for r in rs),
            p50_ms=statistics.median(r.p50_ms for r in rs),
            p99_ms=statistics.median(r.p99_ms for r in rs),
            errors=sum(r.errors for r in rs),
            server_cpu=sum(r.server_cpu for r in rs),
        )
        for name, rs in runs.items()
    }


async def _compression(ctx: Context, gateway: str) -> list[list[str]]:
    """Each answer's size under each encoding, and the CPU one compression of it costs."""
    from tdi_kit.compression import BEST, COMPRESSORS

    answers = {
        "the phase-2 outlines (`/territory-outlines`)": OUTLINES,
        "the dashboard": DASHBOARD,
        f"the dossier of {CODE}": DOSSIER,
        "100 territories (`/territories?limit=100`)": "/api/v1/territories?limit=100",
    }
    rows = []
    async with httpx.AsyncClient(base_url=gateway, timeout=120) as client:
        for label, path in answers.items():
            identity = (await client.get(path, headers={"Accept-Encoding": "identity"})).content
            cells = [label, f"{len(identity):,}"]
            encoders = [(name, f) for name, f in COMPRESSORS.items()]
            encoders += [(f"{name} (best, once per version)", f) for name, f in BEST.items()]
            for _name, encode in encoders:
                times = []
                for _ in range(3 if len(identity) < 100_000 else 1):
                    started = time.process_time()
                    packed = encode(identity)
                    times.append(time.process_time() - started)
                cells.append(f"{len(packed) / len(identity):.3f} · {min(times) * 1000:.2f} ms")
            sent = []
            for encoding in ("br", "gzip"):
                async with client.stream(
                    "GET", path, headers={"Accept-Encoding": encoding}
                ) as response:
                    size = sum([len(c) async for c in response.aiter_raw()])
                sent.append(f"{encoding} {size / len(identity):.3f}")
            cells.append(", ".join(sent))
            rows.append(cells)
            ctx.say(f"  compression of {label}: {cells[2:]}")
    return rows


async def _one_backend(ctx: Context, backend: str) -> dict[str, Any]:
    out: dict[str, Any] = {"volumes": {}, "compression": None}
    databases: dict[str, str] = {}
    async with suite(ctx, backend, databases) as servers:
        funding_url = databases["funding"]
        written = 0
        for volume in VOLUMES:
            await add_demo_allocations(funding_url, volume - written, written)
            await settle_statistics(funding_url)
            written = volume
            ctx.say(f"{backend}: {volume} demo allocations")
            parts = _parts(servers)
            out["volumes"][volume] = {
                "dossier": await _latencies(ctx, parts["dossier"], servers["gateway"].pid),
                "dashboard": await _latencies(ctx, parts["dashboard"], servers["gateway"].pid),
            }
        out["compression"] = await _compression(ctx, servers["gateway"].url)
    return out


async def run(ctx: Context) -> Section:
    backends = await usable_backends(ctx)
    pg = await postgres_version(ctx) if "postgresql" in backends else None
    started = _load()
    results = {backend: await _one_backend(ctx, backend) for backend in backends}
    return Section("Gateway: aggregates and compression", _render(results, pg, started, _load()))


def _load() -> str:
    with open("/proc/loadavg", encoding="ascii") as f:
        return " ".join(f.read().split()[:3])


def _render(results: dict[str, Any], pg: str | None, load_before: str, load_after: str) -> str:
    lines = [
        "The suite on each backend (one uvicorn worker per service and for the gateway), the "
        f"bench programme of the gateway section, then 100, 1,000 and 10,000 committed demo "
        "allocations (1×, 10×, 100×) over the 183 phase-2 territories, left out of the "
        "dashboard's money by default as every aggregate does (PostgreSQL's database vacuumed "
        "and analysed after each load, as autovacuum leaves it). One connection, sequential "
        "requests: latency, not throughput. Each part asked straight from its service; the "
        "aggregate through the gateway, which asks every part concurrently. p50 is the median "
        "over the rounds of each run's p50; the gateway's CPU per aggregate is its process's "
        "user + system time over the aggregate's measured runs, divided by their requests. "
        "Machine load average (1, 5, 15 min): "
        f"{load_before} at the start, {load_after} at the end: the machine is shared, compare "
        "ratios within a table.",
        "",
    ]
    for backend, result in results.items():
        title = NAMES[backend] + (f" {pg}" if backend == "postgresql" and pg else "")
        lines += [f"### {title}", ""]
        rows = []
        verdicts = []
        for volume, measured in result["volumes"].items():
            for aggregate, goal in (("dossier", GOAL_DOSSIER), ("dashboard", GOAL_DASHBOARD)):
                found = measured[aggregate]
                whole = next(k for k in found if k.startswith("the "))
                parts = {k: v for k, v in found.items() if k != whole}
                slowest = max(parts, key=lambda k: parts[k].p50_ms)
                factor = found[whole].p50_ms / parts[slowest].p50_ms
                for name, r in found.items():
                    rows.append(
                        [
                            f"{volume:,}",
                            name,
                            f"{r.p50_ms:.2f}",
                            f"{r.p99_ms:.2f}",
                            f"**{factor:.2f} ×** (goal ≤ {goal})" if name == whole else "",
                            f"{r.cpu_us_per_request:,.0f}" if name == whole else "",
                        ]
                    )
                verdicts.append(
                    f"{aggregate} at {volume:,} demo allocations: {factor:.2f} × its slowest "
                    f"part ({slowest}), goal ≤ {goal}: {'met' if factor <= goal else 'not met'}"
                )
        lines.append(
            markdown_table(
                [
                    "demo allocations",
                    "request",
                    "p50 ms",
                    "p99 ms",
                    "aggregate / slowest part",
                    "gateway CPU µs / request",
                ],
                rows,
            )
        )
        lines += ["", *[f"- {v}" for v in verdicts], ""]
        if result["compression"]:
            from tdi_kit.compression import BEST, COMPRESSORS

            headers = ["answer (through the gateway)", "identity bytes"]
            headers += [f"{n}: ratio · CPU" for n in COMPRESSORS]
            headers += [f"{n} best: ratio · CPU" for n in BEST]
            headers += ["sent (ratio)"]
            lines += [
                "Compression of the gateway's answers: compressed size over identity size, and "
                "the CPU time of one compression in process (brotli quality 4 and gzip level 6 "
                "on every request; brotli's best, quality 11, once per ETag in a thread, cached). "
                "`sent`: what the gateway sent when asked with `Accept-Encoding: br`, then "
                "`gzip`: for an answer of 64 KB or more, brotli's best once an earlier br request "
                "(the bench's own checks) had the thread compress it, its fast setting before.",
                "",
                markdown_table(headers, result["compression"]),
                "",
            ]
    return "\n".join(lines)
