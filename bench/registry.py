"""The registry's read path against a bare FastAPI endpoint, on SQLite and PostgreSQL.

    .venv/bin/python -m bench registry

For each backend: a throwaway database, migrated and seeded; the registry in its own uvicorn
process (one worker) beside the bare app and two variants of the registry; wrk on (a) the bare
endpoint, the registry's /livez (its middleware, no database), (b) a territory by code, with and
without If-None-Match, (c) a page of 100 territories, and (b) on each variant: read through a
SQLAlchemy session (the read path before the driver reader) and served from an in-process cache
(the ceiling of a cache); interleaved over the rounds. Then, in process: the statements and
database round trips of one request of each kind, what one read costs through each layer of the
data path; and py-spy profiles of (b) and of its session variant under load.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from bench.harness.databases import postgres_version, registry_database, usable_backends
from bench.harness.load import Scenario, Summary, compare, ratio, serve
from bench.harness.runner import Context, Section, markdown_table
from bench.harness.sampling import (
    RATE,
    Frame,
    Profile,
    in_packages,
    named,
    percent,
    sample_under_load,
)
from bench.harness.wire import database_calls
from tdi_kit.app import ServiceApp

CODE = "ti-2708"
BY_CODE = f"/api/v1/territories/{CODE}"
LIST = "/api/v1/territories?limit={limit}"
PAGE_SIZES = (10, 100, 500)
GOAL = 0.3
NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}

BARE = "(a) bare FastAPI JSON endpoint"
LIVEZ = "registry `/livez` (its middleware, no database)"
CODE_200 = f"(b) `GET {BY_CODE}`"
CODE_304 = "(b) same, `If-None-Match` → 304"
PAGE_100 = f"(c) `GET {LIST.format(limit=100)}`"
SESSION = "(b) read through a SQLAlchemy session instead (the read path before; variant)"
CACHED = "(b) served from an in-process cache (ceiling of a cache; variant)"
SCENARIOS = (BARE, LIVEZ, CODE_200, CODE_304, PAGE_100, SESSION, CACHED)

# Self time by the layer of the innermost frame (first match wins).
LAYERS: list[tuple[str, Callable[[Frame], bool]]] = [
    ("database driver (asyncpg; aiosqlite and its threads)", in_packages("asyncpg", "aiosqlite")),
    ("SQLAlchemy (session, Core, pool, greenlets)", in_packages("sqlalchemy", "greenlet")),
    ("FastAPI, Starlette, anyio", in_packages("fastapi", "starlette", "anyio")),
    ("pydantic", in_packages("pydantic", "pydantic_core")),
    ("uvicorn, httptools", in_packages("uvicorn", "httptools", "h11")),
    ("kit, registry, Prometheus client", in_packages("tdi_kit", "registry", "prometheus_client")),
    ("asyncio, threading", in_packages("asyncio", "uvloop", "threading", "concurrent", "queue")),
    ("contextlib", in_packages("contextlib")),
]

# Database stages: a sample is in the first stage any frame of its stack matches; samples that
# match none go to the layer of their innermost frame.
DATABASE_STAGES: list[tuple[str, Callable[[Frame], bool]]] = [
    ("aiosqlite worker threads (sqlite3 calls)", named("_connection_worker_thread")),
    ("pool pre-ping on checkout (BEGIN; `;`; ROLLBACK)", named("_async_ping", "do_ping")),
    (
        "BEGIN, COMMIT, ROLLBACK of the read's transaction",
        named(
            "_start_transaction",
            "_on_begin",
            "Transaction.start",
            "Transaction.__commit",
            "Transaction.__rollback",
            "commit",
            "rollback",
        ),
    ),
    (
        "pool checkout and return, session close",
        lambda f: f.file.startswith("sqlalchemy/pool") or named("close")(f),
    ),
    (
        "the SELECT through SQLAlchemy (build, compile, execute, fetch)",
        lambda f: f.package == "sqlalchemy" and named("execute", "_prepare_and_execute")(f),
    ),
    (
        "the SELECT through the driver (`DriverRowReader`, asyncpg pool, sqlite3)",
        lambda f: (
            named("one", file="tdi_kit/rowreader.py")(f) or f.package in ("asyncpg", "aiosqlite")
        ),
    ),
]

# --- variants of the registry, for comparison (bench only) ----------------------------------


def create_session_read_app() -> ServiceApp:
    """The registry, with (b) read through a SQLAlchemy session per read (the kit's
    `SessionRowReader`, what tests use): the read path as it was before `DriverRowReader`, with
    its pool pre-ping, BEGIN and ROLLBACK, so that both are measured in the same run."""
    from registry.main import create_app
    from tdi_kit.rowreader import SessionRowReader

    app = create_app()
    app.state.rows = SessionRowReader(app.state.sessionmaker)
    return app


def create_cached_read_app() -> ServiceApp:
    """The registry, except that a territory's served document and ETag, once read, are kept in
    this process: the ceiling of a cache in front of the read by code.

    Bench only, and only for reads: nothing here tells the cache that a territory changed. The
    route, its dependencies and the middleware are untouched, so the difference with (b) is the
    database read alone.
    """
    from registry.main import create_app
    from registry.territories import service

    app = create_app()
    read = service.get_document
    documents: dict[str, tuple[str, str]] = {}

    async def get_document(rows: Any, *, code: str) -> tuple[str, str]:
        found = documents.get(code)
        if found is None:
            found = documents[code] = await read(rows, code=code)
        return found

    # This process serves only this app; the route looks the function up at each call.
    service.get_document = get_document  # type: ignore[assignment]
    return app


# --- the run --------------------------------------------------------------------------------


@dataclass
class BackendRun:
    backend: str
    summaries: dict[str, Summary]
    calls: list[dict[str, Any]]  # one row per request kind, (b) first
    unit: str
    churn: float
    ladder: list[tuple[str, float, float]]
    profiles: dict[str, Profile]  # scenario -> profile
    connections: int = 32  # of the load


async def run(ctx: Context) -> Section:
    backends = await usable_backends(ctx)
    pg = await postgres_version(ctx) if "postgresql" in backends else None
    runs = []
    async with serve("bench.harness.bare:app", name="bare", workdir=ctx.workdir) as bare:
        for backend in backends:
            runs.append(await run_backend(ctx, backend, bare.url + "/bare", bare.pid))
    return Section("Registry: read path", render(runs, pg))


async def run_backend(ctx: Context, backend: str, bare_url: str, bare_pid: int) -> BackendRun:
    async with registry_database(ctx, backend) as url:
        calls, unit, churn = await count_calls(backend, url)
        ctx.say(f"{backend}: one read, layer by layer, in process")
        ladder = await read_ladder(backend, url)
        env = {"REGISTRY_DATABASE_URL": url, "REGISTRY_LOG_LEVEL": "WARNING"}

        def server(app: str, name: str) -> Any:
            return serve(app, factory=True, name=f"{name}-{backend}", workdir=ctx.workdir, env=env)

        async with (
            server("registry.main:create_app", "registry") as registry,
            server("bench.registry:create_session_read_app", "session") as session,
            server("bench.registry:create_cached_read_app", "cached") as cached,
        ):
            etag = calls[0]["etag"]
            pid = registry.pid
            scenarios = [
                Scenario(BARE, bare_url, pid=bare_pid),
                Scenario(LIVEZ, registry.url + "/livez", pid=pid),
                Scenario(CODE_200, registry.url + BY_CODE, pid=pid),
                Scenario(CODE_304, registry.url + BY_CODE, {"If-None-Match": etag}, 304, pid),
                Scenario(PAGE_100, registry.url + LIST.format(limit=100), pid=pid),
                Scenario(SESSION, session.url + BY_CODE, pid=session.pid),
                Scenario(CACHED, cached.url + BY_CODE, pid=cached.pid),
            ]
            ctx.say(f"{backend}: load")
            summaries = await compare(ctx, scenarios)
            profiles = {}
            if ctx.profile:
                for target, scenario in ((registry, scenarios[2]), (session, scenarios[5])):
                    ctx.say(f"{backend}: profile of {scenario.name} under load")
                    profile = await sample_under_load(ctx, target, scenario)
                    if profile is not None:
                        profiles[scenario.name] = profile
    return BackendRun(
        backend, summaries, calls, unit, churn, ladder, profiles, connections=ctx.connections
    )


async def count_calls(backend: str, url: str) -> tuple[list[dict[str, Any]], str, float]:
    """Per request, in process through `httpx.ASGITransport`: statements the app's engine
    executes (`before_cursor_execute`), statements the database runs, and round trips."""
    from registry.main import create_app
    from registry.settings import RegistrySettings
    from tdi_kit.testing import asgi_client

    rows: list[dict[str, Any]] = []
    async with database_calls(backend, url) as calls:
        app = create_app(
            RegistrySettings(database_url=calls.url, log_level="WARNING", log_json=False)
        )
        # The app configured the root logger for itself; keep the bench's output to warnings.
        logging.getLogger().setLevel(logging.WARNING)
        engine = app.state.engine
        seen: list[str] = []

        def on_execute(*args: Any) -> None:
            seen.append(" ".join(str(args[2]).split()))

        event.listen(engine.sync_engine, "before_cursor_execute", on_execute)
        try:
            async with asgi_client(app) as client:
                # The first requests open the connections; count the steady state.
                for path in (LIST.format(limit=10), BY_CODE, BY_CODE):
                    (await client.get(path)).raise_for_status()
                for path in [BY_CODE, *(LIST.format(limit=n) for n in PAGE_SIZES)]:
                    before, wire = len(seen), calls.snapshot()
                    response = await client.get(path)
                    response.raise_for_status()
                    body = response.json()
                    rows.append(
                        {
                            "path": path,
                            "items": len(body["items"]) if "items" in body else 1,
                            "orm": seen[before:],
                            **calls.since(wire),
                            "etag": response.headers.get("etag"),
                            "bytes": len(response.content),
                        }
                    )
                churn = await pool_churn(app, client)
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", on_execute)
            await app.state.rows.close()
            await engine.dispose()
    return rows, calls.unit, churn


CHURN_CONCURRENCY, CHURN_REQUESTS = 32, 40


async def pool_churn(app: ServiceApp, client: Any) -> float:
    """New connections of the app's engine per 1,000 list requests, 32 at a time, in process,
    once a first burst has filled the pool."""
    connects = 0

    def on_connect(*_args: Any) -> None:
        nonlocal connects
        connects += 1

    async def reader() -> None:
        for _ in range(CHURN_REQUESTS):
            (await client.get(LIST.format(limit=10))).raise_for_status()

    pool = app.state.engine.sync_engine.pool
    await asyncio.gather(*(reader() for _ in range(CHURN_CONCURRENCY)))
    event.listen(pool, "connect", on_connect)
    try:
        await asyncio.gather(*(reader() for _ in range(CHURN_CONCURRENCY)))
    finally:
        event.remove(pool, "connect", on_connect)
    return connects * 1000 / (CHURN_CONCURRENCY * CHURN_REQUESTS)


# --- one read, in process: what each layer of the data path costs ---------------------------


LADDER_READS = 1000
LADDER = (
    "the driver alone (asyncpg `fetchrow`; aiosqlite `execute` + `fetchone`)",
    "the kit's `DriverRowReader`: (b)'s read (asyncpg pool; sqlite3 on the event loop)",
    "SQLAlchemy Core connection, AUTOCOMMIT, no pre-ping",
    "ORM session, AUTOCOMMIT, no pre-ping",
    "ORM session with a transaction (BEGIN, SELECT, COMMIT), no pre-ping",
    "the kit's session: transaction and pre-ping (the read path before)",
)


async def read_ladder(backend: str, url: str) -> list[tuple[str, float, float]]:
    """CPU and wall-clock µs of one read of (b)'s row, sequential, without HTTP or FastAPI."""
    from registry.models import Territory
    from registry.territories.queries import DOCUMENT_BY_CODE
    from tdi_kit.db import create_engine, create_sessionmaker
    from tdi_kit.rowreader import DriverRowReader

    def stmt() -> Any:
        return select(Territory.document, Territory.etag).where(Territory.code == CODE)

    raw_sql = "SELECT document, etag FROM territories WHERE code = "
    if backend == "postgresql":
        import asyncpg

        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        pg = await asyncpg.connect(dsn)

        async def driver() -> None:
            await pg.fetchrow(raw_sql + "$1", CODE)

        close_driver = pg.close
    else:
        import aiosqlite

        lite = await aiosqlite.connect(make_url(url).database or "")

        async def driver() -> None:
            async with lite.execute(raw_sql + "?", (CODE,)) as cursor:
                await cursor.fetchone()

        close_driver = lite.close

    plain = create_async_engine(url, isolation_level="AUTOCOMMIT", pool_reset_on_return=None)
    plain_sessions = async_sessionmaker(plain, expire_on_commit=False)
    no_ping = create_async_engine(url)
    no_ping_sessions = async_sessionmaker(no_ping, expire_on_commit=False)
    kit = create_engine(url)
    kit_sessions = create_sessionmaker(kit)
    rows = DriverRowReader(kit)

    async def row_reader() -> None:
        await rows.one(DOCUMENT_BY_CODE, code=CODE)

    async def core() -> None:
        async with plain.connect() as conn:
            (await conn.execute(stmt())).first()

    async def orm_autocommit() -> None:
        async with plain_sessions() as session:
            (await session.execute(stmt())).first()

    async def orm_transaction() -> None:
        async with no_ping_sessions() as session:
            (await session.execute(stmt())).first()
            await session.commit()

    async def kit_session() -> None:
        async with kit_sessions() as session:
            (await session.execute(stmt())).first()
            await session.commit()

    reads: tuple[Callable[[], Awaitable[None]], ...] = (
        driver,
        row_reader,
        core,
        orm_autocommit,
        orm_transaction,
        kit_session,
    )
    rungs = []
    try:
        for label, read in zip(LADDER, reads, strict=True):
            for _ in range(100):
                await read()
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(LADDER_READS):
                await read()
            rungs.append(
                (
                    label,
                    (time.process_time() - cpu) / LADDER_READS * 1e6,
                    (time.perf_counter() - wall) / LADDER_READS * 1e6,
                )
            )
    finally:
        await close_driver()
        await rows.close()
        for engine in (plain, no_ping, kit):
            await engine.dispose()
    return rungs


