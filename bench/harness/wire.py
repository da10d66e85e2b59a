"""Counting what a request costs below SQLAlchemy, in process, whatever path it reads through.

- PostgreSQL: a loopback proxy in front of the server reads the client's protocol messages.
  Each simple query (`Q`: BEGIN, COMMIT, ROLLBACK, ...) and each extended-protocol `Sync` (`S`:
  a prepare, or a bind and execute) waits for the server's ReadyForQuery: one network round
  trip. Statements executed are the simple queries and the `Execute` messages (`E`).
- SQLite: every sqlite3 connection opened meanwhile (aiosqlite's, or one a reader opens itself)
  gets a trace callback, which sees each statement sqlite runs. Each call handed to aiosqlite's
  worker thread and waited for is counted as the embedded database's round trip.

    async with database_calls("postgresql", url) as calls:
        app = create_app(Settings(database_url=calls.url))
        before = calls.snapshot()
        ...one request...
        print(calls.since(before))   # {"round_trips": 6, "statements": 3}
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import make_url

# Untyped packets a client may send before its startup message.
_SSL_REQUEST, _GSS_REQUEST = 80877103, 80877104


@dataclass
class DatabaseCalls:
    url: str  # the URL the app must use for its calls to be counted
    unit: str  # what a round trip is on this backend
    counts: Counter[str] = field(default_factory=Counter)
    sql: list[str] = field(default_factory=list)  # statement texts, where the wire shows them

    @property
    def total(self) -> int:
        """Round trips so far."""
        return self.counts["round_trips"]

    def snapshot(self) -> tuple[Counter[str], int]:
        return Counter(self.counts), len(self.sql)

    def since(self, snapshot: tuple[Counter[str], int]) -> dict[str, Any]:
        counts, n_sql = snapshot
        return {
            "round_trips": self.counts["round_trips"] - counts["round_trips"],
            "statements": self.counts["statements"] - counts["statements"],
            "sql": self.sql[n_sql:],
        }


class _PostgresProxy:
    def __init__(self, host: str, port: int, calls: DatabaseCalls) -> None:
        self.host, self.port, self.calls = host, port, calls
        self.tasks: set[asyncio.Task[None]] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
        tasks = [
            asyncio.create_task(self.client_to_server(reader, up_writer)),
            asyncio.create_task(self.pipe(up_reader, writer)),
        ]
        self.tasks.update(tasks)
        try:
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            self.tasks.difference_update(tasks)
            for w in (writer, up_writer):
                w.close()

    async def pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()

    def count(self, kind: str, payload: bytes) -> None:
        counts = self.calls.counts
        if kind == "Q":
            counts["round_trips"] += 1
            counts["statements"] += 1
            self.calls.sql.append(" ".join(payload.rstrip(b"\0").decode(errors="replace").split()))
        elif kind == "S":
            counts["round_trips"] += 1
        elif kind == "E":
            counts["statements"] += 1
            # The text went with the Parse, once per connection: a prepared statement runs.
            self.calls.sql.append("(a prepared statement)")

    async def client_to_server(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        buffer = bytearray()
        started = False
        while data := await reader.read(65536):
            writer.write(data)
            buffer += data
            while True:
                if not started:
                    if len(buffer) < 8:
                        break
                    length = int.from_bytes(buffer[0:4], "big")
                    if len(buffer) < length:
                        break
                    code = int.from_bytes(buffer[4:8], "big")
                    started = code not in (_SSL_REQUEST, _GSS_REQUEST)
                    del buffer[:length]
                    continue
                if len(buffer) < 5:
                    break
                length = int.from_bytes(buffer[1:5], "big")
                if len(buffer) < 1 + length:
                    break
                self.count(chr(buffer[0]), bytes(buffer[5 : 1 + length]))
                del buffer[: 1 + length]
            await writer.drain()
        writer.close()


@asynccontextmanager
async def database_calls(backend: str, url: str) -> AsyncIterator[DatabaseCalls]:
    if backend == "postgresql":
        target = make_url(url)
        calls = DatabaseCalls(url="", unit="network round trips")
        proxy = _PostgresProxy(target.host or "127.0.0.1", target.port or 5432, calls)
        server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        calls.url = target.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
        try:
            yield calls
        finally:
            server.close()
            for task in list(proxy.tasks):
                task.cancel()
            with suppress(Exception):
                await server.wait_closed()
        return

    import aiosqlite.core

    calls = DatabaseCalls(url=url, unit="driver thread hand-offs")
    original_execute = aiosqlite.core.Connection._execute
    original_connect = sqlite3.connect

    async def counted(self: aiosqlite.core.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        calls.counts["round_trips"] += 1
        return await original_execute(self, fn, *args, **kwargs)

    def trace(statement: str) -> None:
        calls.counts["statements"] += 1
        calls.sql.append(" ".join(statement.split()))

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        connection = original_connect(*args, **kwargs)
        connection.set_trace_callback(trace)
        return connection

    aiosqlite.core.Connection._execute = counted  # type: ignore[method-assign]
    sqlite3.connect = connect  # type: ignore[assignment]
    try:
        yield calls
    finally:
        aiosqlite.core.Connection._execute = original_execute  # type: ignore[method-assign]
        sqlite3.connect = original_connect
