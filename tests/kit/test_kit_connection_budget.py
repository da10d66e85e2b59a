"""One bounded connection budget per process (`DATABASE_MAX_CONNECTIONS`): the engine's pool
and overflow, the row reader's pool and the idempotency key locks' pool together never hold
more, whatever the load (docs/operations.md, "Connection budget")."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from registry.main import MIGRATIONS, create_app
from registry.settings import RegistrySettings
from tdi_kit import migrations, testing
from tdi_kit.app import ServiceApp
from tdi_kit.settings import ConnectionBudget
from tdi_kit.testing import asgi_client, bearer

API = "/api/v1"
BUDGET = 8
REQUESTS = 200


@pytest.mark.parametrize("read_engine", [True, False])
@pytest.mark.parametrize("total", [4, 5, 8, 18, 20, 33, 100])
def test_the_budget_is_split_whole_between_the_pools(total: int, read_engine: bool) -> None:
    budget = ConnectionBudget.split(total, read_engine=read_engine)
    engines = budget.engine_pool + budget.engine_overflow + budget.read_pool + budget.read_overflow
    assert engines + budget.reader + budget.locks == total
    assert min(budget.engine_pool, budget.reader, budget.locks) >= 1
    # GET's sessions have an engine of their own on PostgreSQL; SQLite's share the one.
    assert (
        (budget.read_pool >= 1) if read_engine else (budget.read_pool == budget.read_overflow == 0)
    )


async def test_the_apps_pools_are_sized_from_the_one_setting() -> None:
    # PostgreSQL's pools (nothing connects until a request); SQLite is one file, one process.
    settings = RegistrySettings(
        database_url="postgresql://nobody@127.0.0.1:9/budget",
        environment="test",
        database_max_connections=BUDGET,
    )
    app = create_app(settings)
    try:
        budget = settings.connection_budget
        pool = app.state.engine.pool
        assert pool.size() == budget.engine_pool
        assert pool._max_overflow == budget.engine_overflow
        assert app.state.rows.pool_size == budget.reader
        reads = app.state.read_sessionmaker.kw["bind"].pool
        assert (reads.size(), reads._max_overflow) == (budget.read_pool, budget.read_overflow)
        locks = app.state.idempotency_locks.engine.pool
        assert (locks.size(), locks._max_overflow) == (budget.locks, 0)
    finally:
        await app.state.idempotency_locks.aclose()
        await app.state.read_sessionmaker.kw["bind"].dispose()
        await app.state.engine.dispose()


@pytest.fixture
async def loaded_app() -> AsyncIterator[tuple[ServiceApp, str, str]]:
    async with testing.test_database("budget") as url:
        await migrations.migrate_and_seed(url, MIGRATIONS)
        name = f"tdi-budget-{uuid.uuid4().hex[:8]}"
        app = create_app(
            RegistrySettings(
                database_url=url,
                environment="test",
                log_json=False,
                database_max_connections=BUDGET,
                database_application_name=name,
                # Two hundred requests queue for eight connections on a shared machine: they
                # wait as long as the queue takes (the timeouts have tests of their own).
                database_connect_timeout_seconds=60,
                request_timeout_seconds=120,
            )
        )
        try:
            yield app, url, name
        finally:
            await app.state.rows.close()
            await app.state.idempotency_locks.aclose()
            await app.state.engine.dispose()


@pytest.mark.postgres_only
async def test_under_load_the_process_never_holds_more_connections_than_its_budget(
    loaded_app: tuple[ServiceApp, str, str],
) -> None:
    app, url, name = loaded_app
    observer = create_async_engine(url, poolclass=NullPool)
    counts: list[int] = []
    done = asyncio.Event()

    async def watch() -> None:
        async with observer.connect() as connection:
            while not done.is_set():
                counts.append(
                    int(
                        await connection.scalar(
                            text(
                                "SELECT count(*) FROM pg_stat_activity "
                                "WHERE application_name = :name"
                            ),
                            {"name": name},
                        )
                        or 0
                    )
                )
                await asyncio.sleep(0.005)

    async def one(client: httpx.AsyncClient, i: int) -> httpx.Response:
        code = f"ti-{7000 + i % 50}"
        match i % 4:
            case 0:  # a write, holding its key's lock while it runs and stores its answer
                return await client.post(
                    f"{API}/territories",
                    json={"code": f"ti-{7000 + i}", "name": f"Charge {i}", "phase": 2},
                    headers={**bearer("registry:write"), "Idempotency-Key": f"load-{i}"},
                )
            case 1:  # a hot read, through the driver-level reader
                return await client.get(f"{API}/territories/{code}")
            case 2:  # a read through a session (the reads' engine on PostgreSQL; no seed: 404)
                return await client.get(f"{API}/organisations/bpifrance")
            case _:
                return await client.get(f"{API}/regions/{(11, 27, 84)[i % 3]}")

    watcher = asyncio.create_task(watch())
    try:
        async with asgi_client(app) as client:
            answers = await asyncio.gather(*(one(client, i) for i in range(REQUESTS)))
    finally:
        done.set()
        await watcher
        await observer.dispose()
    statuses = sorted({r.status_code for r in answers})
    assert all(status < 500 for status in statuses), statuses
    assert sum(r.status_code == 201 for r in answers) == REQUESTS // 4
    assert max(counts) <= BUDGET, max(counts)
    # The load reached the pools (else the bound proves nothing).
    assert max(counts) >= BUDGET // 2, counts


async def test_the_pool_gauges_sample_every_pool_of_the_budget(
    loaded_app: tuple[ServiceApp, str, str],
) -> None:
    """`db_pool_*` by `pool`: on PostgreSQL the writes' engine, the reads' AUTOCOMMIT engine, the
    driver-level reader and the idempotency locks' pool; on SQLite the one engine (its reads
    share it, the reader and the locks hold no pool)."""
    app, _url, _name = loaded_app
    async with asgi_client(app) as client:
        created = await client.post(
            f"{API}/territories",
            json={"code": "ti-6999", "name": "Jauges", "phase": 2},
            headers={**bearer("registry:write"), "Idempotency-Key": "gauges"},
        )
        assert created.status_code == 201, created.text
        assert (await client.get(f"{API}/territories/ti-6999")).status_code == 200
        # A Région by code is still read through a session (the reads' engine on PostgreSQL);
        # this database holds no seed: the session reads, and finds none.
        assert (await client.get(f"{API}/regions/84")).status_code == 404
        exposed = (await client.get("/metrics")).text
    pools: dict[str, dict[str, float]] = {}
    for name, pool, value in re.findall(
        r'^db_pool_(size|checked_out|overflow)\{pool="([a-z_]+)",service="registry"\} (\S+)$',
        exposed,
        re.M,
    ):
        pools.setdefault(pool, {})[name] = float(value)
    if testing.backend() == "postgresql":
        assert set(pools) == {"engine", "read_engine", "reader", "idempotency_locks"}
        # Each pool the requests used keeps a connection open, none in use between requests.
        assert all(pool["size"] >= 1 for pool in pools.values()), pools
    else:
        assert set(pools) == {"engine"}
    assert all(pool["checked_out"] == 0 for pool in pools.values()), pools