# --- rendering ------------------------------------------------------------------------------


def _ratio(run: BackendRun, name: str, to: str = BARE) -> float:
    return ratio(run.summaries[name], run.summaries[to])[0]


def _ratio_text(run: BackendRun, name: str) -> str:
    median, low, high = ratio(run.summaries[name], run.summaries[BARE])
    return f"{median:.2f} ({low:.2f}–{high:.2f})"


def _cpu(run: BackendRun, name: str) -> float:
    return run.summaries[name].cpu_us_per_request


def _verdict(value: float) -> str:
    return "met" if value >= GOAL else "**not met**"


def _each(runs: list[BackendRun], text: Callable[[BackendRun], str]) -> str:
    return ", ".join(f"{NAMES[r.backend]} {text(r)}" for r in runs)


def render(runs: list[BackendRun], pg: str | None) -> str:
    if not runs:
        return "No backend could be measured in this run."
    parts = [
        "Servers: one uvicorn worker each (`python -m uvicorn ... --no-access-log --log-level "
        "warning`, `REGISTRY_LOG_LEVEL=WARNING`): the bare app "
        "([bench/harness/bare.py](../bench/harness/bare.py)), the registry, and two variants of "
        "the registry for comparison (`create_session_read_app`, `create_cached_read_app` in "
        "[bench/registry.py](../bench/registry.py); bench only). A throwaway database, migrated "
        "and loaded with the shipped seed (331 territories): "
        + (f"PostgreSQL {pg} on loopback, " if pg else "")
        + "SQLite in WAL mode. The load generator, the servers and PostgreSQL share the 2 "
        "cores, with whatever else the machine runs (see `machine busy`). `vs bare` is the "
        "median of the throughput ratios between runs of the same round (min–max in brackets); "
        "req/s, p50 and p99 are medians over the rounds.",
        "### Throughput and latency",
        _throughput_table(runs),
        _goal_line(runs),
        "Server CPU per request (user + system time of the server process, all its threads, "
        "over the requests served; the same median over the rounds) and how busy the machine "
        "was:",
        _cpu_table(runs),
        "### SQL per request",
        _calls_table(runs),
        _calls_notes(runs),
        "### One read, layer by layer",
        f"The row of (b) read {LADDER_READS} times in a row, in process (no HTTP, no FastAPI), "
        "through each layer of the data path: CPU time of the process and wall-clock time per "
        "read (wall includes waiting for the database, and for aiosqlite's thread).",
        _ladder_table(runs),
    ]
    if any(r.profiles for r in runs):
        parts += ["### Where the time goes: profiles under load", _profile(runs)]
    parts += [
        "### What we learnt",
        "Where (b)'s CPU goes, from servers measured in the same rounds: each line is the "
        "difference between two of them, in µs of server CPU per request.",
        _decomposition(runs),
        learnt(runs),
        levers(runs),
    ]
    return "\n\n".join(parts)


