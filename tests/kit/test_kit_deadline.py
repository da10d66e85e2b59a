"""A deadline on every request: past it the caller gets a 503 problem and the connections are
given back (tdi_kit.deadline), never held for an answer nobody waits for."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from fastapi import APIRouter
from sqlalchemy import text

from registry.main import MIGRATIONS
from registry.models import idempotency_keys
from tdi_kit import migrations, testing
from tdi_kit.app import ServiceApp, create_service_app
from tdi_kit.db import SessionDep
from tdi_kit.deadline import budget_of
from tdi_kit.settings import ServiceSettings
from tdi_kit.testing import asgi_client, bearer

# Long enough that only the deadline ends it.
HANG_SECONDS = 30.0


def _slow_app(url: str, *, request_timeout: float) -> ServiceApp:
    router = APIRouter()

    @router.get("/slow")
    async def slow_read(session: SessionDep) -> dict[str, int]:
        await session.execute(text("SELECT 1"))
        await asyncio.sleep(HANG_SECONDS)
        return {"done": 1}

    @router.post("/slow")
    async def slow_write(session: SessionDep) -> dict[str, int]:
        await session.execute(text("SELECT 1"))
        await asyncio.sleep(HANG_SECONDS)
        return {"done": 1}

    @router.get("/fast")
    async def fast(session: SessionDep) -> dict[str, int]:
        return {"one": int(await session.scalar(text("SELECT 1")) or 0)}

    return create_service_app(
        settings=ServiceSettings(
            database_url=url,
            environment="test",
            log_json=False,
            request_timeout_seconds=request_timeout,
            database_statement_timeout_seconds=min(3.0, request_timeout),
        ),
        title="slow",
        description="",
        version="0",
        routers=[router],
        migrations=MIGRATIONS,
        idempotency=idempotency_keys,
    )


@pytest.fixture(scope="module")
async def database() -> AsyncIterator[str]:
    async with testing.test_database("deadline") as url:
        await migrations.migrate_and_seed(url, MIGRATIONS)
        yield url


async def test_a_request_past_its_own_timeout_is_a_503_problem_that_gives_its_connection_back(
    database: str,
) -> None:
    app = _slow_app(database, request_timeout=0.3)
    try:
        async with asgi_client(app) as c:
            started = time.monotonic()
            r = await c.get("/api/v1/slow")
            elapsed = time.monotonic() - started
            assert r.status_code == 503
            assert r.headers["content-type"] == "application/problem+json"
            assert r.headers["retry-after"] == "1"
            assert r.json()["type"] == "urn:tdi:problem:deadline"
            assert 0.25 < elapsed < 2.0
            assert app.state.engine.pool.checkedout() == 0
            assert (await c.get("/api/v1/fast")).json() == {"one": 1}
    finally:
        await app.state.engine.dispose()


async def test_the_gateways_budget_shortens_the_deadline_but_never_lengthens_it(
    database: str,
) -> None:
    app = _slow_app(database, request_timeout=1.0)
    try:
        async with asgi_client(app) as c:
            started = time.monotonic()
            r = await c.get("/api/v1/slow", headers={"X-Request-Budget-Ms": "150"})
            assert r.status_code == 503
            assert time.monotonic() - started < 0.9
            started = time.monotonic()
            r = await c.get("/api/v1/slow", headers={"X-Request-Budget-Ms": "600000"})
            assert r.status_code == 503
            assert 0.9 < time.monotonic() - started < 3.0
            # Nothing left of the budget: answered at once, nothing run.
            r = await c.get("/api/v1/fast", headers={"X-Request-Budget-Ms": "0"})
            assert r.status_code == 503
            assert app.state.engine.pool.checkedout() == 0
    finally:
        await app.state.engine.dispose()


async def test_a_write_past_its_deadline_releases_its_idempotency_key(database: str) -> None:
    app = _slow_app(database, request_timeout=0.3)
    headers = {**bearer("registry:write"), "Idempotency-Key": "slow-1"}
    try:
        async with asgi_client(app) as c:
            assert (await c.post("/api/v1/slow", headers=headers)).status_code == 503
            # Not "still being processed" (409): the key's lock went with the request.
            assert (await c.post("/api/v1/slow", headers=headers)).status_code == 503
            assert app.state.engine.pool.checkedout() == 0
    finally:
        await app.state.engine.dispose()


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ([(b"x-request-budget-ms", b"2500")], 2.5),
        ([(b"x-request-budget-ms", b"soon")], None),
        ([], None),
    ],
)
def test_the_budget_header_is_read_in_whole_milliseconds(
    headers: list[tuple[bytes, bytes]], seconds: float | None
) -> None:
    assert budget_of(headers) == seconds
