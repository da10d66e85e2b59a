"""The gateway under test, in front of real services served over HTTP, or of fakes that fail.

The apps are the real ones, built as tests/conftest.py builds them, but served by uvicorn on
free ports: the gateway's aiohttp client speaks HTTP, not ASGI. The registry runs on the run's
seeded registry database (it is only read here); funding (seeded) and contracts run on
databases of their own, since the gateway's tests commit their writes. Failures the real
services cannot be made to show (refused connections, silence, 500s, malformed JSON) come from
`gateway_testing.FakeService`, a small app whose behaviour a test switches.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from gateway_testing import SERVICE_SETTINGS, FakeService

from contracts.main import MIGRATIONS as CONTRACTS_MIGRATIONS
from contracts.main import create_app as create_contracts
from contracts.settings import ContractsSettings
from funding.main import MIGRATIONS as FUNDING_MIGRATIONS
from funding.main import create_app as create_funding
from funding.seed.loader import load as load_funding
from funding.settings import FundingSettings
from registry.main import create_app as create_registry
from registry.settings import RegistrySettings
from tdi_kit import migrations
from tdi_kit.testing import LiveServer, free_port, test_database


@pytest.fixture(scope="session")
def registry_server(registry_url: str) -> Iterator[LiveServer]:
    # Its own app and engine: the server's event loop is not the tests' one.
    app = create_registry(RegistrySettings(database_url=registry_url, **SERVICE_SETTINGS))
    with LiveServer(app) as server:
        yield server


@asynccontextmanager
async def serve_suite(registry_url: str, prefix: str) -> AsyncIterator[dict[str, str]]:
    """Funding (seeded) and contracts (empty) on databases of their own (named after `prefix`),
    served over HTTP beside the registry at `registry_url`, each pointed at the others: the
    gateway's settings for the whole suite."""
    funding_port, contracts_port = free_port(), free_port()
    funding_url = f"http://127.0.0.1:{funding_port}"
    contracts_url = f"http://127.0.0.1:{contracts_port}"
    async with (
        test_database(f"{prefix}_funding") as funding_db,
        test_database(f"{prefix}_contracts") as contracts_db,
    ):
        await migrations.migrate_and_seed(funding_db, FUNDING_MIGRATIONS, load_funding)
        await migrations.migrate_and_seed(contracts_db, CONTRACTS_MIGRATIONS)
        common: dict[str, Any] = SERVICE_SETTINGS
        funding = create_funding(
            FundingSettings(
                database_url=funding_db,
                registry_url=registry_url,
                contracts_url=contracts_url,
                **common,
            )
        )
        contracts = create_contracts(
            ContractsSettings(
                database_url=contracts_db,
                registry_url=registry_url,
                funding_url=funding_url,
                **common,
            )
        )
        with LiveServer(contracts, port=contracts_port), LiveServer(funding, port=funding_port):
            yield {
                "registry_url": registry_url,
                "funding_url": funding_url,
                "contracts_url": contracts_url,
            }


@pytest.fixture(scope="session")
async def suite(registry_server: LiveServer) -> AsyncIterator[dict[str, str]]:
    """The suite the gateway's tests share (they commit their writes to it)."""
    async with serve_suite(registry_server.url, "gw") as settings:
        yield settings


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


@pytest.fixture(scope="module")
async def own_suite(registry_server: LiveServer) -> AsyncIterator[dict[str, str]]:
    """A suite of the module's own, for tests whose writes must not meet the others' counts."""
    async with serve_suite(registry_server.url, "gw_own") as settings:
        yield settings
