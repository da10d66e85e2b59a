"""The gateway's cost: a DB-backed read direct, through the gateway, through nginx; the dossier.

    .venv/bin/python -m bench gateway

For each backend: the suite's services (registry, and funding and contracts when `tdi` knows
them) on throwaway databases, migrated and seeded (demo data too), each in its own uvicorn
process; the gateway in front of them; nginx (`proxy_pass` with keep-alive) in front of the
registry when nginx is installed. Then:

1. `GET /api/v1/territories/ti-2708` (a read from the registry's database) straight from the
   registry, through the gateway and through nginx, interleaved over the rounds: req/s, p50
   and p99, as ratios and differences to the direct call; the gateway's CPU time per request
   (its process's user + system time over a measured run, divided by the requests served).
2. The dossier of a territory through the gateway against each of its parts asked straight
   from its service, one connection at a time (latency, not throughput): the dossier's p50
   over the slowest part's p50.

Goals (issue 5): ≥ 0.8 of the direct throughput, ≤ 1 ms added at p50, dossier ≤ 1.2 × its
slowest part.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

from bench.harness.databases import postgres_version, throwaway_database, usable_backends
from bench.harness.load import (
    REPO,
    Result,
    Scenario,
    Server,
    _wait_ready,
    compare,
    free_port,
    measure,
    ratio,
    serve,
)
from bench.harness.runner import Context, Section, markdown_table

CODE = "ti-2708"
READ = f"/api/v1/territories/{CODE}"
DOSSIER = f"/api/v1/territories/{CODE}/dossier"
GOAL_KEPT, GOAL_ADDED_MS, GOAL_DOSSIER = 0.8, 1.0, 1.2
NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
DIRECT, GATEWAY, NGINX = "direct (registry)", "through the gateway", "through nginx"
# High enough never to answer 429 to the load generator: the limiter is still on the path.
RATE_LIMIT = "100000000/minute"


@dataclass
class BackendRun:
    backend: str
    summaries: dict[str, Any]
    latency: dict[str, list[Result]]
    cpu_ms: float | None
    cpu_requests: int
    registry_cpu_ms: float | None = None
    dossier: dict[str, Result] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# --- the suite under test -----------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    name: str
    app: str
    migrations: str
    seed: Any = None


def _services() -> list[Part]:
    """The services, as `tdi` knows them; funding and contracts by their modules until it does."""
    from tdi_cli.services import all_services

    known = {s.name: Part(s.name, s.app, s.migrations, s.seed) for s in all_services()}
    if "funding" not in known:
        from funding.main import MIGRATIONS
        from funding.seed.loader import load

        known["funding"] = Part("funding", "funding.main:create_app", MIGRATIONS, load)
    if "contracts" not in known:
        from contracts.main import MIGRATIONS

        known["contracts"] = Part("contracts", "contracts.main:create_app", MIGRATIONS)
    return [known[name] for name in ("registry", "funding", "contracts")]


@asynccontextmanager
async def _database(ctx: Context, backend: str, service: Any) -> AsyncIterator[str]:
    from tdi_kit import migrations
    from tdi_kit.db import create_engine, create_sessionmaker

    async with throwaway_database(ctx, backend, service.name) as url:
        engine = create_engine(url)
        try:
            await migrations.upgrade(engine, service.migrations)
            if service.seed is not None:
                async with create_sessionmaker(engine)() as session:
                    await service.seed(session, say=lambda _line: None)
                    await session.commit()
        finally:
            await engine.dispose()
        ctx.say(f"{service.name} database on {backend}: migrated and seeded")
        yield url


@asynccontextmanager
async def suite(
    ctx: Context, backend: str, databases_out: dict[str, str] | None = None
) -> AsyncIterator[dict[str, Server]]:
    """Every service on its own database, then the gateway; the servers by name (and each
    service's database URL in `databases_out`, for a benchmark that writes there)."""
    services = _services()
    ports = {s.name: free_port() for s in services}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    siblings = {f"{name.upper()}_URL": url for name, url in urls.items()}
    servers: dict[str, Server] = {}
    async with AsyncExitStack() as stack:
        databases = {
            s.name: await stack.enter_async_context(_database(ctx, backend, s)) for s in services
        }
        if databases_out is not None:
            databases_out.update(databases)
        # Owners first: funding and contracts check references with the registry when ready.
        for service in services:
            prefix = service.name.upper()
            env = {
                f"{prefix}_DATABASE_URL": databases[service.name],
                f"{prefix}_LOG_LEVEL": "WARNING",
                f"{prefix}_PORT": str(ports[service.name]),
                **{f"{prefix}_{key}": url for key, url in siblings.items()},
            }
            servers[service.name] = await stack.enter_async_context(
                serve_on(ctx, service.app, name=service.name, port=ports[service.name], env=env)
            )
        env = {
            "GATEWAY_LOG_LEVEL": "WARNING",
            "GATEWAY_RATE_LIMIT": RATE_LIMIT,
            **{f"GATEWAY_{key}": url for key, url in siblings.items()},
        }
        servers["gateway"] = await stack.enter_async_context(
            serve(
                "gateway.main:create_app",
                factory=True,
                name="gateway",
                workdir=ctx.workdir,
                env=env,
            )
        )
        await programme(servers["gateway"].url)
        yield servers


@asynccontextmanager
async def nginx(ctx: Context, upstream: str) -> AsyncIterator[str | None]:
    """nginx proxying to `upstream` with keep-alive connections; None when not installed."""
    binary = _nginx_binary()
    if binary is None:
        ctx.skip("nginx is not installed (`apt-get install -y nginx-light`): its column is empty")
        yield None
        return
    port = free_port()
    prefix = ctx.workdir / "nginx"
    for folder in ("logs", "tmp"):
        (prefix / folder).mkdir(parents=True, exist_ok=True)
    host_port = upstream.removeprefix("http://")
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"""worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {prefix}/tmp/body;
  proxy_temp_path {prefix}/tmp/proxy;
  fastcgi_temp_path {prefix}/tmp/fastcgi;
  uwsgi_temp_path {prefix}/tmp/uwsgi;
  scgi_temp_path {prefix}/tmp/scgi;
  upstream service {{ server {host_port}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://service;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_buffering off;
    }}
  }}
}}
"""
    )
    process = await asyncio.create_subprocess_exec(
        binary,
        "-p",
        str(prefix),
        "-c",
        str(conf),
        "-g",
        "daemon off;",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(100):
                try:
                    await client.get(url + "/livez")
                    break
                except httpx.HTTPError:
                    await asyncio.sleep(0.05)
        yield url
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()


@asynccontextmanager
async def serve_on(
    ctx: Context, app: str, *, name: str, port: int, env: dict[str, str]
) -> AsyncIterator[Server]:
    """The harness's `serve`, on a port chosen beforehand: funding and contracts each need the
    other's address when they start."""
    cmd = [sys.executable, "-m", "uvicorn", app, "--factory", "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--no-access-log", "--log-level", "warning"]
    pythonpath = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    log = ctx.workdir / f"{name}.log"
    process = _start(cmd, {**os.environ, "PYTHONPATH": pythonpath, **env}, log)
    server = Server(name=name, url=f"http://127.0.0.1:{port}", process=process, log=log)
    try:
        await _wait_ready(server, "/readyz", 60)
        yield server
    finally:
        process.terminate()
        try:
            await asyncio.to_thread(process.wait, 15)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)


