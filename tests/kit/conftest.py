"""The kit is exercised through the registry, the first app built with it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tdi_kit.app import ServiceApp
from tdi_kit.testing import asgi_client


@pytest.fixture
async def client(registry_app: ServiceApp) -> AsyncIterator[httpx.AsyncClient]:
    """Read-only requests to the seeded registry."""
    async with asgi_client(registry_app) as c:
        yield c
