"""The one wiring of every service's tests: each app real, in process, on its own database.

The registry, funding and contracts apps are built once per run, each on a database of its own
migrated (and seeded, for the registry and funding) as a deployment does it. They call each
other as they would over the network, through ASGI transports: funding and contracts check
territories and organisations with the registry, funding asks contracts whether an action
exists, contracts asks funding for an operator's allocations. A test's writes are rolled back
at its end (`client` fixtures of each folder); the one failure a real app cannot show in
process, a service that is down, is played by the link between two apps (`suite_testing.Link`).

The gateway's tests serve these same apps over HTTP (its client is aiohttp): tests/gateway.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import httpx
import pytest
from suite_testing import Link, Services

from contracts.main import MIGRATIONS as CONTRACTS_MIGRATIONS
from contracts.main import create_app as create_contracts
from contracts.settings import ContractsSettings
from funding.main import MIGRATIONS as FUNDING_MIGRATIONS
from funding.main import create_app as create_funding
from funding.seed.loader import load as load_funding
from funding.settings import FundingSettings
from registry.main import MIGRATIONS, create_app
from registry.seed.loader import load
from registry.settings import RegistrySettings
from tdi_kit import migrations
from tdi_kit.app import ServiceApp
from tdi_kit.testing import backend, rolled_back, test_database


def pytest_report_header() -> str:
    return f"database backend: {backend()} (set TDI_TEST_DATABASE_URL for PostgreSQL)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if backend() == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (TDI_TEST_DATABASE_URL)")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


# The registry, migrated and seeded once per run: its own tests roll back each test on top of it,
# and the other services' tests call it (read-only) as the owner of territories and organisations.
@pytest.fixture(scope="session")
async def registry_url() -> AsyncIterator[str]:
    async with test_database("registry") as url:
        await migrations.migrate_and_seed(url, MIGRATIONS, load)
        yield url


@pytest.fixture(scope="session")
async def registry_app(registry_url: str) -> AsyncIterator[ServiceApp]:
    # The webhooks dispatcher is tried in tests/registry/test_registry_webhooks_delivery.py;
    # elsewhere it would only poll feeds at the default ports.
    app = create_app(
        RegistrySettings(
            database_url=registry_url,
            environment="test",
            log_json=False,
            webhooks_dispatcher="external",
        )
    )
    yield app
    await app.state.engine.dispose()


@pytest.fixture(scope="session")
async def funding_url() -> AsyncIterator[str]:
    async with test_database("funding") as url:
        await migrations.migrate_and_seed(url, FUNDING_MIGRATIONS, load_funding)
        yield url


@pytest.fixture(scope="session")
async def contracts_url() -> AsyncIterator[str]:
    async with test_database("contracts") as url:
        await migrations.migrate_and_seed(url, CONTRACTS_MIGRATIONS)
        yield url


@pytest.fixture(scope="session")
async def services(
    registry_app: ServiceApp, funding_url: str, contracts_url: str
) -> AsyncIterator[Services]:
    to_funding, to_contracts = Link("funding"), Link("contracts")
    common = {"environment": "test", "log_json": False}
    funding = create_funding(
        FundingSettings(database_url=funding_url, **common),
        registry_transport=httpx.ASGITransport(app=registry_app),
        contracts_transport=httpx.ASGITransport(app=to_contracts),
    )
    contracts = create_contracts(
        ContractsSettings(database_url=contracts_url, **common),
        registry_transport=httpx.ASGITransport(app=registry_app),
        funding_transport=httpx.ASGITransport(app=to_funding),
    )
    to_funding.app, to_contracts.app = funding, contracts
    yield Services(funding, contracts, to_funding, to_contracts)
    for app in (funding, contracts):
        await app.state.registry.aclose()
        await app.state.engine.dispose()
    await funding.state.contracts.aclose()
    await contracts.state.funding.aclose()


@pytest.fixture(scope="session")
def funding_app(services: Services) -> ServiceApp:
    return services.funding


@pytest.fixture(scope="session")
def contracts_app(services: Services) -> ServiceApp:
    return services.contracts


@pytest.fixture
async def rolled_back_services(services: Services) -> AsyncIterator[Services]:
    """Funding and contracts each in a transaction rolled back at the end of the test: what a
    test writes through one app, the other sees when it asks, and nothing stays."""
    services.to_funding.reset()
    services.to_contracts.reset()
    async with AsyncExitStack() as stack:
        for app in (services.funding, services.contracts):
            await stack.enter_async_context(rolled_back(app, app.state.engine))
        yield services
    services.to_funding.reset()
    services.to_contracts.reset()