def _start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)


def _nginx_binary() -> str | None:
    found = shutil.which("nginx")
    if found is None and Path("/usr/sbin/nginx").exists():
        found = "/usr/sbin/nginx"
    return found


async def programme(gateway: str) -> None:
    """A contract with 12 fiches-actions and 40 allocations for the dossier, written through
    the gateway (funding checks each action with contracts)."""
    from tdi_kit.auth import mint_token
    from tdi_kit.settings import DEV_JWT_SECRET

    token = mint_token(secret=DEV_JWT_SECRET, sub="bench", scopes=["admin"])
    headers = {"Authorization": f"Bearer {token}"}
    million = 100_000_000
    async with httpx.AsyncClient(base_url=gateway, headers=headers, timeout=30) as client:
        r = await client.post(
            "/api/v1/envelopes",
            json={
                "code": "bench-envelope",
                "operator_code": "bpifrance",
                "name": "Enveloppe du banc d'essai",
                "kind": "grant",
                "themes": ["innovation"],
                "start_year": 2024,
                "end_year": 2026,
                "tranches": [
                    {"year": y, "amount_cents": 500 * million} for y in (2024, 2025, 2026)
                ],
            },
        )
        r.raise_for_status()
        actions = [
            {
                "code": f"FA-{i:02d}",
                "title": f"Fiche-action {i}",
                "priority": ("innovation", "competences")[i % 2],
                "budget_cents": 10 * million,
            }
            for i in range(1, 13)
        ]
        r = await client.post(
            "/api/v1/contracts",
            json={
                "territory_code": CODE,
                "kind": "contrat",
                "title": "Contrat de territoire d'industrie (banc d'essai)",
                "start_year": 2023,
                "end_year": 2027,
                "signatories": [
                    {"role": "prefet", "organisation_code": "prefecture-27"},
                    {"role": "president_region", "organisation_code": "region-27"},
                ],
                "actions": actions,
            },
        )
        r.raise_for_status()
        ids = [a["id"] for a in r.json()["actions"]]
        for i in range(40):
            r = await client.post(
                "/api/v1/allocations",
                json={
                    "envelope_code": "bench-envelope",
                    "year": 2024 + i % 3,
                    "territory_code": CODE,
                    "action_id": ids[i % len(ids)] if i % 5 else None,
                    "title": f"Projet {i}",
                    "beneficiary_name": "Entreprise du banc d'essai",
                    "amount_cents": (i + 1) * million // 10,
                    "status": "committed",
                },
            )
            r.raise_for_status()


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


