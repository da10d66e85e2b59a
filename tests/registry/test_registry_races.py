"""Racing writers of the same natural key: one wins, the others get a 409 problem, never a 500.

Every unique key of the registry's schema, and how a client can race on it:

| key (models.py / the initial migration)        | reached by                                  |
| ---------------------------------------------- | ------------------------------------------- |
| territories.code (pk)                          | POST /territories with one code             |
| territory_members (phase, siren) unique        | POST /territories naming one groupement     |
| territory_members (territory_code, siren) (pk) | PUT /territories/{code}/members/{siren}     |
| territory_referents (territory, organisation)  | PUT /territories/{code}/governance          |
| territory_departments, territory_regions (pk)  | derived by every write of a territory       |
| regions, departments, groupements, communes,   | the seed only (no API writes them): the     |
| communes.siren, organisations, outlines,       | loader runs under the migrations' lock      |
| territory_communes (pk)                        |                                             |

On PostgreSQL the racers are concurrent transactions: the loser of a unique key fails at its
insert, after the service's own check said the key was free. On SQLite writers queue (BEGIN
IMMEDIATE), so the services' checks answer; the rule is the same on both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable

import httpx
import pytest
from registry_testing import API, FreshRegistry, seed_rows
from suite_testing import count_statuses, race

from registry.main import create_app
from registry.settings import RegistrySettings
from tdi_kit.app import ServiceApp
from tdi_kit.testing import asgi_client, bearer

RACERS = 8
WRITER = bearer("registry:write", sub="racer")


@pytest.fixture(scope="module")
async def committing_app(fresh_registry: FreshRegistry) -> AsyncIterator[ServiceApp]:
    """The registry on its own database, each request a transaction that commits for real."""
    app = create_app(
        RegistrySettings(database_url=fresh_registry.url, environment="test", log_json=False)
    )
    yield app
    await app.state.engine.dispose()


@pytest.fixture
async def client(committing_app: ServiceApp) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(committing_app) as c:
        yield c


def _unheld_groupements() -> list[str]:
    """EPCIs that no phase-2 territory of the seed holds."""
    phase2 = {t["code"] for t in seed_rows("territories.csv") if t["phase"] == "2"}
    held = {m["siren"] for m in seed_rows("territory_members.csv") if m["territory_code"] in phase2}
    return [g["siren"] for g in seed_rows("groupements.csv") if g["siren"] not in held]


async def test_racing_creations_of_one_territory_code_give_one_201_and_409s(
    client: httpx.AsyncClient,
) -> None:
    body = {"code": "ti-9901", "name": "Territoire de course", "phase": 2}
    answers = await race(
        RACERS, lambda _: client.post(f"{API}/territories", json=body, headers=WRITER)
    )
    assert count_statuses(answers) == {201: 1, 409: RACERS - 1}, [r.text for r in answers]
    assert (await client.get(f"{API}/territories/ti-9901")).status_code == 200


async def test_racing_territories_claiming_one_groupement_give_one_201_and_409s(
    client: httpx.AsyncClient,
) -> None:
    # (phase, siren) is unique: a groupement belongs to one territory per phase.
    siren = _unheld_groupements()[10]

    def create(i: int) -> Awaitable[httpx.Response]:
        body = {"code": f"ti-98{i:02d}", "name": f"Course {i}", "phase": 2, "members": [siren]}
        return client.post(f"{API}/territories", json=body, headers=WRITER)

    answers = await race(RACERS, create)
    assert count_statuses(answers) == {201: 1, 409: RACERS - 1}, [r.text for r in answers]
    covering = (await client.get(f"{API}/groupements/{siren}/territories")).json()["items"]
    assert [t["phase"] for t in covering].count(2) == 1


async def test_racing_writes_to_one_territory_never_give_a_5xx(client: httpx.AsyncClient) -> None:
    # Each write replaces the territory's referents, departments and regions (their primary
    # keys): racing writers with `If-Match: *` are serialised by the territory's row lock.
    created = await client.post(
        f"{API}/territories",
        json={"code": "ti-9902", "name": "Territoire disputé", "phase": 2},
        headers=WRITER,
    )
    assert created.status_code == 201, created.text
    sirens = _unheld_groupements()[20 : 20 + RACERS // 2]
    any_version = {**WRITER, "If-Match": "*"}
    governance = {
        "referents": [
            {"organisation_code": "bpifrance", "name": "Référente"},
            {"organisation_code": "banque-des-territoires", "name": "Référent"},
        ]
    }

    def write(i: int) -> Awaitable[httpx.Response]:
        if i % 2:
            return client.put(
                f"{API}/territories/ti-9902/governance", json=governance, headers=any_version
            )
        siren = sirens[i // 2]
        return client.put(f"{API}/territories/ti-9902/members/{siren}", headers=any_version)

    answers = await race(RACERS, write)
    assert count_statuses(answers) == {200: RACERS}, [r.text for r in answers]
    territory = (await client.get(f"{API}/territories/ti-9902")).json()
    assert sorted(m["siren"] for m in territory["members"]) == sorted(sirens)
    assert len(territory["governance"]["referents"]) == 2


async def test_racing_puts_of_one_member_keep_one_membership(client: httpx.AsyncClient) -> None:
    created = await client.post(
        f"{API}/territories",
        json={"code": "ti-9903", "name": "Territoire doublé", "phase": 2},
        headers=WRITER,
    )
    assert created.status_code == 201, created.text
    siren = _unheld_groupements()[40]
    answers = await race(
        RACERS,
        lambda _: client.put(
            f"{API}/territories/ti-9903/members/{siren}", headers={**WRITER, "If-Match": "*"}
        ),
    )
    statuses = count_statuses(answers)
    assert set(statuses) <= {200, 409} and statuses[200] >= 1, [r.text for r in answers]
    members = (await client.get(f"{API}/territories/ti-9903")).json()["members"]
    assert [m["siren"] for m in members] == [siren]
