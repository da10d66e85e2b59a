"""One-row reads through the database driver itself, for the hottest read paths.

The benchmark (docs/benchmarks.md) shows that reading one row by primary key costs ~20-70 µs of
CPU in asyncpg or sqlite3 and ~400-600 µs through an async SQLAlchemy session with its
transaction. A read of one stored document needs no unit of work, no transaction and no ORM, so
the routes that serve such documents read them here. Statements are still SQLAlchemy Core
`select`s, compiled once per dialect, so the SQL stays in the queries layer.

In tests, `tdi_kit.testing.rolled_back` swaps in `SessionRowReader`, which runs the same
statement in the test's transaction.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
import weakref
from collections.abc import Mapping
from typing import Annotated, Any, Protocol

from fastapi import Depends, Request
from sqlalchemy import JSON, Select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tdi_kit.db import Uuid
from tdi_kit.errors import DatabaseUnavailable

# An execution option of a list page's statement (`tdi_kit.pagination`): how many of its last
# columns are the sort keys, which only the cursor reads, from the page's last row. The driver's
# reader types them in the last two rows alone (the cursor's, and the one that tells a next
# page exists): a UUID key cost 2-3 µs a row, as much as a page's fetch, for values never read.
CURSOR_KEYS = "tdi_cursor_keys"


class RowReader(Protocol):
    async def one(
        self, stmt: Select[*tuple[Any, ...]], **params: Any
    ) -> tuple[Any, ...] | None: ...

    async def all(self, stmt: Select[*tuple[Any, ...]], **params: Any) -> list[tuple[Any, ...]]: ...

    async def close(self) -> None: ...

    def pool_stats(self) -> tuple[int, int] | None: ...


class DriverRowReader:
    """asyncpg's pool on PostgreSQL; a read-only sqlite3 connection on SQLite."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        pool_size: int = 10,
        connect_timeout: float = 2.0,
        statement_timeout: float = 3.0,
        statement_cache_size: int | None = None,
        application_name: str | None = None,
    ) -> None:
        self.dialect = engine.dialect
        self.url = engine.url
        self.pool_size = pool_size
        # The same bounds as the app's engine (tdi_kit.db.create_engine): a database that
        # refuses, or accepts and never answers, costs a read a 503 in seconds.
        self.connect_timeout = connect_timeout
        self.statement_timeout = statement_timeout
        # The engine's too (tdi_kit.db.create_engine): 0 behind PgBouncer in transaction mode.
        self.statement_cache_size = statement_cache_size
        self.application_name = application_name
        # Keyed by the statement itself, weakly: an `id()` is reused once its statement is
        # collected, and would then hand another statement this one's SQL.
        self._compiled: weakref.WeakKeyDictionary[
            Select[*tuple[Any, ...]], tuple[str, list[str]]
        ] = weakref.WeakKeyDictionary()
        # Statements built per request (a list's filters, its cursor) by their SQLAlchemy cache
        # key, as the engine's own compiled cache does: building the key costs a fraction of
        # compiling, and the values it extracts are the request's.
        self._prepared: dict[Any, _Prepared] = {}
        # Statements kept by their callers and run with values (`all(stmt, **params)`).
        self._kept: weakref.WeakKeyDictionary[Select[Any], _Prepared] = weakref.WeakKeyDictionary()
        self._pool: Any = None
        self._sqlite: sqlite3.Connection | None = None
        self._opening = asyncio.Lock()
        self._attempts = 0

    def _sql(self, stmt: Select[*tuple[Any, ...]]) -> tuple[str, list[str]]:
        found = self._compiled.get(stmt)
        if found is None:
            compiled = stmt.compile(dialect=self.dialect)
            found = (str(compiled), list(compiled.positiontup or []))
            self._compiled[stmt] = found
        return found

    async def one(self, stmt: Select[*tuple[Any, ...]], **params: Any) -> tuple[Any, ...] | None:
        sql, order = self._sql(stmt)
        args = [params[name] for name in order]
        try:
            if self.dialect.name == "sqlite":
                # A primary-key lookup in a local file takes microseconds and, in WAL mode,
                # never waits for a writer: cheaper on the event loop than a driver thread hop.
                found: tuple[Any, ...] | None = (
                    self._sqlite_connection().execute(sql, args).fetchone()
                )
                return found
            pool = self._pool or await self._open_pool()
            async with pool.acquire(timeout=self.connect_timeout) as connection:
                row = await connection.fetchrow(sql, *args, timeout=self.statement_timeout)
        # Concatenated, not unpacked: mypy types an unpacked call in an `except` tuple as an
        # object, not as exception classes.
        except (OSError, sqlite3.OperationalError) + _asyncpg_errors() as exc:  # noqa: RUF005
            # The session path's rule (tdi_kit.db.get_session): a database that is away is a
            # 503 with Retry-After, never a 500 carrying the driver's text.
            raise DatabaseUnavailable() from exc
        return None if row is None else tuple(row)

    async def all(self, stmt: Select[*tuple[Any, ...]], **params: Any) -> list[tuple[Any, ...]]:
        """Every row of `stmt` (values bound in it), typed as SQLAlchemy would hand them out
        (its bind and result processors run), through the driver: no session, no transaction,
        no pre-ping; one round trip on PostgreSQL, none to a thread on SQLite.

        With `params`, `stmt` is a statement kept across calls whose `bindparam`s they name: it
        is compiled once, and a call neither builds a statement nor computes its cache key (a
        list's shape is built once; each request brings its values)."""
        if params:
            prepared = self._kept.get(stmt)
            if prepared is None:
                prepared = self._kept[stmt] = _Prepared(stmt, self.dialect, None)
            sql, args = prepared.statement(None, params)
        else:
            prepared, sql, args = self._prepare(stmt)
        try:
            if self.dialect.name == "sqlite":
                raw: list[Any] = self._sqlite_connection().execute(sql, args).fetchall()
            else:
                pool = self._pool or await self._open_pool()
                async with pool.acquire(timeout=self.connect_timeout) as connection:
                    raw = await connection.fetch(sql, *args, timeout=self.statement_timeout)
        except (OSError, sqlite3.OperationalError) + _asyncpg_errors() as exc:  # noqa: RUF005
            raise DatabaseUnavailable() from exc
        return prepared.typed(raw)

    def _prepare(self, stmt: Select[Any]) -> tuple[_Prepared, str, list[Any]]:
        key = stmt._generate_cache_key()
        # Execution options are not part of SQLAlchemy's cache key; the sort keys' are read
        # apart (`CURSOR_KEYS`).
        kept_as = None if key is None else (key.key, stmt.get_execution_options().get(CURSOR_KEYS))
        prepared = None if kept_as is None else self._prepared.get(kept_as)
        if prepared is None:
            prepared = _Prepared(stmt, self.dialect, key)
            if kept_as is not None:
                if len(self._prepared) >= _PREPARED_KEPT:
                    self._prepared.clear()
                self._prepared[kept_as] = prepared
        sql, args = prepared.statement(None if key is None else key.bindparams)
        return prepared, sql, args

    def _sqlite_connection(self) -> sqlite3.Connection:
        if self._sqlite is None:
            path = make_url(self.url).database
            connection = sqlite3.connect(
                f"file:{path}?mode=ro",
                uri=True,
                check_same_thread=False,
                timeout=self.statement_timeout,
            )
            connection.execute("PRAGMA query_only=ON")
            self._sqlite = connection
        return self._sqlite

    async def _open_pool(self) -> Any:
        import asyncpg

        # Concurrent first reads must not each open a pool (all but one would leak); and when
        # the database is away, those that waited for a failed attempt fail with it rather
        # than each waiting its own connect timeout in turn.
        attempt = self._attempts
        async with self._opening:
            if self._pool is None and self._attempts != attempt:
                raise OSError("the database did not answer the read pool's first connection")
            if self._pool is None:
                self._attempts += 1
                # The URL's own query (SQLAlchemy's parameters) would reach the server as settings.
                url = make_url(self.url).set(drivername="postgresql", query={})
                extra: dict[str, Any] = {}
                if self.statement_cache_size is not None:
                    extra["statement_cache_size"] = self.statement_cache_size
                if self.application_name:
                    extra["server_settings"] = {"application_name": self.application_name}
                self._pool = await asyncpg.create_pool(
                    url.render_as_string(hide_password=False),
                    **extra,
                    min_size=1,
                    max_size=self.pool_size,
                    timeout=self.connect_timeout,
                    command_timeout=self.statement_timeout,
                    # These connections only run single SELECTs: there is no session state to
                    # reset on release, and the default reset costs a round trip per read.
                    reset=_keep_session,
                )
        return self._pool

    def pool_stats(self) -> tuple[int, int] | None:
        """(connections open, in use) of the driver's pool; None before the first read."""
        if self._pool is None:
            return None
        size: int = self._pool.get_size()
        return size, size - self._pool.get_idle_size()

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None


