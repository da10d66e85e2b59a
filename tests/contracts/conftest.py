"""The contracts service under test, wired to the real registry and funding apps in process.

The apps are built once per run (tests/conftest.py); each test runs in a transaction rolled back
at its end, in contracts' database and in funding's, so that an allocation a test records in
funding is what contracts sees when it asks whether an operator finances an action. The registry
(migrated and seeded once) answers the reference checks through an ASGI transport, as it would
over the network. A funding service that is down is played by the link between the two apps
(`funding.failing`), which also counts the calls (`funding.asked`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from suite_testing import Link, Services

from tdi_kit.testing import asgi_client, bearer


@pytest.fixture
def funding(rolled_back_services: Services) -> Link:
    """The link through which contracts calls the real funding app."""
    return rolled_back_services.to_funding


@pytest.fixture
async def client(rolled_back_services: Services) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(rolled_back_services.contracts) as c:
        yield c


@pytest.fixture
async def funding_client(rolled_back_services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """The real funding app, in the same rolled-back transaction as the test's contracts."""
    async with asgi_client(rolled_back_services.funding) as c:
        yield c


# Registry facts the tests lean on: Nord Franche-Comté (phase 2, region 27) and its members.
NFC = "ti-2708"
PMA = "200065647"  # CA Pays de Montbéliard Agglomération, a member of ti-2708
BELFORT = "200069052"  # CA Grand Belfort, a member too
WRITER = bearer("contracts:write")


def _contract_body(**overrides: Any) -> dict[str, Any]:
    """A phase-2 contract of Nord Franche-Comté with its required signatories and two actions."""
    body: dict[str, Any] = {
        "territory_code": NFC,
        "kind": "contrat",
        "title": "Contrat de territoire d'industrie Nord Franche-Comté",
        "enjeux": ["hydrogène", "compétences industrielles"],
        "start_year": 2023,
        "end_year": 2027,
        "signatories": [
            {"role": "prefet", "organisation_code": "prefecture-27"},
            {"role": "president_region", "organisation_code": "region-27"},
            {"role": "president_epci", "siren": PMA},
            {"role": "president_epci", "siren": BELFORT},
            {"role": "operator", "organisation_code": "bpifrance"},
        ],
        "actions": [
            {
                "code": "FA-01",
                "title": "Centre d'essais hydrogène",
                "priority": "innovation",
                "themes": ["hydrogene"],
                "owner": {"name": "Porteur industriel", "siren": PMA},
                "budget_cents": 2_000_000_000,
                "plan_lines": [
                    {"financer_code": "bpifrance", "amount_cents": 600_000_000},
                    {"financer_code": "banque-des-territoires", "amount_cents": 400_000_000},
                ],
                "indicators": [{"label": "Emplois créés", "unit": "emplois", "target": 50}],
                "milestones": [{"label": "Mise en service", "due_on": "2026-06-30"}],
            },
            {
                "code": "FA-02",
                "title": "École de production",
                "priority": "competences",
                "themes": ["ecole-de-production", "alternance"],
                "owner": {"organisation_code": "region-27"},
                "budget_cents": 300_000_000,
                "plan_lines": [{"financer_code": "region-27", "amount_cents": 100_000_000}],
            },
        ],
    }
    body.update(overrides)
    return body


@pytest.fixture
def create_contract(client: httpx.AsyncClient) -> Callable[..., Awaitable[dict[str, Any]]]:
    async def create(**overrides: Any) -> dict[str, Any]:
        r = await client.post("/api/v1/contracts", json=_contract_body(**overrides), headers=WRITER)
        assert r.status_code == 201, r.text
        return r.json() | {"etag": r.headers["etag"]}

    return create


async def _sign_all(client: httpx.AsyncClient, contract: dict[str, Any]) -> dict[str, Any]:
    """Every signatory signs, a day apart: the contract ends signed."""
    etag = contract["etag"]
    body = contract
    for day, signatory in enumerate(contract["signatories"], start=1):
        r = await client.post(
            f"/api/v1/contracts/{contract['id']}/signatories/{signatory['id']}/signature",
            json={"signed_on": f"2024-03-{day:02d}"},
            headers=WRITER | {"If-Match": etag},
        )
        assert r.status_code == 200, r.text
        etag, body = r.headers["etag"], r.json()
    return body | {"etag": etag}


@pytest.fixture
async def signed_contract(
    client: httpx.AsyncClient, create_contract: Callable[..., Awaitable[dict[str, Any]]]
) -> dict[str, Any]:
    return await _sign_all(client, await create_contract())


@pytest.fixture
def contract_body() -> Callable[..., dict[str, Any]]:
    return _contract_body


@pytest.fixture
def sign_all(client: httpx.AsyncClient) -> Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]:
    return lambda contract: _sign_all(client, contract)
