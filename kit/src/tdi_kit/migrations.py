"""Alembic for every service: one env.py body, programmatic upgrade, head and drift checks.

Migrations run under a lock, so that every replica or job may start them at once: on
PostgreSQL a transaction-scoped advisory lock (`MIGRATION_LOCK`), on SQLite the write lock
taken up front (`BEGIN IMMEDIATE`). The second runner waits, then finds the schema at its head
and does nothing.

Readiness accepts a schema *ahead* of the code (the expand step of a rolling upgrade has run,
old replicas still serve): each upgrade records every revision it knows with its parents in
`alembic_lineage`, so that old code can tell a later revision that descends from its own head
(ready) from one it cannot place (not ready). See `schema_state`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, MetaData, String, Table, insert, pool, select, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

log = logging.getLogger("tdi.migrations")

# One number for every service's migrations: PostgreSQL's advisory locks are per database, and
# each service has a database of its own. (The bytes of "tdi-migr", as a signed bigint.)
MIGRATION_LOCK = int.from_bytes(b"tdi-migr", "big", signed=True)

# Revision → its parents, as written by the code that applied it. Not in any service's models:
# the kit owns it, like Alembic owns `alembic_version`.
LINEAGE_TABLE = "alembic_lineage"
_lineage_metadata = MetaData()
lineage = Table(
    LINEAGE_TABLE,
    _lineage_metadata,
    Column("revision", String(64), primary_key=True),
    # The parents, space-separated ("" for the first revision; two for a merge).
    Column("down_revisions", String(255), nullable=False),
)
KIT_TABLES = frozenset({"alembic_version", LINEAGE_TABLE})


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
    """Bring the schema to `revision` under the migration lock, and record the lineage."""

    def action(cfg: Config) -> None:
        command.upgrade(cfg, revision)
        _record_lineage(cfg.attributes["connection"], script_location)

    await _run(engine, script_location, action)


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


async def migrate_and_seed(url: str, script_location: str, *seeders: Seeder) -> None:
    """The recipe every fresh database follows: migrations to head, then each seeder in turn,
    each in its own committed session (a seeder is `load(session, say=...)`)."""
    from tdi_kit.db import create_engine, create_sessionmaker

    engine = create_engine(url)
    try:
        await upgrade(engine, script_location)
        for seed in seeders:
            async with create_sessionmaker(engine)() as session:
                await seed(session, say=lambda _line: None)
                await session.commit()
    finally:
        await engine.dispose()


async def downgrade(engine: AsyncEngine, script_location: str, revision: str = "base") -> None:
    await _run(engine, script_location, lambda cfg: command.downgrade(cfg, revision))


async def _run(engine: AsyncEngine, script_location: str, action: Callable[[Config], Any]) -> None:
    def run(connection: Connection) -> None:
        cfg = alembic_config(script_location)
        cfg.attributes["connection"] = connection
        action(cfg)

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
            await connection.run_sync(run)


def _record_lineage(connection: Connection, script_location: str) -> None:
    _lineage_metadata.create_all(connection, checkfirst=True)
    known = set(connection.scalars(select(lineage.c.revision)))
    script = ScriptDirectory.from_config(alembic_config(script_location))
    rows = [
        {"revision": rev.revision, "down_revisions": " ".join(_parents(rev.down_revision))}
        for rev in script.walk_revisions()
        if rev.revision not in known
    ]
    if rows:
        connection.execute(insert(lineage), rows)


def _parents(down: str | Sequence[str] | None) -> tuple[str, ...]:
    if down is None:
        return ()
    return (down,) if isinstance(down, str) else tuple(down)


@dataclass(frozen=True)
class SchemaState:
    """Where the database's schema stands against the code's migrations."""

    current: set[str]
    head: set[str]
    # "at_head", "ahead" (later revisions that descend from the code's head: ready),
    # "behind" (migrations to run), "unknown" (a revision the code cannot place).
    position: str
    # For "ahead": how many revisions past the code's head.
    ahead_by: int = 0

    @property
    def ready(self) -> bool:
        return self.position in ("at_head", "ahead")


async def schema_state(engine: AsyncEngine, script_location: str) -> SchemaState:
    """Compare the database's revisions with the code's head, through the recorded lineage.

    A schema ahead of the code is ready only if every one of its revisions leads back, through
    revisions the database recorded, to the code's head: migrations are written
    expand-then-contract (docs/operations.md), so a schema that only expanded past the code
    still serves it. Anything else the code cannot place (a revision without lineage, another
    branch) is not.
    """
    script = ScriptDirectory.from_config(alembic_config(script_location))
    head = set(script.get_heads())
    known = {rev.revision for rev in script.walk_revisions()}

    def read(connection: Connection) -> tuple[set[str], dict[str, tuple[str, ...]]]:
        current = set(MigrationContext.configure(connection).get_current_heads())
        parents: dict[str, tuple[str, ...]] = {}
        if current - known and _has_lineage(connection):
            for row in connection.execute(select(lineage)):
                parents[row.revision] = tuple(row.down_revisions.split())
        return current, parents

    async with engine.connect() as connection:
        current, parents = await connection.run_sync(read)
    if current == head:
        return SchemaState(current, head, "at_head")
    if current <= known:
        return SchemaState(current, head, "behind")
    ahead_by = 0
    for revision in current:
        distance = _distance_to(revision, head, parents, known=known)
        if distance is None:
            return SchemaState(current, head, "unknown")
        ahead_by = max(ahead_by, distance)
    return SchemaState(current, head, "ahead", ahead_by)


def _distance_to(
    revision: str,
    head: set[str],
    parents: dict[str, tuple[str, ...]],
    *,
    known: set[str],
) -> int | None:
    """Revisions from `revision` back to one of `head`, walking unknown revisions only."""
    frontier, distance, seen = {revision}, 0, set()
    while frontier:
        if frontier & head:
            return distance
        seen |= frontier
        step: set[str] = set()
        for rev in frontier:
            if rev in known:
                # A revision of the code that is not its head: the schema is on another branch.
                continue
            step.update(parents.get(rev, ()))
        frontier, distance = step - seen, distance + 1
    return None


def _has_lineage(connection: Connection) -> bool:
    from sqlalchemy import inspect

    return bool(inspect(connection).has_table(LINEAGE_TABLE))


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