def _throughput_table(runs: list[BackendRun]) -> str:
    headers = ["request"]
    for r in runs:
        headers += [f"{NAMES[r.backend]} req/s", "p50 ms", "p99 ms", "vs bare"]
    rows = []
    for scenario in SCENARIOS:
        row: list[object] = [scenario]
        for r in runs:
            s = r.summaries[scenario]
            errors = f" ({s.errors} errors)" if s.errors else ""
            row += [f"{s.rps:,.0f}{errors}", f"{s.p50_ms:.1f}", f"{s.p99_ms:.1f}"]
            row.append("1" if scenario == BARE else _ratio_text(r, scenario))
        rows.append(row)
    return markdown_table(headers, rows)


def _cpu_table(runs: list[BackendRun]) -> str:
    headers = ["request"]
    for r in runs:
        headers += [f"{NAMES[r.backend]} server CPU µs/request", "server cores", "machine busy"]
    rows = []
    for scenario in SCENARIOS:
        row: list[object] = [scenario]
        for r in runs:
            s = r.summaries[scenario]
            row += [
                f"{s.cpu_us_per_request:,.0f}",
                f"{s.server_cpu_share:.2f}",
                f"{s.machine_busy:.0%}",
            ]
        rows.append(row)
    return markdown_table(headers, rows)