async def _keep_session(_connection: Any) -> None:
    return None


# Distinct list statements (filters present or not, sort orders) stay well below this.
_PREPARED_KEPT = 512


def _result_processor(type_: Any, dialect: Any) -> Any:
    """SQLAlchemy's processor for a column's values. asyncpg hands JSON out as text here: the
    engine's connections decode it with codecs that cost queries on every new connection, so
    the reader decodes it itself, as those codecs would. The kit's UUIDs are made in one call
    (`_uuid`), not three (the SQLAlchemy type's, the kit type's and the class's own parsing):
    a page of ids paid more for them than for its fetch."""
    if isinstance(type_, Uuid):
        return _uuid
    process = type_._cached_result_processor(dialect, None)
    if dialect.name == "postgresql" and isinstance(type_, JSON):
        return json.loads if process is None else lambda v: process(json.loads(v))
    return process


_UUID = uuid.UUID


def _uuid(value: Any) -> uuid.UUID:
    """`tdi_kit.db.Uuid`'s value, a standard library UUID, from SQLite's 32 hex digits or
    asyncpg's UUID class: built from its integer (the public `UUID(int=...)`), without parsing
    text the database has already checked. Anything else goes the long way."""
    if type(value) is _UUID:
        return value
    if isinstance(value, _UUID):  # asyncpg's own class, which orjson does not write
        number = value.int
    elif isinstance(value, str) and len(value) == 32:
        number = int(value, 16)
    else:
        return _UUID(str(value))
    return _UUID(int=number)


