"""The registry under test: migrated by Alembic, seeded once, each test rolled back."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from registry.main import MIGRATIONS, create_app
from registry.seed.loader import load
from registry.settings import RegistrySettings
from sqlalchemy.ext.asyncio import AsyncEngine
from tdi_kit import migrations
from tdi_kit.app import ServiceApp
from tdi_kit.db import create_engine, create_sessionmaker
from tdi_kit.testing import asgi_client, rolled_back, test_database


@pytest.fixture(scope="session")
async def registry_url() -> AsyncIterator[str]:
    async with test_database("registry") as url:
        engine = create_engine(url)
        await migrations.upgrade(engine, MIGRATIONS)
        async with create_sessionmaker(engine)() as session:
            await load(session, say=lambda _line: None)
            await session.commit()
        await engine.dispose()
        yield url


@pytest.fixture(scope="session")
async def registry_app(registry_url: str) -> AsyncIterator[ServiceApp]:
    app = create_app(
        RegistrySettings(database_url=registry_url, environment="test", log_json=False)
    )
    yield app
    await app.state.engine.dispose()


@pytest.fixture(scope="session")
def registry_engine(registry_app: ServiceApp) -> AsyncEngine:
    return registry_app.state.engine


@pytest.fixture
async def client(
    registry_app: ServiceApp, registry_engine: AsyncEngine
) -> AsyncIterator[httpx.AsyncClient]:
    async with rolled_back(registry_app, registry_engine), asgi_client(registry_app) as c:
        yield c
