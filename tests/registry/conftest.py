"""The registry under test: each test runs in a transaction rolled back at its end."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tdi_kit.app import ServiceApp
from tdi_kit.testing import asgi_client, rolled_back


@pytest.fixture
async def client(registry_app: ServiceApp) -> AsyncIterator[httpx.AsyncClient]:
    async with rolled_back(registry_app, registry_app.state.engine), asgi_client(registry_app) as c:
        yield c