class _Prepared:
    """A statement compiled for the driver, with SQLAlchemy's processors for its values."""

    def __init__(self, stmt: Select[Any], dialect: Any, key: Any) -> None:
        # Compiled as the engine compiles, with the cache key that later calls extract their
        # values against.
        compiled = stmt._compiler(dialect, cache_key=key)
        self.compiled = compiled
        self.sql = str(compiled)
        self.order = list(compiled.positiontup or [])
        binds = compiled._bind_processors
        self.binds = [binds.get(name) for name in self.order]
        # IN lists and literal-rendered values (aggregate_strings' separator) are rendered per
        # call from the call's values, as the engine does ("post compile"): the compiled
        # statement stays cached.
        self.expands = bool(compiled.literal_execute_params or compiled.post_compile_params)
        self.results = [
            _result_processor(column.type, dialect) for column in compiled._result_columns
        ]
        self.plain = not any(self.results)
        # Only the columns that have a processor are visited per row (a list's row has thirty
        # columns, a handful of them UUIDs or dates): a call per value cost a page more than
        # the driver's fetch. A page's sort keys (`CURSOR_KEYS`) only in its last two rows.
        first_key = len(self.results) - stmt.get_execution_options().get(CURSOR_KEYS, 0)
        processed = [(i, p) for i, p in enumerate(self.results) if p is not None]
        self.processed = [(i, p) for i, p in processed if i < first_key]
        self.keys = [(i, p) for i, p in processed if i >= first_key]

    def statement(
        self, extracted: Any, params: Mapping[str, Any] | None = None
    ) -> tuple[str, list[Any]]:
        """The SQL and its positional values for a call whose cache key extracted `extracted`
        (or, for a statement kept by its caller, whose `params` name its bound values)."""
        values = self.compiled.construct_params(
            params=params, extracted_parameters=extracted, _no_postcompile=self.expands
        )
        assert values is not None
        if not self.expands:
            return self.sql, [
                value if process is None else process(value)  # type: ignore[operator]
                for value, process in zip(
                    (values[name] for name in self.order), self.binds, strict=True
                )
            ]
        state = self.compiled._process_parameters_for_postcompile(values)
        # The expanded values' processors; the others' are the statement's own.
        processors = {**self.compiled._bind_processors, **state.processors}
        args = []
        for name in state.positiontup or []:
            value = state.parameters[name]
            process = processors.get(name)
            args.append(value if process is None else process(value))  # type: ignore[operator]
        return state.statement, args

    def typed(self, raw: list[Any]) -> list[tuple[Any, ...]]:
        if self.plain:
            return [tuple(row) for row in raw]
        processed = self.processed
        typed = [_processed(row, processed) for row in raw] if processed else list(map(tuple, raw))
        if self.keys:
            for j in range(max(len(typed) - 2, 0), len(typed)):
                typed[j] = _processed(typed[j], self.keys)
        return typed


