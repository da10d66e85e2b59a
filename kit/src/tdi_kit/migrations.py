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

import sqlalchemy as sa
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

# tdi_kit.events.outbox.TABLE (not imported: the events package imports the database kit).
EVENTS_TABLE = "events"

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

    def action(cfg: Config) -> None:
        command.upgrade(cfg, revision)
        _record_lineage(cfg.attributes["connection"], script_location)

    await _run(engine, script_location, action, attributes={"app_role": app_role})


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
    from tdi_kit.db import create_engine, create_sessionmaker

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
    _lineage_metadata.create_all(connection, checkfirst=True)
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


# What every service's migrations create alike, called from inside a migration (Alembic's `op`
# is bound there). Each produces the very schema its callers wrote out before: change one only
# through a new migration.


def create_idempotency_keys() -> None:
    """The table `tdi_kit.idempotency` replays answers from, as each first migration made it."""
    from alembic import op

    op.create_table(
        "idempotency_keys",
        sa.Column("principal", sa.String(length=255), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response_headers", sa.Text(), nullable=True),
        sa.Column("response_body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("principal", "key", name=op.f("pk_idempotency_keys")),
    )


_ANSWER_COLUMNS = (
    ("status_code", sa.Integer()),
    ("response_headers", sa.Text()),
    ("response_body", sa.LargeBinary()),
)


def idempotency_owner_upgrade() -> None:
    """Keys owned by a digest of issuer, subject and organisation, rows holding only final
    answers with the scopes of the token that got them (every service's migration 0002).

    Rows of the old kind are deleted: keyed on the subject alone, they could be replayed to
    another organisation's caller.
    """
    from alembic import op

    op.execute(sa.text("DELETE FROM idempotency_keys"))
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(sa.Column("scopes", sa.Text(), nullable=False, server_default=""))
        for column, kind in _ANSWER_COLUMNS:
            batch.alter_column(column, existing_type=kind, nullable=False)
    with op.batch_alter_table("idempotency_keys") as batch:
        # The default only filled the (emptied) table; the code always names the scopes.
        batch.alter_column("scopes", existing_type=sa.Text(), server_default=None)


def idempotency_owner_downgrade() -> None:
    from alembic import op

    # Old-style rows are keyed on the subject alone: none of the new ones can be kept.
    op.execute(sa.text("DELETE FROM idempotency_keys"))
    with op.batch_alter_table("idempotency_keys") as batch:
        for column, kind in _ANSWER_COLUMNS:
            batch.alter_column(column, existing_type=kind, nullable=True)
        batch.drop_column("scopes")


def versioned() -> list[sa.Column[Any]]:
    """A served record's `version`, `created_at` and `updated_at` columns, in that order."""
    return [
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]