# --- the run ------------------------------------------------------------------------------


async def _one_backend(ctx: Context, backend: str) -> BackendRun:
    async with suite(ctx, backend) as servers, nginx(ctx, servers["registry"].url) as proxy:
        scenarios = [
            Scenario(DIRECT, servers["registry"].url + READ),
            Scenario(GATEWAY, servers["gateway"].url + READ),
        ]
        if proxy:
            scenarios.append(Scenario(NGINX, proxy + READ))
        summaries = await compare(ctx, scenarios)
        ctx.say("latency at one connection (no queueing)")
        latency = await _one_connection(ctx, scenarios)

        ctx.say("CPU time per request: the registry's (direct), the gateway's (through it)")
        cpu_ms = {}
        for name, scenario in (("registry", scenarios[0]), ("gateway", scenarios[1])):
            pid = servers[name].pid
            before = _cpu_seconds(pid)
            result = await measure(ctx, replace(scenario, name=f"{scenario.name} (CPU)"))
            cpu = _cpu_seconds(pid) - before
            cpu_ms[name] = (cpu * 1000 / result.requests if result.requests else None, result)
        run = BackendRun(
            backend,
            summaries,
            latency,
            cpu_ms=cpu_ms["gateway"][0],
            cpu_requests=cpu_ms["gateway"][1].requests,
            registry_cpu_ms=cpu_ms["registry"][0],
        )
        run.dossier = await _dossier(ctx, servers)
        return run


async def _one_connection(ctx: Context, scenarios: list[Scenario]) -> dict[str, list[Result]]:
    """Each scenario at one connection, interleaved over the rounds: the latency of one hop."""
    results: dict[str, list[Result]] = {s.name: [] for s in scenarios}
    kwargs: dict[str, Any] = {"headers": {}, "connections": 1}
    for round_ in range(ctx.repeat):
        shift = round_ % len(scenarios)
        for scenario in [*scenarios[shift:], *scenarios[:shift]]:
            if ctx.warmup > 0:
                await ctx.loadgen.run(scenario.url, duration=ctx.warmup, **kwargs)
            result = await ctx.loadgen.run(scenario.url, duration=ctx.duration, **kwargs)
            ctx.say(f"  {scenario.name}, 1 connection: p50 {result.p50_ms:.2f} ms")
            results[scenario.name].append(result)
    return results


async def _dossier(ctx: Context, servers: dict[str, Server]) -> dict[str, Result]:
    """One connection, sequential requests: each part's latency, then the dossier's."""
    parts = {
        "registry: the territory": servers["registry"].url + READ,
        "contracts: its contracts": servers["contracts"].url
        + f"/api/v1/contracts?territory={CODE}&limit=1000",
        "contracts: its actions": servers["contracts"].url
        + f"/api/v1/actions?territory={CODE}&limit=1000",
        "funding: its allocations": servers["funding"].url
        + f"/api/v1/allocations?territory={CODE}&limit=1000",
        "the dossier, through the gateway": servers["gateway"].url + DOSSIER,
    }
    results = {}
    for name, url in parts.items():
        scenario = Scenario(name, url)
        await compare_one(ctx, scenario)
        kwargs: dict[str, Any] = {"headers": {}, "connections": 1}
        if ctx.warmup > 0:
            await ctx.loadgen.run(url, duration=ctx.warmup, **kwargs)
        results[name] = await ctx.loadgen.run(url, duration=ctx.duration, **kwargs)
        ctx.say(f"  {name}: p50 {results[name].p50_ms:.2f} ms, p99 {results[name].p99_ms:.2f} ms")
    return results


async def compare_one(ctx: Context, scenario: Scenario) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.get(scenario.url)
    if response.status_code != 200:
        raise RuntimeError(f"{scenario.name}: {scenario.url} answered {response.status_code}")


async def run(ctx: Context) -> Section:
    backends = await usable_backends(ctx)
    pg = await postgres_version(ctx) if "postgresql" in backends else None
    runs = [await _one_backend(ctx, backend) for backend in backends]
    return Section("Gateway: pass-through and dossier", _render(ctx, runs, pg))