def _processed(row: Any, processors: list[tuple[int, Any]]) -> tuple[Any, ...]:
    values = list(row)
    for i, process in processors:
        value = values[i]
        if value is not None:
            values[i] = process(value)
    return tuple(values)


def _asyncpg_errors() -> tuple[type[Exception], ...]:
    """What asyncpg raises when the server is not there for us: connection errors (class 08),
    no resources (53), shutdown or a cancelled statement (57), a closed connection or pool.
    A bad statement stays a 500: it is a bug, not an outage."""
    from asyncpg import exceptions as pg

    return (
        pg.PostgresConnectionError,
        pg.InsufficientResourcesError,
        pg.OperatorInterventionError,
        pg.InterfaceError,
    )


class SessionRowReader:
    """The same reads through the app's sessions (what tests see inside their transaction)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def one(self, stmt: Select[*tuple[Any, ...]], **params: Any) -> tuple[Any, ...] | None:
        async with self.sessionmaker() as session:
            row = (await session.execute(stmt, params)).first()
        return None if row is None else tuple(row)

    def pool_stats(self) -> tuple[int, int] | None:
        return None  # the engine's pool, counted as such

    async def all(self, stmt: Select[*tuple[Any, ...]], **params: Any) -> list[tuple[Any, ...]]:
        async with self.sessionmaker() as session:
            return [tuple(row) for row in (await session.execute(stmt, params)).all()]

    async def close(self) -> None:
        return None


class InSession:
    """The reads of a `RowReader` (`all(stmt, **params)`) run in a session the caller holds: a
    write renders its answer from the rows it has just flushed, through the same function
    that renders a read's rows from the driver, so that the two answers cannot differ."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def all(self, stmt: Select[*tuple[Any, ...]], **params: Any) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in (await self.session.execute(stmt, params)).all()]


class Rows(Protocol):
    """What a rendering reads rows with: a `RowReader`, or `InSession` in a write."""

    async def all(self, stmt: Select[*tuple[Any, ...]], **params: Any) -> list[tuple[Any, ...]]: ...


async def _rows(request: Request) -> RowReader:
    rows: RowReader = request.app.state.rows
    return rows


RowsDep = Annotated[RowReader, Depends(_rows)]
