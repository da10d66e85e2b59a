"""The contracts service under test, wired to the real registry app in process.

The contracts database is migrated once per run; each test runs in a transaction rolled back at
its end. The registry (migrated and seeded once, see tests/conftest.py) answers the reference
checks through an ASGI transport, as it would over the network. The funding service, asked only
whether an operator's allocation finances an action, is a small fake holding the allocations a
test records (and able to fail): the real one's answer is tested in tests/funding.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from contracts.main import MIGRATIONS, create_app
from contracts.settings import ContractsSettings
from tdi_kit import migrations
from tdi_kit.app import ServiceApp
from tdi_kit.db import create_engine
from tdi_kit.testing import asgi_client, bearer, rolled_back, test_database


@pytest.fixture(scope="session")
async def contracts_url() -> AsyncIterator[str]:
    async with test_database("contracts") as url:
        engine = create_engine(url)
        await migrations.upgrade(engine, MIGRATIONS)
        await engine.dispose()
        yield url


def contracts_settings(url: str) -> ContractsSettings:
    return ContractsSettings(database_url=url, environment="test", log_json=False)


class FakeFunding:
    """Public allocations (as funding lists them anonymously), filtered like the real list."""

    def __init__(self) -> None:
        self.allocations: list[dict[str, Any]] = []
        self.failing = False
        self.asked = 0
        self.app = Starlette(routes=[Route("/api/v1/allocations", self._list)])

    async def _list(self, request: Request) -> JSONResponse:
        self.asked += 1
        if self.failing:
            return JSONResponse({"status": 503}, status_code=503)
        q = request.query_params
        items = [
            a
            for a in self.allocations
            if a["action_id"] == q.get("action") and a["operator_code"] == q.get("operator")
        ]
        return JSONResponse({"items": items, "next_cursor": None})

    def reset(self) -> None:
        self.allocations, self.failing, self.asked = [], False, 0


@pytest.fixture(scope="session")
def fake_funding() -> FakeFunding:
    return FakeFunding()


@pytest.fixture(scope="session")
async def contracts_app(
    contracts_url: str, registry_app: ServiceApp, fake_funding: FakeFunding
) -> AsyncIterator[ServiceApp]:
    app = create_app(
        contracts_settings(contracts_url),
        registry_transport=httpx.ASGITransport(app=registry_app),
        funding_transport=httpx.ASGITransport(app=fake_funding.app),
    )
    yield app
    await app.state.registry.aclose()
    await app.state.funding.aclose()
    await app.state.engine.dispose()


@pytest.fixture
def funding(fake_funding: FakeFunding) -> Iterator[FakeFunding]:
    fake_funding.reset()
    yield fake_funding
    fake_funding.reset()


@pytest.fixture
async def client(
    contracts_app: ServiceApp, funding: FakeFunding
) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        rolled_back(contracts_app, contracts_app.state.engine),
        asgi_client(contracts_app) as c,
    ):
        yield c


# Registry facts the tests lean on: Nord Franche-Comté (phase 2, region 27) and its members.
NFC = "ti-2708"
PMA = "200065647"  # CA Pays de Montbéliard Agglomération, a member of ti-2708
BELFORT = "200069052"  # CA Grand Belfort, a member too
WRITER = bearer("contracts:write")
ADMIN = bearer("admin")


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
