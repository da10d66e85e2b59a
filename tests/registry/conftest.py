"""The registry under test: each test runs in a transaction rolled back at its end."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from registry_testing import FreshRegistry
from sqlalchemy.ext.asyncio import AsyncSession

from registry.main import MIGRATIONS
from registry.seed.loader import load
from tdi_kit import migrations
from tdi_kit.app import ServiceApp
from tdi_kit.testing import asgi_client, bearer, rolled_back, test_database


@pytest.fixture
async def client(registry_app: ServiceApp) -> AsyncIterator[httpx.AsyncClient]:
    async with rolled_back(registry_app, registry_app.state.engine), asgi_client(registry_app) as c:
        yield c


@pytest.fixture
def writer() -> dict[str, str]:
    """Authorization header of a registry editor."""
    return bearer("registry:write", sub="editor")


@pytest.fixture
async def session(registry_app: ServiceApp) -> AsyncIterator[AsyncSession]:
    """A session on the seeded registry whose writes are rolled back at the end of the test."""
    async with registry_app.state.engine.connect() as connection:
        transaction = await connection.begin()
        async with AsyncSession(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        ) as s:
            try:
                yield s
            finally:
                await transaction.rollback()


# Its own database: the contract test writes to it at random, and the seed tests read how the
# two loads went.
@pytest.fixture(scope="session")
async def fresh_registry() -> AsyncIterator[FreshRegistry]:
    async with test_database("registry_fresh") as url:
        # Seeded twice: the second load must find nothing to change.
        reports = await migrations.migrate_and_seed(url, MIGRATIONS, load, load)
        yield FreshRegistry(url, *reports)
