"""Shared by every service's tests: the database backend of this run, and the registry."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from registry.main import MIGRATIONS, create_app
from registry.seed.loader import load
from registry.settings import RegistrySettings
from tdi_kit import migrations
from tdi_kit.app import ServiceApp
from tdi_kit.db import create_engine, create_sessionmaker
from tdi_kit.testing import backend, test_database


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
