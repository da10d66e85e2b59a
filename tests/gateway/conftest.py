"""The gateway under test, in front of real services served over HTTP, or of fakes that fail.

The registry is the real one (migrated and seeded once per run, see tests/conftest.py), served
by uvicorn on a free port so that the gateway's aiohttp client speaks HTTP to it. Funding and
contracts are the real services too, each on a fresh migrated and seeded database. Failures
the real services cannot be made to show (refused connections, silence, 500s, malformed JSON)
come from `FakeService`, a small app whose behaviour a test switches.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from contracts.main import MIGRATIONS as CONTRACTS_MIGRATIONS
from contracts.main import create_app as create_contracts
from contracts.settings import ContractsSettings
from funding.main import MIGRATIONS as FUNDING_MIGRATIONS
from funding.main import create_app as create_funding
from funding.seed.loader import load as load_funding
from funding.settings import FundingSettings
from gateway.main import GatewayApp, create_app
from gateway.settings import GatewaySettings
from registry.main import create_app as create_registry
from registry.settings import RegistrySettings
from tdi_kit import migrations
from tdi_kit.db import create_engine, create_sessionmaker
from tdi_kit.testing import LiveServer, asgi_client, free_port, test_database

API = "/api/v1"


class FakeService:
    """A service that answers as told: `mode` is ok, slow, error, garbage, stream, closed,
    huge-header (a header over the gateway's parser limits), hop (a `Connection` header naming
    another) or created (a 201 with a relative `Location`)."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.delay = 5.0
        self.calls = 0
        self.seen: list[dict[str, Any]] = []
        self.app = Starlette(routes=[Route("/{path:path}", self.answer, methods=_METHODS)])

    async def answer(self, request: Request) -> Response:
        self.calls += 1
        body = await request.body()
        seen = {
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "headers": dict(request.headers.items()),
            "body": body.decode(),
        }
        self.seen.append(seen)
        if self.mode == "slow":
            await asyncio.sleep(self.delay)
        if self.mode == "error":
            return Response(b'{"title":"boom"}', status_code=500, media_type="application/json")
        if self.mode == "garbage":
            return Response(b'{"items": [1, 2', media_type="application/json")
        if self.mode == "stream":
            return StreamingResponse(_chunks(), media_type="text/csv")
        if self.mode == "huge-header":
            return Response(b"{}", media_type="application/json", headers={"X-Big": "x" * 20_000})
        if self.mode == "hop":
            headers = {"Connection": "X-Hop-Note", "X-Hop-Note": "for the next hop only"}
            return Response(b"{}", media_type="application/json", headers=headers)
        if self.mode == "created":
            headers = {
                "Location": f"{request.url.path}/1",
                "Link": '</api/v1/x?page=2>; rel="next"',
            }
            return Response(b"{}", status_code=201, media_type="application/json", headers=headers)
        if request.url.path in ("/readyz", "/openapi.json"):
            return Response(b'{"status":"ok"}', media_type="application/json")
        return Response(
            orjson.dumps(seen),
            media_type="application/json",
            headers={"ETag": '"fake"', "Link": '<http://x/next>; rel="next"', "X-Custom": "1"},
        )

    def reset(self) -> None:
        self.mode = "ok"
        self.calls = 0
        self.seen.clear()


_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


async def _chunks() -> AsyncIterator[bytes]:
    for i in range(200):
        yield f"{i},{'x' * 2000}\n".encode()
        if i % 50 == 0:
            await asyncio.sleep(0)


@pytest.fixture(scope="session")
def registry_server(registry_url: str) -> Iterator[LiveServer]:
    # Its own app and engine: the server's event loop is not the tests' one.
    app = create_registry(
        RegistrySettings(database_url=registry_url, environment="test", log_json=False)
    )
    with LiveServer(app) as server:
        yield server


async def _migrated(url: str, script: str, seed: Any = None) -> None:
    engine = create_engine(url)
    await migrations.upgrade(engine, script)
    if seed is not None:
        async with create_sessionmaker(engine)() as session:
            await seed(session, say=lambda _line: None)
            await session.commit()
    await engine.dispose()


@pytest.fixture(scope="session")
async def suite(registry_server: LiveServer) -> AsyncIterator[dict[str, str]]:
    """Funding (seeded) and contracts (empty) on their own databases, served over HTTP, each
    pointed at the others: the gateway's settings for the whole suite."""
    funding_port, contracts_port = free_port(), free_port()
    funding_url = f"http://127.0.0.1:{funding_port}"
    contracts_url = f"http://127.0.0.1:{contracts_port}"
    async with (
        test_database("gw_funding") as funding_db,
        test_database("gw_contracts") as contracts_db,
    ):
        await _migrated(funding_db, FUNDING_MIGRATIONS, load_funding)
        await _migrated(contracts_db, CONTRACTS_MIGRATIONS)
        common: dict[str, Any] = {"environment": "test", "log_json": False}
        funding = create_funding(
            FundingSettings(
                database_url=funding_db,
                registry_url=registry_server.url,
                contracts_url=contracts_url,
                **common,
            )
        )
        contracts = create_contracts(
            ContractsSettings(
                database_url=contracts_db,
                registry_url=registry_server.url,
                funding_url=funding_url,
                **common,
            )
        )
        with LiveServer(contracts, port=contracts_port), LiveServer(funding, port=funding_port):
            yield {
                "registry_url": registry_server.url,
                "funding_url": funding_url,
                "contracts_url": contracts_url,
            }


@pytest.fixture(scope="session")
def fake_server() -> Iterator[tuple[FakeService, LiveServer]]:
    fake = FakeService()
    with LiveServer(fake.app) as server:  # type: ignore[arg-type]
        yield fake, server


@pytest.fixture
def fake(fake_server: tuple[FakeService, LiveServer]) -> Iterator[FakeService]:
    fake_server[0].reset()
    yield fake_server[0]
    fake_server[0].reset()


@pytest.fixture
def fake_url(fake_server: tuple[FakeService, LiveServer]) -> str:
    return fake_server[1].url


@pytest.fixture(scope="session")
def closed_url() -> str:
    """An address where nothing listens: connections are refused at once."""
    return f"http://127.0.0.1:{free_port()}"


# Budgets of the failure tests: FAST where only fakes answer, TIGHT where real services must
# still answer in time beside the one that fails.
FAST: dict[str, Any] = {
    "budget_seconds": 1.0,
    "call_timeout_seconds": 0.6,
    "connect_timeout_seconds": 0.3,
}
TIGHT: dict[str, Any] = {
    "budget_seconds": 2.0,
    "call_timeout_seconds": 1.5,
    "connect_timeout_seconds": 0.5,
}


def gateway_settings(**overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "environment": "test",
        "log_json": False,
        "log_level": "WARNING",
        "rate_limit": "",
        # Generous by default, so that a whole answer is whole on a busy machine; the failure
        # tests pass FAST or TIGHT.
        "budget_seconds": 6.0,
        "call_timeout_seconds": 5.0,
        "connect_timeout_seconds": 1.0,
        "breaker_failures": 3,
        "breaker_reset_seconds": 0.5,
    }
    values.update(overrides)
    return GatewaySettings(**values)


@asynccontextmanager
async def running_gateway(**overrides: Any) -> AsyncIterator[tuple[GatewayApp, httpx.AsyncClient]]:
    app = create_app(gateway_settings(**overrides))
    try:
        async with asgi_client(app) as client:  # type: ignore[arg-type]
            yield app, client
    finally:
        await app.services.close()
