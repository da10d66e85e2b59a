"""Racing writers of the same natural key: one wins, the others get a 409 problem, never a 500.

Every unique key of the contracts schema, and how a client can race on it:

| key (models.py / the initial migration)         | reached by                                 |
| ----------------------------------------------- | ------------------------------------------ |
| contracts.live_slot unique (one live contract   | POST /contracts for one territory and kind |
| per territory, phase and kind)                  |                                            |
| territories.code, territory_regions (pk): our   | the first write naming a territory         |
| copy of the registry's facts                    |                                            |
| actions (contract_id, code) unique              | POST /contracts/{id}/actions, PATCH        |
|                                                 | /actions/{id}, an amendment's add_action   |
| amendments (contract_id, number) unique         | POST /contracts/{id}/amendments            |
| contract_events (contract_id, version) unique   | every write of a contract                  |
| action_themes (action_id, theme) (pk)           | PATCH /actions/{id} with themes            |
| signatories, plan_lines, indicators, milestones | UUIDs the service draws                    |

These requests commit for real, on a database of this module's own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from typing import Any

import httpx
import pytest
from suite_testing import count_statuses, race

from contracts.main import MIGRATIONS, create_app
from contracts.settings import ContractsSettings
from tdi_kit import migrations
from tdi_kit.app import ServiceApp
from tdi_kit.testing import asgi_client, bearer, test_database

RACERS = 8
WRITER = bearer("contracts:write", sub="racer")
ANY = {**WRITER, "If-Match": "*"}


@pytest.fixture(scope="module")
async def committing_app(registry_app: ServiceApp) -> AsyncIterator[ServiceApp]:
    async with test_database("contracts_races") as url:
        await migrations.migrate_and_seed(url, MIGRATIONS)
        app = create_app(
            ContractsSettings(
                database_url=url,
                environment="test",
                log_json=False,
                database_max_connections=4 * RACERS,
            ),
            registry_transport=httpx.ASGITransport(app=registry_app),
        )
        yield app
        await app.state.registry.aclose()
        await app.state.engine.dispose()


@pytest.fixture
async def client(committing_app: ServiceApp) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(committing_app) as c:
        yield c


def _contract(territory: str, region: str, *, signed: bool = False) -> dict[str, Any]:
    signatories = []
    if signed:
        signatories = [
            {
                "role": "prefet",
                "organisation_code": f"prefecture-{region}",
                "signed_on": "2024-01-10",
            },
            {
                "role": "president_region",
                "organisation_code": f"region-{region}",
                "signed_on": "2024-01-11",
            },
        ]
    return {
        "territory_code": territory,
        "kind": "contrat",
        "title": f"Contrat {territory}",
        "signatories": signatories,
        "actions": [],
    }


def _action(code: str, **fields: Any) -> dict[str, Any]:
    return {"code": code, "title": f"Action {code}", "priority": "innovation", **fields}


async def _created(client: httpx.AsyncClient, url: str, body: dict[str, Any]) -> dict[str, Any]:
    r = await client.post(url, json=body, headers=WRITER)
    assert r.status_code == 201, r.text
    return r.json()


async def test_racing_contracts_of_one_territory_give_one_201_and_409s(
    client: httpx.AsyncClient,
) -> None:
    # The territory is new to this database too: the racers also insert our copy of it.
    body = _contract("ti-2804", "28")
    answers = await race(
        RACERS, lambda i: client.post("/api/v1/contracts", json=body, headers=WRITER)
    )
    assert count_statuses(answers) == {201: 1, 409: RACERS - 1}, [r.text for r in answers]
    listed = await client.get("/api/v1/contracts", params={"territory": "ti-2804"})
    assert len(listed.json()["items"]) == 1


async def test_racing_actions_with_one_code_give_one_201_and_409s(
    client: httpx.AsyncClient,
) -> None:
    contract = await _created(client, "/api/v1/contracts", _contract("ti-2708", "27"))
    url = f"/api/v1/contracts/{contract['id']}/actions"
    answers = await race(RACERS, lambda _: client.post(url, json=_action("FA-09"), headers=ANY))
    assert count_statuses(answers) == {201: 1, 409: RACERS - 1}, [r.text for r in answers]


async def test_racing_renames_of_actions_to_one_code_give_one_200_and_409s(
    client: httpx.AsyncClient,
) -> None:
    contract = await _created(client, "/api/v1/contracts", _contract("ti-2701", "27"))
    url = f"/api/v1/contracts/{contract['id']}/actions"
    actions = [(await _created(client, url, _action(f"FA-{i:02d}")))["id"] for i in range(RACERS)]
    answers = await race(
        RACERS,
        lambda i: client.patch(
            f"/api/v1/actions/{actions[i]}", json={"code": "FA-99"}, headers=ANY
        ),
    )
    assert count_statuses(answers) == {200: 1, 409: RACERS - 1}, [r.text for r in answers]


async def test_racing_amendments_of_one_contract_are_numbered_in_sequence(
    client: httpx.AsyncClient,
) -> None:
    contract = await _created(client, "/api/v1/contracts", _contract("ti-2806", "28", signed=True))
    assert contract["status"] == "signed", contract

    def amend(i: int) -> Awaitable[httpx.Response]:
        # Half of them add the same fiche-action: its code is taken once.
        change = (
            {"op": "add_action", "action": _action("FA-AV")}
            if i % 2
            else {"op": "update_contract", "fields": {"title": f"Contrat amendé {i}"}}
        )
        return client.post(
            f"/api/v1/contracts/{contract['id']}/amendments",
            json={"title": f"Avenant {i}", "changes": [change]},
            headers=ANY,
        )

    answers = await race(RACERS, amend)
    statuses = count_statuses(answers)
    assert set(statuses) <= {201, 409} and statuses[201] >= RACERS // 2, [r.text for r in answers]
    added = [r for i, r in enumerate(answers) if i % 2 and r.status_code == 201]
    assert len(added) == 1, [r.text for r in answers]
    listed = await client.get(f"/api/v1/contracts/{contract['id']}/amendments")
    numbers = sorted(a["number"] for a in listed.json()["items"])
    assert numbers == list(range(1, statuses[201] + 1))
    history = await client.get(f"/api/v1/contracts/{contract['id']}/history")
    versions = [e["version"] for e in history.json()["items"]]
    assert len(versions) == len(set(versions))


async def test_racing_theme_changes_of_one_action_never_give_a_5xx(
    client: httpx.AsyncClient,
) -> None:
    contract = await _created(client, "/api/v1/contracts", _contract("ti-2702", "27"))
    action = await _created(
        client, f"/api/v1/contracts/{contract['id']}/actions", _action("FA-01", themes=["pme"])
    )
    themes = [["hydrogene", "alternance"], ["alternance", "foncier"], ["hydrogene", "foncier"]]
    answers = await race(
        RACERS,
        lambda i: client.patch(
            f"/api/v1/actions/{action['id']}", json={"themes": themes[i % 3]}, headers=ANY
        ),
    )
    statuses = count_statuses(answers)
    assert statuses[200] >= 1 and set(statuses) <= {200, 409}, [r.text for r in answers]
    final = (await client.get(f"/api/v1/actions/{action['id']}")).json()["themes"]
    assert sorted(final) in [sorted(t) for t in themes]