def _goal_line(runs: list[BackendRun]) -> str:
    return (
        f"**Goal: (b) keeps at least {GOAL} of (a)'s throughput**: "
        + "; ".join(
            f"{NAMES[r.backend]} {_ratio(r, CODE_200):.2f}, {_verdict(_ratio(r, CODE_200))}"
            for r in runs
        )
        + ". Read through a session instead: "
        + _each(runs, lambda r: f"{_ratio(r, SESSION):.2f}")
        + ". Served from a cache: "
        + _each(runs, lambda r: f"{_ratio(r, CACHED):.2f}")
        + "."
    )


def _calls_table(runs: list[BackendRun]) -> str:
    headers = ["request", "items"]
    for r in runs:
        name = NAMES[r.backend]
        headers += [f"{name}: engine statements", "statements run", r.unit]
    rows = []
    for i, first in enumerate(runs[0].calls):
        row: list[object] = [f"`GET {first['path']}`", first["items"]]
        for r in runs:
            call = r.calls[i]
            row += [len(call["orm"]), call["statements"], call["round_trips"]]
        rows.append(row)
    return markdown_table(headers, rows)


def _calls_notes(runs: list[BackendRun]) -> str:
    lines = [
        "In process, through `httpx.ASGITransport`, once first requests have opened the "
        "connections: *engine statements* are the `before_cursor_execute` events of the app's "
        "SQLAlchemy engine; *statements run* are those the database runs, whatever path they "
        "take (PostgreSQL: simple queries and Execute messages on the wire; SQLite: sqlite3's "
        "trace callback); PostgreSQL round trips are counted on the wire by a loopback proxy "
        "(each simple query and each Sync waits for the server), SQLite's as the calls handed "
        "to aiosqlite's worker thread and waited for. The 500 page holds every territory "
        "(331): the list is one statement whatever the page size.",
        "",
    ]
    for r in runs:
        for row in r.calls[:2]:
            shown = "; ".join(f"`{_short(s)}`" for s in row["sql"] or row["orm"]) or "none"
            lines.append(f"- {NAMES[r.backend]}, `GET {row['path']}`: {shown}")
    churn = _each(runs, lambda r: f"{r.churn:.0f}")
    if not any(r.calls[0]["orm"] for r in runs):
        lines += [
            "",
            "(b) reads through the kit's `DriverRowReader` (asyncpg's pool, or a read-only "
            "sqlite3 connection on the event loop), not through the engine; the lists still go "
            "through a session per request, whose pre-ping (`pool_pre_ping=True`: BEGIN, `;`, "
            "ROLLBACK on PostgreSQL) and transaction (BEGIN, COMMIT) are the round trips beyond "
            "the SELECT.",
        ]
    if any("RESET ALL" in s for r in runs for s in r.calls[0]["sql"]):
        lines += [
            "",
            "On PostgreSQL, (b)'s second round trip is asyncpg's pool resetting the connection "
            "as it takes it back (`Connection.reset()`: advisory locks, cursors, LISTEN, "
            "settings), which this pool's reads never change: `create_pool(reset=...)` with a "
            "no-op would save it.",
        ]
    lines += [
        "",
        f"Pool churn: new connections of the engine per 1,000 list requests, "
        f"{CHURN_CONCURRENCY} at a time in process, once the pool is warm: {churn}. The kit's "
        "engines allow more connections than they keep (PostgreSQL: `pool_size` 10 and as much "
        "overflow; SQLite: SQLAlchemy's 5 and 10): when a burst of requests ends, connections "
        "that find the pool full are closed, and the next burst opens new ones.",
    ]
    return "\n".join(lines)


