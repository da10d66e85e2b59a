"""The funding service under test, wired to the real registry app (in process).

The funding database is migrated and seeded once per run; each test runs in a transaction rolled
back at its end. The contracts service is a small fake that knows one action: a mock, because
the real one is not there yet.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from funding_cases import contracts_app, migrated_and_seeded, settings

from funding.main import create_app
from tdi_kit.app import ServiceApp
from tdi_kit.testing import asgi_client, rolled_back, test_database


@pytest.fixture(scope="session")
async def funding_url() -> AsyncIterator[str]:
    async with test_database("funding") as url:
        await migrated_and_seeded(url)
        yield url


@pytest.fixture(scope="session")
async def funding_app(funding_url: str, registry_app: ServiceApp) -> AsyncIterator[ServiceApp]:
    app = create_app(
        settings(funding_url),
        registry_transport=httpx.ASGITransport(app=registry_app),
        contracts_transport=httpx.ASGITransport(app=contracts_app()),
    )
    yield app
    await app.state.engine.dispose()


@pytest.fixture
async def client(funding_app: ServiceApp) -> AsyncIterator[httpx.AsyncClient]:
    async with rolled_back(funding_app, funding_app.state.engine), asgi_client(funding_app) as c:
        yield c
