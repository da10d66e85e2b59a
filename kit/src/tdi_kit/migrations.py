"""Alembic for every service: one env.py body, programmatic upgrade, head and drift checks."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
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


async def upgrade(
    engine: AsyncEngine,
    script_location: str,
    revision: str = "head",
    *,
    app_role: str | None = None,
) -> None:
    """Migrate to `revision`. With `app_role` (PostgreSQL), the role the service runs as is then
    granted what it needs on the schema, in the same transaction (`grant_app_role`)."""
    await _run(
        engine,
        script_location,
        lambda cfg: command.upgrade(cfg, revision),
        attributes={"app_role": app_role},
    )


Seeder = Callable[..., Awaitable[Any]]


async def migrate_and_seed(
    url: str,
    script_location: str,
    *seeders: Seeder,
    say: Callable[[str], None] | None = None,
    app_role: str | None = None,
) -> list[Any]:
    """The recipe every fresh database follows, in deployments, `tdi` and the tests: migrations
    to head, then each seeder in turn (`load(session, say=...)`), each in its own committed
    session. Returns what each seeder returned (its report); `say` hears the seeders' lines."""
    from tdi_kit.db import create_engine, create_sessionmaker

    def quiet(_line: str) -> None:
        pass

    engine = create_engine(url)
    try:
        await upgrade(engine, script_location, app_role=app_role)
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
        role = context.config.attributes.get("app_role")
        if role and connection.dialect.name == "postgresql":
            grant_app_role(connection, role, metadata)


# What a service's own role may do: read and write rows, never own, alter or drop a table (so it
# cannot disable a trigger), never rewrite the migration history, and only read and add to the
# tables its models declare append-only (`metadata.info["append_only"]`, funding's ledger).
def grant_app_role(connection: Connection, role: str, metadata: MetaData) -> None:
    """Grant `role` what the service needs on every table of the schema, and nothing more.

    Run by the migration role (the schema's owner) after each upgrade, so that tables a
    migration adds are covered too; granting again is harmless.
    """
    quote = connection.dialect.identifier_preparer.quote
    quoted = quote(role)
    append_only = set(metadata.info.get("append_only", ()))
    connection.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {quoted}")
    connection.exec_driver_sql(
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}"
    )
    connection.exec_driver_sql(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}")
    for table in sorted({"alembic_version", *append_only}):
        connection.exec_driver_sql(
            f"REVOKE UPDATE, DELETE, TRUNCATE ON {quote(table)} FROM {quoted}"
        )
    connection.exec_driver_sql(f"REVOKE INSERT ON alembic_version FROM {quoted}")


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
