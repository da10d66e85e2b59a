"""Database plumbing: engines for SQLite and PostgreSQL, one session per request."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import Depends, Request
from sqlalchemy import MetaData, String, Text, TypeDecorator, event, select
from sqlalchemy import Uuid as SqlUuid
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Mapped, mapped_column

from tdi_kit.errors import database_problem

log = logging.getLogger("tdi.db")

# Every service's metadata uses this, so that constraint names are stable across databases and
# Alembic can drop and alter them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Uuid(TypeDecorator[uuid.UUID]):
    """A UUID column read back as the standard library's `uuid.UUID` on every driver: asyncpg
    hands out its own UUID class, which orjson (cursors, history records) refuses. Text binds
    (a UUID from a path or a cursor) are accepted as well."""

    impl = SqlUuid
    cache_ok = True

    @property
    def python_type(self) -> type[uuid.UUID]:
        # Cursor decoding turns the values it carries back into this type.
        return uuid.UUID

    def process_bind_param(self, value: Any, dialect: Any) -> uuid.UUID | None:
        return uuid.UUID(value) if isinstance(value, str) else value

    def process_result_value(self, value: Any, dialect: Any) -> uuid.UUID | None:
        if value is None or type(value) is uuid.UUID:
            return value
        return uuid.UUID(str(value))


class StoredDocument:
    """A mixin: the record's JSON document as the API serves it, stored at each write with its
    ETag, so that a read answers the bytes as they are (`tdi_kit.documents`)."""

    document: Mapped[str] = mapped_column(Text, default="{}")
    etag: Mapped[str] = mapped_column(String(40), default='""')


class _Identified(Protocol):
    id: Any


_Row = TypeVar("_Row", bound=_Identified)


async def lock_by_id(
    session: AsyncSession, model: type[_Row], ids: Iterable[Any]
) -> dict[Any, _Row]:
    """The rows of `model` with these ids, by id, locked until the transaction ends (PostgreSQL:
    FOR UPDATE, in id order so that two writers never wait on each other in a cycle; SQLite
    writers are serialised already) and read afresh, whatever the session held."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    key = model.id
    stmt = (
        select(model)
        .where(key.in_(wanted))
        .order_by(key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {row.id: row for row in await session.scalars(stmt)}


def new_metadata(*, append_only: tuple[str, ...] = ()) -> MetaData:
    """A service's metadata; `append_only` names the tables whose rows are never changed."""
    return MetaData(naming_convention=NAMING_CONVENTION, info={"append_only": append_only})


# Without a statement timeout (batch jobs: migrations, seeds, imports), a SQLite writer still
# gives up waiting for the write lock after this long.
BATCH_BUSY_TIMEOUT_SECONDS = 30.0


def create_engine(
    url: str,
    *,
    pool_size: int = 5,
    max_overflow: int | None = None,
    echo: bool = False,
    connect_timeout: float = 2.0,
    statement_timeout: float | None = None,
    statement_cache_size: int | None = None,
    application_name: str | None = None,
    read_only: bool = False,
) -> AsyncEngine:
    """An async engine with the settings each backend needs to behave like the other.

    `connect_timeout` bounds opening a connection and waiting for one from the pool;
    `statement_timeout` bounds each statement (SQLite: the wait for the write lock). Apps pass
    their settings' values (`ServiceSettings.database_*_timeout_seconds`), so that a database
    that is away costs a request a 503 in seconds, not a hang; batch jobs leave statements
    unbounded. The engine holds at most `pool_size + max_overflow` connections (`max_overflow`
    defaults to `pool_size`); apps size both from their connection budget.

    `statement_cache_size=0` turns asyncpg's prepared statements into unnamed ones, as PgBouncer
    in transaction mode needs; `application_name` names the connections in `pg_stat_activity`.

    `read_only`: the engine of the sessions that serve reads (`get_session` on GET): AUTOCOMMIT
    (no BEGIN, no COMMIT: each SELECT is its own snapshot) and no pre-ping (a connection that
    died meanwhile fails one read with a 503, instead of every read paying a round trip).
    """
    parsed = make_url(url)
    max_overflow = pool_size if max_overflow is None else max_overflow
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        busy = statement_timeout or BATCH_BUSY_TIMEOUT_SECONDS
        # A file's connections are pooled as PostgreSQL's are; `:memory:` has one, shared.
        pool: dict[str, Any] = (
            {"pool_size": pool_size, "max_overflow": max_overflow, "pool_timeout": connect_timeout}
            if parsed.database and parsed.database != ":memory:"
            else {}
        )
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": busy}, **pool)
        _configure_sqlite(engine, busy_timeout=busy)
        return engine
    target: str | URL = url
    connect_args: dict[str, Any] = {"timeout": connect_timeout}
    if application_name:
        connect_args["server_settings"] = {"application_name": application_name}
    if statement_cache_size is not None:
        connect_args["statement_cache_size"] = statement_cache_size
        if statement_cache_size == 0:
            # SQLAlchemy's own cache of prepared statements, and unique names for those it
            # still prepares: a name may not outlive a transaction behind PgBouncer.
            target = parsed.update_query_dict({"prepared_statement_cache_size": "0"})
            connect_args["prepared_statement_name_func"] = _unique_statement_name
    if statement_timeout is not None:
        # Client-side, so that it holds against a server that accepts and then never answers
        # (a server-side statement_timeout would need that server to answer); asyncpg cancels
        # the statement on the server when it fires. Not a startup parameter either, which
        # PgBouncer would refuse.
        connect_args["command_timeout"] = statement_timeout
    return create_async_engine(
        target,
        echo=echo,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=not read_only,
        **({"isolation_level": "AUTOCOMMIT"} if read_only else {}),
        # A request waits no longer for a pooled connection than for a new one.
        pool_timeout=connect_timeout,
        connect_args=connect_args,
    )


def _unique_statement_name() -> str:
    return f"__asyncpg_{uuid.uuid4().hex}__"


def _configure_sqlite(engine: AsyncEngine, *, busy_timeout: float) -> None:
    # pysqlite opens transactions lazily and mishandles SAVEPOINT; SQLAlchemy's documented
    # recipe hands transaction control back to SQLAlchemy. Writes begin IMMEDIATE (see
    # get_session): they take the write lock up front, so two writers queue instead of one
    # failing with "database is locked" when it upgrades a read lock; reads stay DEFERRED.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # The wait first: switching a fresh database to WAL takes its lock, and without a busy
        # timeout a second process opening it then fails at once ("database is locked").
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        _switch_to_wal(cursor, deadline=time.monotonic() + busy_timeout)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def _switch_to_wal(cursor: Any, *, deadline: float) -> None:
    """WAL mode, which the file keeps once set. Two processes opening a fresh database at once
    (two migration jobs) both ask for the switch; SQLite refuses one of them at once with
    "database is locked", without waiting on the busy timeout (each holds a read lock the other's
    switch needs: it would deadlock). The refused one asks again until the other has switched,
    which happens only while the file is new: a short blocking sleep at the first connections."""
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except Exception as exc:  # the driver's OperationalError, wrapped or not
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


# Harmless on PostgreSQL (the option is read only by the SQLite begin hook).
WRITE_OPTIONS = {"sqlite_begin": "IMMEDIATE"}


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: commit when the handler returns, roll back if it raises.

    A database failure anywhere in the request (connecting, a statement, the commit) becomes the
    problem it is to the caller (`tdi_kit.errors.database_problem`): 409 for a key taken by a
    concurrent writer, 503 with `Retry-After` for a database that is away.
    """
    reads = request.method in ("GET", "HEAD", "OPTIONS")
    sessionmaker = request.app.state.read_sessionmaker if reads else request.app.state.sessionmaker
    async with sessionmaker() as session:
        try:
            if not reads:
                await session.connection(execution_options=WRITE_OPTIONS)
            yield session
            await session.commit()
        except BaseException as exc:
            await _roll_back(session)
            problem = database_problem(exc)
            if problem is not None:
                raise problem from exc
            raise


async def _roll_back(session: AsyncSession) -> None:
    try:
        await session.rollback()
    except (SQLAlchemyError, OSError):
        # The connection is gone with the database: the pool discards it, and the caller
        # must hear about the first failure, not this one.
        log.debug("rollback failed on a broken connection", exc_info=True)


# scope="function" commits before the response is sent, so a failed commit is an error (409 or
# 503 as above, else 500) and never a 2xx for a write that did not happen.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
