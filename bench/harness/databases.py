"""Throwaway databases: a SQLite file in the run's folder, or a database created on the
PostgreSQL server of the run and dropped (WITH FORCE) when the block ends."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from tdi_kit.settings import normalise_database_url

if TYPE_CHECKING:
    from bench.harness.runner import Context


async def usable_backends(ctx: Context) -> list[str]:
    """The run's backends, less PostgreSQL when its server does not answer (noted as skipped)."""
    usable = []
    for backend in ctx.backends:
        if backend == "postgresql":
            version = await postgres_version(ctx)
            if version is None:
                ctx.skip(f"PostgreSQL: no server answered at {ctx.postgres_url}")
                continue
        elif backend != "sqlite":
            ctx.skip(f"unknown backend {backend!r}")
            continue
        usable.append(backend)
    return usable


async def postgres_version(ctx: Context) -> str | None:
    if not ctx.postgres_url:
        return None
    engine = create_async_engine(normalise_database_url(ctx.postgres_url), poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            return str(await conn.scalar(text("SHOW server_version"))).split()[0]
    except Exception as exc:
        ctx.say(f"PostgreSQL at {ctx.postgres_url}: {exc!r}")
        return None
    finally:
        await engine.dispose()


@asynccontextmanager
async def throwaway_database(ctx: Context, backend: str, name: str) -> AsyncIterator[str]:
    """The async URL of a new, empty database, removed when the block ends."""
    if backend == "sqlite":
        path = ctx.workdir / f"{name}.db"
        try:
            yield f"sqlite+aiosqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)
        return
    assert ctx.postgres_url, "PostgreSQL was not selected for this run"
    server = make_url(normalise_database_url(ctx.postgres_url))
    database = f"tdi_bench_{name}_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{database}"'))
    ctx.say(f"created database {database}")
    try:
        yield server.set(database=database).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        await admin.dispose()
        ctx.say(f"dropped database {database}")


async def settle_statistics(url: str) -> None:
    """What autovacuum does to a PostgreSQL database soon after a bulk load: the planner's
    statistics and the visibility map that index-only scans read. Measured before it, a table
    filled a second ago is planned as if empty (the anonymous allocations' total read all
    10,000 rows: 5.4 ms, against 1.2 ms from its index once vacuumed). SQLite keeps no
    statistics unless asked, and the services never ask: nothing to do there."""
    if make_url(url).get_backend_name() != "postgresql":
        return
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("VACUUM ANALYZE"))
    finally:
        await engine.dispose()


@asynccontextmanager
async def registry_database(ctx: Context, backend: str) -> AsyncIterator[str]:
    """A throwaway registry database, migrated and loaded with the shipped seed."""
    from registry.main import MIGRATIONS
    from registry.seed.loader import load
    from tdi_kit import migrations

    async with throwaway_database(ctx, backend, "registry") as url:
        await migrations.migrate_and_seed(url, MIGRATIONS, load)
        ctx.say(f"registry database on {backend}: migrated and seeded")
        yield url
