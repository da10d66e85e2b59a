"""Alembic for every service: one recipe that runs the migrations, one env.py body, drift checks.

Migrations run under a lock, so that every replica or job may start them at once: on
PostgreSQL a transaction-scoped advisory lock (`MIGRATION_LOCK`), on SQLite the write lock
taken up front (`BEGIN IMMEDIATE`). The second runner waits, then finds the schema at its head
and does nothing. Every path takes it and records the lineage readiness reads
(`tdi_kit.lineage`): `upgrade()` and `migrate_and_seed()` (the apps, `tdi`, the tests) and the
`alembic` command line run by hand with a service's `alembic.ini`, through `run_env`.

The steps a migration script writes alike (the idempotency table, the served records'
columns) are `tdi_kit.migration_steps`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from tdi_kit.db import create_engine, create_sessionmaker
from tdi_kit.lineage import (
    KIT_TABLES,
    LINEAGE_TABLE,
    SchemaState,
    lineage,
    lineage_metadata,
    record_lineage,
    schema_state,
    scripts,
)

# Migration scripts import their steps from here too (one place for everything migrations).
from tdi_kit.migration_steps import (
    create_idempotency_keys,
    idempotency_owner_downgrade,
    idempotency_owner_upgrade,
    versioned,
)

__all__ = [
    "KIT_TABLES",
    "LINEAGE_TABLE",
    "MIGRATION_LOCK",
    "DatabaseNotReady",
    "SchemaState",
    "alembic_config",
    "create_idempotency_keys",
    "current_revisions",
    "downgrade",
    "drift",
    "grant_app_role",
    "heads",
    "idempotency_owner_downgrade",
    "idempotency_owner_upgrade",
    "lineage",
    "migrate_and_seed",
    "run_env",
    "schema_state",
    "upgrade",
    "versioned",
    "wait_for_database",
]

log = logging.getLogger("tdi.migrations")

# tdi_kit.events.outbox.TABLE (not imported: the events package imports the database kit).
EVENTS_TABLE = "events"

# One number for every service's migrations: PostgreSQL's advisory locks are per database, and
# each service has a database of its own. (The bytes of "tdi-migr", as a signed bigint.)
MIGRATION_LOCK = int.from_bytes(b"tdi-migr", "big", signed=True)


def alembic_config(script_location: str, url: str | None = None) -> Config:
    """`script_location` is a package path such as `registry:migrations`."""
    cfg = Config()
    cfg.set_main_option("script_location", script_location)
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def heads(script_location: str) -> set[str]:
    return set(scripts(script_location).get_heads())


async def upgrade(
    engine: AsyncEngine,
    script_location: str,
    revision: str = "head",
    *,
    app_role: str | None = None,
) -> None:
    """Bring the schema to `revision` under the migration lock, and record the lineage. With
    `app_role` (PostgreSQL), the role the service runs as is then granted what it needs on the
    schema, in the same transaction (`grant_app_role`)."""
    await _run(
        engine,
        script_location,
        lambda cfg: command.upgrade(cfg, revision),
        attributes={"app_role": app_role},
    )


class DatabaseNotReady(SystemExit):
    """The database did not accept a connection in time: one line naming the last error's class
    (and the driver's message: this goes to the operator's terminal or the job's log, never to
    an HTTP client)."""


async def wait_for_database(
    engine: AsyncEngine,
    *,
    within: float,
    interval: float = 0.5,
    max_interval: float = 5.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> int:
    """Try `SELECT 1` until it works or `within` seconds have passed; the attempts it took.

    A job started with the database (compose, a Kubernetes Job beside a starting cluster) waits
    with a bounded back-off (`interval`, doubling up to `max_interval`) instead of failing at
    once; after `within` it stops with `DatabaseNotReady`.
    """
    deadline = clock() + within
    attempt = 0
    while True:
        attempt += 1
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            return attempt
        except (OSError, SQLAlchemyError) as exc:
            left = deadline - clock()
            cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
            if left <= 0:
                where = make_url(str(engine.url)).render_as_string(hide_password=True)
                message = " ".join(str(cause).split()) or "no message"
                raise DatabaseNotReady(
                    f"the database at {where} did not answer within {within:g} s "
                    f"({attempt} attempts); last error: {type(cause).__name__}: {message}"
                ) from exc
            log.info("waiting for the database (%s), attempt %d", type(cause).__name__, attempt)
            await sleep(min(interval, left))
            interval = min(interval * 2, max_interval)


Seeder = Callable[..., Awaitable[Any]]


async def migrate_and_seed(
    database: str | AsyncEngine,
    script_location: str,
    *seeders: Seeder,
    say: Callable[[str], None] | None = None,
    app_role: str | None = None,
) -> list[Any]:
    """The recipe every fresh database follows, in deployments, `tdi` and the tests: migrations
    to head (under the migration lock), then each seeder in turn (`load(session, say=...)`),
    each in its own committed session. Returns what each seeder returned (its report); `say`
    hears the seeders' lines. `database` is a URL, or an engine the caller keeps."""

    def quiet(_line: str) -> None:
        pass

    engine = create_engine(database) if isinstance(database, str) else database
    try:
        await upgrade(engine, script_location, app_role=app_role)
        reports = []
        for seed in seeders:
            async with create_sessionmaker(engine)() as session:
                reports.append(await seed(session, say=say or quiet))
                await session.commit()
        return reports
    finally:
        if isinstance(database, str):
            await engine.dispose()