def _short(statement: str, width: int = 72) -> str:
    return statement if len(statement) <= width else statement[: width - 1] + "…"


def _ladder_table(runs: list[BackendRun]) -> str:
    headers = ["one read through"]
    for r in runs:
        headers += [f"{NAMES[r.backend]} CPU µs", "wall µs"]
    rows = []
    for i, label in enumerate(LADDER):
        row: list[object] = [label]
        for r in runs:
            row += [f"{r.ladder[i][1]:,.0f}", f"{r.ladder[i][2]:,.0f}"]
        rows.append(row)
    return markdown_table(headers, rows)


def stage_shares(profile: Profile) -> dict[str, float]:
    """Database stages by any frame, everything else by the layer of its innermost frame."""
    shares: dict[str, float] = {}
    for frames, n in profile.stacks:
        label = next((lab for lab, m in DATABASE_STAGES if any(m(f) for f in frames)), None)
        if label is None:
            leaf = frames[-1]
            label = next((lab for lab, m in LAYERS if m(leaf)), "other")
        shares[label] = shares.get(label, 0.0) + n / profile.samples
    return shares


def _profile(runs: list[BackendRun]) -> str:
    columns = [
        (f"{NAMES[r.backend]} {short}", p)
        for r in runs
        for name, short in ((CODE_200, "(b)"), (SESSION, "(b) via session"))
        if (p := r.profiles.get(name)) is not None
    ]
    names = [c for c, _ in columns]
    shares = [stage_shares(p) for _, p in columns]
    labels = [lab for lab, _ in DATABASE_STAGES] + [lab for lab, _ in LAYERS] + ["other"]
    stage_rows = [
        [label, *(percent(s.get(label, 0.0)) for s in shares)]
        for label in labels
        if any(s.get(label, 0.0) >= 0.005 for s in shares)
    ]
    held = [
        ["GIL held (share of wall-clock time)", *(percent(p.gil_held) for _, p in columns)],
        ["samples", *(str(p.samples) for _, p in columns)],
    ]
    tops = [
        f"- {name}: " + ", ".join(f"`{leaf}` {percent(v)}" for leaf, v in p.top_leaves(6))
        for name, p in columns
    ]
    return "\n\n".join(
        [
            f"py-spy at {RATE} Hz on a server's process while wrk loads it, keeping only samples "
            "of the thread that holds the GIL (`--gil`): a worker runs one Python thread at a "
            "time, so GIL time is its cost per request, and time with the GIL free is time it "
            "waits. Native code (asyncpg's protocol, uvloop, the kernel's loopback TCP inside "
            "`send()`) counts in the Python frame that called it.",
            markdown_table(["", *names], held),
            "Where GIL time goes: database stages by any frame of the stack (SQLAlchemy's "
            "greenlet stacks are cut short, so these are lower bounds), the rest by the layer "
            "of the innermost frame; each column adds up to 100 %.",
            markdown_table(["stage", *names], stage_rows),
            "Hottest functions (self time):\n\n" + "\n".join(tops),
        ]
    )


