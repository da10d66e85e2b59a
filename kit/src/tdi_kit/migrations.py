"""Alembic for every service: one env.py body, programmatic upgrade, head and drift checks."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def alembic_config(script_location: str, url: str | None = None) -> Config:
    """`script_location` is a package path such as `registry:migrations`."""
    cfg = Config()
    cfg.set_main_option("script_location", script_location)
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def heads(script_location: str) -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(script_location)).get_heads())


async def upgrade(engine: AsyncEngine, script_location: str, revision: str = "head") -> None:
    await _run(engine, script_location, lambda cfg: command.upgrade(cfg, revision))


Seeder = Callable[..., Awaitable[Any]]


async def migrate_and_seed(
    url: str, script_location: str, *seeders: Seeder, say: Callable[[str], None] | None = None
) -> list[Any]:
    """The recipe every fresh database follows, in deployments, `tdi` and the tests: migrations
    to head, then each seeder in turn (`load(session, say=...)`), each in its own committed
    session. Returns what each seeder returned (its report); `say` hears the seeders' lines."""
    from tdi_kit.db import create_engine, create_sessionmaker

    def quiet(_line: str) -> None:
        pass

    engine = create_engine(url)
    try:
        await upgrade(engine, script_location)
        reports = []
        for seed in seeders:
            async with create_sessionmaker(engine)() as session:
                reports.append(await seed(session, say=say or quiet))
                await session.commit()
        return reports
    finally:
        await engine.dispose()


async def downgrade(engine: AsyncEngine, script_location: str, revision: str = "base") -> None:
    await _run(engine, script_location, lambda cfg: command.downgrade(cfg, revision))


async def _run(engine: AsyncEngine, script_location: str, action: Callable[[Config], Any]) -> None:
    def run(connection: Connection) -> None:
        cfg = alembic_config(script_location)
        cfg.attributes["connection"] = connection
        action(cfg)

    async with engine.begin() as connection:
        await connection.run_sync(run)


async def current_revisions(engine: AsyncEngine) -> set[str]:
    def read(connection: Connection) -> set[str]:
        return set(MigrationContext.configure(connection).get_current_heads())

    async with engine.connect() as connection:
        return await connection.run_sync(read)


async def drift(engine: AsyncEngine, metadata: MetaData) -> list[Any]:
    """What the models declare that the migrated schema lacks (or the reverse): [] when none."""

    def compare(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": False}
        )
        diffs: list[Any] = compare_metadata(context, metadata)
        return diffs

    async with engine.connect() as connection:
        return await connection.run_sync(compare)


def _configure(connection: Connection, metadata: MetaData) -> None:
    from alembic import context

    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        # SQLite alters tables by copying them; batch mode does that for us.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_env(metadata: MetaData, default_url: Callable[[], str]) -> None:
    """The body of each service's `migrations/env.py`.

    Called by `upgrade()` above with a connection in `attributes`, or by the `alembic` command
    line, in which case it opens its own engine on the configured or the service's URL.
    """
    from alembic import context

    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection, metadata)
        return
    if context.is_offline_mode():
        context.configure(
            url=config.get_main_option("sqlalchemy.url") or default_url(),
            target_metadata=metadata,
            literal_binds=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        return

    async def online() -> None:
        url = config.get_main_option("sqlalchemy.url") or default_url()
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as conn:
            await conn.run_sync(_configure, metadata)
            await conn.commit()
        await engine.dispose()

    asyncio.run(online())