async def downgrade(engine: AsyncEngine, script_location: str, revision: str = "base") -> None:
    await _run(engine, script_location, lambda cfg: command.downgrade(cfg, revision))


async def _run(
    engine: AsyncEngine,
    script_location: str,
    action: Callable[[Config], Any],
    attributes: dict[str, Any] | None = None,
) -> None:
    def run(connection: Connection) -> None:
        cfg = alembic_config(script_location)
        cfg.attributes.update(attributes or {}, connection=connection)
        action(cfg)

    await _locked(engine, run)


async def _locked(engine: AsyncEngine, work: Callable[[Connection], Any]) -> None:
    """`work` in one transaction that holds the migration lock: every path that migrates."""
    async with engine.connect() as connection:
        # SQLite: the write lock up front (a second runner waits on the busy timeout).
        connection = await connection.execution_options(sqlite_begin="IMMEDIATE")
        async with connection.begin():
            if connection.dialect.name == "postgresql":
                # Held to the end of the transaction: the second runner waits here, then reads
                # the version the first one committed.
                await connection.execute(
                    text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": MIGRATION_LOCK}
                )
            await connection.run_sync(work)


async def current_revisions(engine: AsyncEngine) -> set[str]:
    def read(connection: Connection) -> set[str]:
        return set(MigrationContext.configure(connection).get_current_heads())

    async with engine.connect() as connection:
        return await connection.run_sync(read)


async def drift(engine: AsyncEngine, metadata: MetaData) -> list[Any]:
    """What the models declare that the migrated schema lacks (or the reverse): [] when none."""

    def compare(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "compare_server_default": False,
                "include_name": _not_the_kits,
            },
        )
        diffs: list[Any] = compare_metadata(context, metadata)
        return diffs

    async with engine.connect() as connection:
        return await connection.run_sync(compare)


def _not_the_kits(name: str | None, type_: str, _parent: Any) -> bool:
    """Autogenerate and drift checks leave the kit's own tables alone."""
    return not (type_ == "table" and name in KIT_TABLES)


def _configure(connection: Connection, metadata: MetaData) -> None:
    from alembic import context

    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        include_name=_not_the_kits,
        # SQLite alters tables by copying them; batch mode does that for us.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
        # Whatever ran them (an upgrade, a downgrade, the command line): the revisions this code
        # knows are true of it, and readiness of older code needs them.
        record_lineage(connection, context.script)
        role = context.config.attributes.get("app_role")
        if role and connection.dialect.name == "postgresql":
            grant_app_role(connection, role, metadata)


# What a service's own role may do: read and write rows, never own, alter or drop a table (so it
# cannot disable a trigger), never rewrite the migration history or its lineage, and only read
# and add to the tables its models declare append-only (`metadata.info["append_only"]`, funding's
# ledger).
def grant_app_role(connection: Connection, role: str, metadata: MetaData) -> None:
    """Grant `role` what the service needs on every table of the schema, and nothing more.

    Run by the migration role (the schema's owner) after each upgrade, so that tables a
    migration adds are covered too; granting again is harmless.
    """
    quote = connection.dialect.identifier_preparer.quote
    quoted = quote(role)
    append_only = set(metadata.info.get("append_only", ()))
    # The kit's own tables (the lineage readiness reads) exist before the grant covers them.
    lineage_metadata.create_all(connection, checkfirst=True)
    connection.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {quoted}")
    connection.exec_driver_sql(
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}"
    )
    connection.exec_driver_sql(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}")
    for table in sorted({*KIT_TABLES, *append_only}):
        connection.exec_driver_sql(
            f"REVOKE UPDATE, DELETE, TRUNCATE ON {quote(table)} FROM {quoted}"
        )
    for table in sorted(KIT_TABLES):  # the migrations' records: read, never written
        connection.exec_driver_sql(f"REVOKE INSERT ON {quote(table)} FROM {quoted}")
    # The outbox (tdi_kit.events): the service adds events and the sequencer and the relay
    # set their position and published_at, but an event once committed is never taken back.
    if EVENTS_TABLE in metadata.tables:
        connection.exec_driver_sql(
            f"REVOKE DELETE, TRUNCATE ON {quote(EVENTS_TABLE)} FROM {quoted}"
        )


def run_env(metadata: MetaData, default_url: Callable[[], str]) -> None:
    """The body of each service's `migrations/env.py`.

    Called by `upgrade()` above with a connection in `attributes`, or by the `alembic` command
    line, in which case it opens its own engine on the configured or the service's URL and
    takes the migration lock as `upgrade()` does, so that a migration run by hand never races
    a deployment's (and records the lineage the same way).
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
        engine = create_engine(url, pool_size=1, max_overflow=0)
        try:
            await _locked(engine, lambda connection: _configure(connection, metadata))
        finally:
            await engine.dispose()

    asyncio.run(online())