def _render(ctx: Context, runs: list[BackendRun], pg: str | None) -> str:
    lines = [
        f"`GET {READ}` (a read of the registry's database, 973 bytes of JSON) straight from the "
        "registry, through the gateway (bare ASGI pass-through over one shared "
        "`aiohttp.ClientSession`, with its edge checks: request id, metrics, access log, rate "
        "limit in memory) and through nginx (`proxy_pass`, keep-alive upstream). Each process "
        f"is one uvicorn worker (nginx: one worker); {ctx.rounds_text}. Load: "
        f"{ctx.loadgen.name}. Logs at WARNING for every app. The machine has 2 cores shared by "
        "the load generator, the proxy and the registry, so a proxy's CPU time comes straight "
        "off the throughput.",
        "",
    ]
    for run in runs:
        name = NAMES[run.backend] + (f" {pg}" if run.backend == "postgresql" and pg else "")
        direct = run.summaries[DIRECT]
        rows = []
        for label, summary in run.summaries.items():
            kept = ratio(summary, direct)
            rows.append(
                [
                    label,
                    f"{summary.rps:,.0f}",
                    f"{kept[0]:.2f} ({kept[1]:.2f}-{kept[2]:.2f})",
                    f"{summary.p50_ms:.2f}",
                    f"{summary.p50_ms - direct.p50_ms:+.2f}",
                    f"{summary.p99_ms:.2f}",
                    f"{summary.p99_ms / direct.p99_ms:.2f}" if direct.p99_ms else "-",
                    summary.errors,
                ]
            )
        lines += [
            f"### {name}",
            "",
            markdown_table(
                [
                    "path",
                    "req/s",
                    "kept of direct (min-max)",
                    "p50 ms",
                    "p50 added ms",
                    "p99 ms",
                    "p99 / direct",
                    "errors",
                ],
                rows,
            ),
            "",
        ]
        p50 = {k: statistics.median(r.p50_ms for r in v) for k, v in run.latency.items()}
        p99 = {k: statistics.median(r.p99_ms for r in v) for k, v in run.latency.items()}
        lines += [
            "At one connection (no queueing: the latency each hop adds):",
            "",
            markdown_table(
                ["path", "p50 ms", "p50 added ms", "p99 ms"],
                [
                    [k, f"{p50[k]:.3f}", f"{p50[k] - p50[DIRECT]:+.3f}", f"{p99[k]:.3f}"]
                    for k in run.latency
                ],
            ),
            "",
        ]
        gateway = run.summaries[GATEWAY]
        kept = ratio(gateway, direct)[0]
        added = p50[GATEWAY] - p50[DIRECT]
        loaded = gateway.p50_ms - direct.p50_ms
        if run.cpu_ms is not None:
            service = (
                f", against {run.registry_cpu_ms:.3f} ms for the registry to serve it directly"
                if run.registry_cpu_ms
                else ""
            )
            lines.append(
                f"The gateway's own CPU time: **{run.cpu_ms:.3f} ms per request** "
                f"(user + system, over {run.cpu_requests:,} requests){service}."
            )
        lines.append(
            f"Goals: throughput kept {kept:.2f} (goal ≥ {GOAL_KEPT}: "
            f"{'met' if kept >= GOAL_KEPT else 'not met'}); p50 added at one connection "
            f"{added:+.3f} ms (goal ≤ {GOAL_ADDED_MS:g} ms: "
            f"{'met' if added <= GOAL_ADDED_MS else 'not met'}). Under {ctx.connections} "
            f"connections the p50 difference ({loaded:+.2f} ms) is the queueing of a saturated "
            "server: connections ÷ throughput, so it follows the throughput kept."
        )
        lines.append("")
        if run.dossier:
            dossier_name = "the dossier, through the gateway"
            dossier = run.dossier[dossier_name]
            parts = {k: v for k, v in run.dossier.items() if k != dossier_name}
            slowest_name, slowest = max(parts.items(), key=lambda kv: kv[1].p50_ms)
            factor = dossier.p50_ms / slowest.p50_ms if slowest.p50_ms else float("nan")
            lines += [
                f"Dossier of `{CODE}`, one connection (latency, not throughput):",
                "",
                markdown_table(
                    ["request", "req/s", "p50 ms", "p99 ms"],
                    [
                        [k, f"{v.rps:,.0f}", f"{v.p50_ms:.2f}", f"{v.p99_ms:.2f}"]
                        for k, v in run.dossier.items()
                    ],
                ),
                "",
                f"The dossier's p50 is **{factor:.2f} ×** its slowest part's ({slowest_name}); "
                f"goal ≤ {GOAL_DOSSIER}: {'met' if factor <= GOAL_DOSSIER else 'not met'}.",
                "",
            ]
    return "\n".join(lines)
