"""The lock a request with an `Idempotency-Key` holds on its key (`tdi_kit.idempotency`).

A lock lives as long as the request *and no longer*: when the process dies, the lock goes with
it, so a retry proceeds as soon as the first request is known dead, with no lease to wait out.

- PostgreSQL: a transaction-scoped advisory lock (`pg_try_advisory_xact_lock`), held on a
  connection of a small pool of its own for the life of the request. A crash closes the
  connection; the server rolls its transaction back and releases the lock. It works through
  PgBouncer in transaction mode, since the lock never outlives its transaction.
- SQLite: one writer file on one host (WAL needs every process on the same machine), so a
  host-level lock is exact: the key's byte of a sidecar file (`<database>-idempotency.lock`),
  locked with `fcntl` for the life of the request; the kernel drops it when the process dies.
  POSIX locks are per process, so the requests of one process also check a set in memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tdi_kit.db import create_engine

try:  # POSIX only; elsewhere SQLite keys are locked within the process alone.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    # None stands for "no fcntl" and every use checks it; mypy types the name as the module.
    fcntl = None  # type: ignore[assignment]


def lock_id(principal: str, key: str) -> int:
    """A signed 64-bit number for the key (PostgreSQL's advisory lock space is a bigint)."""
    digest = hashlib.sha256(principal.encode() + b"\0" + key.encode("utf-8", "surrogatepass"))
    return int.from_bytes(digest.digest()[:8], "big", signed=True)


class KeyLocks:
    """Locks on keys that live exactly as long as the request that holds them (or its process)."""

    # The connections' pool, where the locks hold connections (PostgreSQL): sampled in the
    # `db_pool_*` gauges as the pool `idempotency_locks`.
    engine: AsyncEngine | None = None

    @contextlib.asynccontextmanager
    async def hold(self, lock: int) -> AsyncIterator[bool]:
        """Yields True while the lock is held, False (at once) when someone else holds it."""
        raise NotImplementedError
        yield False  # pragma: no cover

    async def aclose(self) -> None:
        """Give back what the locks hold open (connections)."""


class PostgresKeyLocks(KeyLocks):
    """`pg_try_advisory_xact_lock` in a transaction kept open for the life of the request.

    Its own pool, so that a request holding its key's connection never waits for the app's pool
    behind other such requests (one connection per request in flight with a key).
    """

    def __init__(self, url: str, *, pool_size: int, **engine_options: Any) -> None:
        # No overflow: `pool_size` is this pool's share of the process's connection budget.
        self.engine: AsyncEngine = create_engine(
            url, pool_size=pool_size, max_overflow=0, **engine_options
        )

    @contextlib.asynccontextmanager
    async def hold(self, lock: int) -> AsyncIterator[bool]:
        async with self.engine.connect() as connection:
            transaction = await connection.begin()
            try:
                taken = await connection.scalar(
                    text("SELECT pg_try_advisory_xact_lock(:lock)"), {"lock": lock}
                )
                yield bool(taken)
            finally:
                # Ending the transaction is what releases the lock.
                await transaction.rollback()

    async def aclose(self) -> None:
        await self.engine.dispose()


class SQLiteKeyLocks(KeyLocks):
    """A byte of `<database>-idempotency.lock` per key, locked with fcntl, plus a set in memory.

    Both are process-wide (shared by every app of the process on the same file): POSIX locks
    belong to the process, and closing any descriptor of the file would drop all of them, so
    the file stays open for the life of the process.
    """

    _mutex: ClassVar[threading.Lock] = threading.Lock()
    _held: ClassVar[set[tuple[str, int]]] = set()
    _files: ClassVar[dict[str, int]] = {}
    # Byte offsets within a sparse file: 2**48 of them keeps collisions between keys negligible.
    _SPAN = 1 << 48

    def __init__(self, database: str | None) -> None:
        in_memory = not database or database == ":memory:"
        self.path = (
            None
            if in_memory or database is None
            else os.path.abspath(database + "-idempotency.lock")
        )
        self.name = self.path or f"memory:{id(self)}"

    def _descriptor(self) -> int | None:
        if self.path is None or fcntl is None:
            return None
        with self._mutex:
            if self.path not in self._files:
                self._files[self.path] = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            return self._files[self.path]

    @contextlib.asynccontextmanager
    async def hold(self, lock: int) -> AsyncIterator[bool]:
        offset = lock % self._SPAN
        mine = (self.name, offset)
        with self._mutex:
            if mine in self._held:
                taken = False
            else:
                self._held.add(mine)
                taken = True
        if not taken:
            yield False
            return
        descriptor = None
        try:
            descriptor = self._descriptor()
            if descriptor is not None:
                try:
                    fcntl.lockf(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset)
                except OSError:  # another process holds it
                    descriptor, taken = None, False
            yield taken
        finally:
            if descriptor is not None:
                fcntl.lockf(descriptor, fcntl.LOCK_UN, 1, offset)
            with self._mutex:
                self._held.discard(mine)


def key_locks(engine: AsyncEngine, *, pool_size: int, **engine_options: Any) -> KeyLocks:
    """The locks that fit the engine's database (`engine_options`: `tdi_kit.db.create_engine`'s
    timeouts, statement cache and application name, for PostgreSQL's pool)."""
    if engine.dialect.name == "postgresql":
        return PostgresKeyLocks(
            engine.url.render_as_string(hide_password=False),
            pool_size=pool_size,
            **engine_options,
        )
    return SQLiteKeyLocks(engine.url.database)
