"""When the database is away, requests get 503 problems with Retry-After, and soon.

Through the registry (the first app built with the kit): its list of territories reads through a
session, one territory through the driver-level reader (tdi_kit.rowreader), and a creation
writes through a session. A PostgreSQL server that refuses connections is a closed port on
127.0.0.1; one that accepts and never answers is a listening socket on 127.0.0.1 that nobody
reads. Neither needs a real server, so these run in both passes.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from gateway.settings import GatewaySettings
from registry.main import create_app
from registry.settings import RegistrySettings
from tdi_kit.app import ServiceApp
from tdi_kit.settings import ServiceSettings
from tdi_kit.testing import asgi_client, backend, bearer

CONNECT = 0.5
STATEMENT = 0.5
REFUSED_CONNECT = 10.0
WRITER = bearer("registry:write", sub="editor")
# A commune by INSEE code reads through a session; a territory by code through the driver.
SESSION_READ = ("GET", "/api/v1/communes/90010", None)
DRIVER_READ = ("GET", "/api/v1/territories/ti-2708", None)
WRITE = ("POST", "/api/v1/territories", {"code": "ti-9990", "name": "Absent", "phase": 2})
PATHS = {"session read": SESSION_READ, "driver read": DRIVER_READ, "session write": WRITE}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A server that accepts connections (the kernel completes the handshake for a listening
    socket) and never says a word."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        yield s.getsockname()[1]


async def _app(url: str, *, connect: float = CONNECT) -> ServiceApp:
    return create_app(
        RegistrySettings(
            database_url=url,
            environment="test",
            log_json=False,
            database_connect_timeout_seconds=connect,
            database_statement_timeout_seconds=STATEMENT,
        )
    )


async def _call(client: httpx.AsyncClient, path: str) -> tuple[httpx.Response, float]:
    method, url, body = PATHS[path]
    started = time.monotonic()
    r = await client.request(method, url, json=body, headers=WRITER if body else None)
    return r, time.monotonic() - started


def _assert_unavailable(r: httpx.Response, *secrets: str) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert int(r.headers["retry-after"]) > 0
    assert r.json()["status"] == 503 and r.json()["title"] == "Service unavailable"
    # Never the driver's text: it names hosts, ports, users and statements.
    for secret in secrets:
        assert secret not in r.text


@pytest.fixture
async def refusing() -> AsyncIterator[httpx.AsyncClient]:
    port = _closed_port()
    # A long connect timeout: a refusal is heard at once, not after the timeout.
    app = await _app(f"postgresql://db-user@127.0.0.1:{port}/registry", connect=REFUSED_CONNECT)
    async with asgi_client(app) as client:
        yield client
    await app.state.rows.close()
    await app.state.engine.dispose()


@pytest.fixture
async def silent(silent_port: int) -> AsyncIterator[httpx.AsyncClient]:
    app = await _app(f"postgresql://db-user@127.0.0.1:{silent_port}/registry")
    async with asgi_client(app) as client:
        yield client
    await app.state.rows.close()
    await app.state.engine.dispose()


@pytest.mark.parametrize("path", list(PATHS))
async def test_a_database_that_refuses_connections_gives_503_at_once(
    refusing: httpx.AsyncClient, path: str
) -> None:
    r, elapsed = await _call(refusing, path)
    _assert_unavailable(r, "127.0.0.1", "Connect call failed", "db-user")
    assert elapsed < REFUSED_CONNECT / 2, elapsed


@pytest.mark.parametrize("path", list(PATHS))
async def test_a_database_that_accepts_and_never_answers_gives_503_within_the_timeout(
    silent: httpx.AsyncClient, path: str
) -> None:
    r, elapsed = await _call(silent, path)
    _assert_unavailable(r, "127.0.0.1", "TimeoutError")
    assert CONNECT * 0.8 <= elapsed < CONNECT + 1.5, elapsed


@pytest.mark.parametrize("path", ["/api/v1/communes/90010", "/api/v1/territories"])
async def test_many_requests_to_a_silent_database_all_get_503_in_bounded_time(
    silent: httpx.AsyncClient, path: str
) -> None:
    # More than the pool holds (10 + 2 overflow): the others wait for a pooled connection no
    # longer than for a new one. The driver's pool (the territories list): those waiting for
    # its first connection fail with it, not each after its own timeout in turn.
    started = time.monotonic()
    answers = await asyncio.gather(*(silent.get(path) for _ in range(30)))
    assert {r.status_code for r in answers} == {503}
    assert time.monotonic() - started < 3 * CONNECT + 1.5


@pytest.fixture
async def seeded(registry_url: str) -> AsyncIterator[tuple[ServiceApp, httpx.AsyncClient]]:
    app = await _app(registry_url)
    async with asgi_client(app) as client:
        yield app, client
    await app.state.rows.close()
    await app.state.engine.dispose()


@pytest.mark.postgres_only
@pytest.mark.parametrize("path", ["session read", "driver read"])
async def test_a_statement_that_never_ends_gives_503_after_the_statement_timeout(
    seeded: tuple[ServiceApp, httpx.AsyncClient], registry_url: str, path: str
) -> None:
    """A server that answers connections but not the statement: here, a table locked by
    another transaction (the reads wait for it), as a stuck server or a long lock would."""
    import asyncpg

    _, client = seeded
    dsn = make_url(registry_url).set(drivername="postgresql").render_as_string(False)
    locker = await asyncpg.connect(dsn)
    try:
        # Warm the pools first, so that what is timed is the statement, not the connection.
        assert (await _call(client, path))[0].status_code == 200
        transaction = locker.transaction()
        await transaction.start()
        table = "communes" if path == "session read" else "territories"
        await locker.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        r, elapsed = await _call(client, path)
        await transaction.rollback()
    finally:
        await locker.close()
    _assert_unavailable(r, "canceling statement", "LOCK", "asyncpg")
    assert STATEMENT * 0.8 <= elapsed < STATEMENT + 1.5, elapsed
    assert (await _call(client, path))[0].status_code == 200  # and it recovers


@pytest.mark.skipif(backend() != "sqlite", reason="SQLite's write lock")
async def test_a_write_that_waits_for_the_sqlite_lock_gives_503_after_the_busy_timeout(
    seeded: tuple[ServiceApp, httpx.AsyncClient], registry_url: str
) -> None:
    _, client = seeded
    holder = sqlite3.connect(make_url(registry_url).database, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        r, elapsed = await _call(client, "session write")
        holder.execute("ROLLBACK")
    finally:
        holder.close()
    _assert_unavailable(r, "database is locked")
    assert STATEMENT * 0.8 <= elapsed < STATEMENT + 1.5, elapsed


@pytest.mark.skipif(backend() != "sqlite", reason="SQLite files")
@pytest.mark.parametrize("path", list(PATHS))
async def test_a_sqlite_file_that_cannot_be_opened_gives_503(tmp_path: Path, path: str) -> None:
    # A folder where the file should be: neither the engine nor the reader can open it.
    folder = tmp_path / "registry.db"
    folder.mkdir()
    app = await _app(f"sqlite+aiosqlite:///{folder}")
    async with asgi_client(app) as client:
        r, _ = await _call(client, path)
    await app.state.rows.close()
    await app.state.engine.dispose()
    _assert_unavailable(r, str(tmp_path), "unable to open")


def test_database_waits_are_below_the_gateways_budget() -> None:
    """The caller hears the service's 503 rather than the gateway's 504: neither the connect
    timeout nor the statement timeout reaches the gateway's budget for a whole request."""
    service, gateway = ServiceSettings(environment="test"), GatewaySettings(environment="test")
    assert service.database_connect_timeout_seconds < gateway.budget_seconds
    assert service.database_statement_timeout_seconds < gateway.budget_seconds
    assert gateway.budget_seconds - service.database_statement_timeout_seconds >= 0.5
    # The request's own deadline sits between the two (tdi_kit.deadline).
    assert (
        service.database_statement_timeout_seconds
        <= service.request_timeout_seconds
        < gateway.budget_seconds
    )


def test_database_timeouts_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTRY_DATABASE_CONNECT_TIMEOUT_SECONDS", "1.5")
    monkeypatch.setenv("REGISTRY_DATABASE_STATEMENT_TIMEOUT_SECONDS", "2.5")
    settings = RegistrySettings(environment="test")
    assert settings.database_connect_timeout_seconds == 1.5
    assert settings.database_statement_timeout_seconds == 2.5
    monkeypatch.setenv("REGISTRY_DATABASE_STATEMENT_TIMEOUT_SECONDS", "0")
    with pytest.raises(ValueError, match="database_statement_timeout_seconds"):
        RegistrySettings(environment="test")


async def test_the_sqlite_busy_timeout_follows_the_statement_timeout(
    seeded: tuple[ServiceApp, httpx.AsyncClient],
) -> None:
    app, _ = seeded
    if backend() != "sqlite":
        pytest.skip("SQLite's busy timeout")
    async with app.state.engine.connect() as connection:
        busy = (await connection.execute(text("PRAGMA busy_timeout"))).scalar_one()
    assert busy == int(STATEMENT * 1000)