def _decomposition(runs: list[BackendRun]) -> str:
    size = f"{runs[0].calls[0]['bytes']:,}"
    steps = [
        ("HTTP server and bare FastAPI (the bare endpoint)", None, BARE),
        ("the kit's middleware and the app's routing (`/livez` − bare)", BARE, LIVEZ),
        (
            f"the route, its dependencies, a {size} B answer (the cached variant − `/livez`)",
            LIVEZ,
            CACHED,
        ),
        ("the read through `DriverRowReader` ((b) − the cached variant)", CACHED, CODE_200),
        ("**(b)**", None, CODE_200),
        ("what a session per read would add (the session variant − (b))", CODE_200, SESSION),
    ]
    headers = ["part of (b)", *(f"{NAMES[r.backend]} µs" for r in runs)]
    rows = []
    for label, low, high in steps:
        row: list[object] = [label]
        for r in runs:
            value = _cpu(r, high) - (_cpu(r, low) if low else 0.0)
            row.append(f"{value:,.0f}")
        rows.append(row)
    return markdown_table(headers, rows)


def learnt(runs: list[BackendRun]) -> str:
    """The run's figures, read: written from them, so that text and numbers stay in step."""
    paragraphs = []
    for r in runs:
        s = r.summaries
        name = NAMES[r.backend]
        value = _ratio(r, CODE_200)
        by_code = r.calls[0]
        pages = [len(x["orm"]) for x in r.calls[1:]]
        driver, row_reader, core, _, _, kit = (cpu for _, cpu, _ in r.ladder)
        text = (
            f"**{name}.** (b) serves {s[CODE_200].rps:,.0f} req/s against {s[BARE].rps:,.0f} "
            f"for the bare endpoint: {value:.2f}, goal {GOAL} {_verdict(value)}; read through "
            f"a SQLAlchemy session instead it keeps {_ratio(r, SESSION):.2f}. The server "
            f"spends {_cpu(r, BARE):,.0f} µs of CPU per bare request, {_cpu(r, LIVEZ):,.0f} on "
            f"`/livez` (the kit's middleware and routing), {_cpu(r, CODE_200):,.0f} on (b) and "
            f"{_cpu(r, SESSION):,.0f} on (b) through a session. In process, one read of the row "
            f"costs {row_reader:,.0f} µs of CPU through `DriverRowReader` (the driver alone: "
            f"{driver:,.0f}), {core:,.0f} through SQLAlchemy Core and {kit:,.0f} through the "
            f"kit's session with its transaction and pre-ping. (b) runs "
            f"{by_code['statements']} statement(s) in "
            + (
                "the event loop's own thread (no hand-off)"
                if r.backend == "sqlite" and by_code["round_trips"] == 0
                else f"{by_code['round_trips']} {r.unit}"
            )
            + ". A "
            f"conditional request (304) serves {_ratio(r, CODE_304, CODE_200):.2f}× the 200's "
            f"throughput: the route reads the row before it compares ETags, so a 304 saves "
            f"bytes, not work. A cache in front of the read would keep "
            f"{_ratio(r, CACHED):.2f}. List pages run {'/'.join(map(str, pages))} engine "
            f"statements for {'/'.join(map(str, PAGE_SIZES))} items: "
            f"{'flat, as required' if len(set(pages)) == 1 else 'NOT flat'}."
        )
        profile = r.profiles.get(CODE_200)
        if profile is not None:
            shares = sorted(stage_shares(profile).items(), key=lambda kv: -kv[1])[:4]
            text += (
                f" Under load the GIL is held {percent(profile.gil_held)} of the time; the "
                "largest shares of it: "
                + "; ".join(f"{lab} {percent(v)}" for lab, v in shares)
                + "."
            )
        paragraphs.append(text)
    return "\n\n".join(paragraphs)


