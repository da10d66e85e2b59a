"""Test plumbing every service reuses.

- `test_database(name)`: a fresh database for a test session: a temporary SQLite file, or, when
  `TDI_TEST_DATABASE_URL` names a PostgreSQL server, a new database on it, dropped afterwards.
- `rolled_back(app, engine)`: the app's sessions share one connection whose outer transaction
  is rolled back when the test ends, so tests never see each other's writes.
- `asgi_client(app)`: an httpx client calling the app in process.
- `LiveServer`: the app served by uvicorn on a free port in a thread, for tools that speak HTTP
  (schemathesis, benchmarks).
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from tdi_kit.auth import mint_token
from tdi_kit.db import WRITE_OPTIONS
from tdi_kit.rowreader import SessionRowReader
from tdi_kit.settings import DEV_JWT_SECRET, normalise_database_url

ENV_URL = "TDI_TEST_DATABASE_URL"


def backend() -> str:
    """`postgresql` when the tests run on PostgreSQL, else `sqlite`."""
    url = os.environ.get(ENV_URL, "")
    return "postgresql" if url.startswith("postgres") else "sqlite"


@asynccontextmanager
async def test_database(name: str) -> AsyncIterator[str]:
    """A URL to a new, empty database, removed when the block ends."""
    server = os.environ.get(ENV_URL)
    if not server or backend() == "sqlite":
        with tempfile.TemporaryDirectory(prefix=f"tdi-{name}-") as folder:
            yield f"sqlite+aiosqlite:///{Path(folder) / (name + '.db')}"
        return
    admin_url = make_url(normalise_database_url(server))
    database = f"tdi_test_{name}_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{database}"'))
    try:
        yield admin_url.set(database=database).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        await admin.dispose()


# Not a test, despite its name: pytest reads this flag; mypy knows no such attribute on a function.
test_database.__test__ = False  # type: ignore[attr-defined]


@asynccontextmanager
async def rolled_back(app: FastAPI, engine: AsyncEngine) -> AsyncIterator[None]:
    """Run the app's sessions inside one transaction that is rolled back at the end.

    Services commit as usual; with `create_savepoint` each commit only releases a savepoint.
    """
    original = app.state.sessionmaker, app.state.read_sessionmaker, app.state.rows
    async with engine.connect() as connection:
        # SQLite: the write lock up front, as the app's writes take it (`WRITE_OPTIONS`): a
        # deferred transaction that read first fails at once ("database is locked", no busy
        # wait) when it comes to write after another connection committed.
        connection = await connection.execution_options(**WRITE_OPTIONS)
        transaction = await connection.begin()
        if connection.dialect.name == "postgresql":
            # Deferred triggers (a data version changed at commit) at the end of each statement
            # instead: this transaction never commits, and its reads must see its writes'
            # versions as another transaction sees a committed write's.
            await connection.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
        app.state.sessionmaker = async_sessionmaker(
            bind=connection,
            join_transaction_mode="create_savepoint",
            expire_on_commit=False,
            autoflush=False,
        )
        # Reads through another engine or the driver would not see the test's transaction:
        # read through it instead.
        app.state.read_sessionmaker = app.state.sessionmaker
        app.state.rows = SessionRowReader(app.state.sessionmaker)
        try:
            yield
        finally:
            app.state.sessionmaker, app.state.read_sessionmaker, app.state.rows = original
            await transaction.rollback()


def asgi_client(app: FastAPI, base_url: str = "http://testserver") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)


def bearer(*scopes: str, org: str | None = None, sub: str = "test-user") -> dict[str, str]:
    """Authorization header for a token signed with the development secret."""
    token = mint_token(secret=DEV_JWT_SECRET, sub=sub, org=org, scopes=scopes)
    return {"Authorization": f"Bearer {token}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class LiveServer:
    """An app served over real HTTP from a background thread (its own event loop)."""

    def __init__(self, app: FastAPI, port: int | None = None) -> None:
        import uvicorn

        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            access_log=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the live server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
