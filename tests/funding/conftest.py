"""The funding service under test, wired to the real registry and contracts apps (in process,
see tests/conftest.py). Each test runs in a transaction rolled back at its end, in funding's
database and in contracts', so that an action a test records in contracts exists for funding
until the test ends."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from suite_testing import Services

from tdi_kit.testing import asgi_client, bearer


@pytest.fixture
async def client(rolled_back_services: Services) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(rolled_back_services.funding) as c:
        yield c


@pytest.fixture
async def known_action(rolled_back_services: Services) -> uuid.UUID:
    """A fiche-action of a draft contract recorded in the real contracts service."""
    body = {
        "territory_code": "ti-2702",
        "kind": "contrat",
        "title": "Contrat dont une fiche est financée",
        "actions": [{"code": "FA-01", "title": "Fiche", "priority": "innovation"}],
        "signatories": [{"role": "prefet", "organisation_code": "prefecture-27"}],
    }
    async with asgi_client(rolled_back_services.contracts) as contracts:
        r = await contracts.post("/api/v1/contracts", json=body, headers=bearer("admin"))
    assert r.status_code == 201, r.text
    return uuid.UUID(r.json()["actions"][0]["id"])