def levers(runs: list[BackendRun]) -> str:
    """What remains between (b) and the bare endpoint, each with the figure that supports it."""
    verdict = (
        "The goal is met on every backend measured."
        if all(_ratio(r, CODE_200) >= GOAL for r in runs)
        else "The goal is not met on "
        + ", ".join(NAMES[r.backend] for r in runs if _ratio(r, CODE_200) < GOAL)
        + "."
    )
    return "\n".join(
        [
            f"{verdict} What separates (b) from the bare endpoint, in this run's figures:",
            "",
            "1. **The kit's middleware and routing**: `/livez` costs "
            + _each(runs, lambda r: f"{_cpu(r, LIVEZ):,.0f} µs against {_cpu(r, BARE):,.0f}")
            + " for the bare endpoint (request id, Prometheus, ETag buffering, and the "
            "pass-through layers a GET crosses: idempotency, body limit).",
            "2. **The route itself** (path validation, dependencies, building and sending the "
            "answer): the cached variant − `/livez` is "
            + _each(runs, lambda r: f"{_cpu(r, CACHED) - _cpu(r, LIVEZ):,.0f} µs")
            + (
                ": nothing measurable beyond `/livez`'s own handler, since the route sends the "
                "stored JSON as it is, without validating or encoding it."
                if all(_cpu(r, CACHED) - _cpu(r, LIVEZ) <= 25 for r in runs)
                else "."
            ),
            "3. **The read**: (b) − the cached variant is "
            + _each(runs, lambda r: f"{_cpu(r, CODE_200) - _cpu(r, CACHED):,.0f} µs")
            + "; an in-process cache of the stored documents (the registry is read-mostly), "
            "refreshed on a version the writes bump, would also let an `If-None-Match` be "
            "answered before any I/O.",
            "4. **Sessions on the other reads**: a read through a session costs "
            + _each(runs, lambda r: f"{_cpu(r, SESSION) - _cpu(r, CODE_200):,.0f} µs more")
            + " than through the driver; the lists and every other GET still take that path, "
            "with a pre-ping and a transaction each, and a pool that closes and reopens "
            "connections under bursts (churn above): `pool_size` at the expected concurrency "
            "with little overflow avoids that.",
            *[
                f"5. **Waiting, on {NAMES[r.backend]}**: under (b)'s load its server used "
                f"{r.summaries[CODE_200].server_cpu_share:.2f} of a core while bare's used "
                f"{r.summaries[BARE].server_cpu_share:.2f}: it waits for the database, each of "
                f"its {r.calls[0]['round_trips']} {r.unit} per read queued behind whatever else "
                "the 2 cores run, with at most the reader pool's 10 connections (the benchmark's) "
                f"for {r.connections} concurrent requests. Fewer round trips "
                "and a pool sized for the concurrency are the levers here."
                for r in runs
                if r.summaries[CODE_200].server_cpu_share < 0.8 * r.summaries[BARE].server_cpu_share
                and r.backend == "postgresql"
            ],
        ]
    )
