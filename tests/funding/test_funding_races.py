"""Racing writers of the same natural key: one wins, the others get a 409 problem, never a 500.

Every unique key of funding's schema, and how a client can race on it:

| key (models.py / the initial migration)    | reached by                                     |
| ------------------------------------------ | ---------------------------------------------- |
| conventions.code (pk)                      | POST /conventions with one code                |
| envelopes.code (pk)                        | POST /envelopes with one code                  |
| tranches (envelope_code, year) unique      | POST /envelopes/{code}/tranches with one year  |
| allocations (operator_code, reference)     | POST /allocations, POST /allocations/bulk, and |
|                                            | PATCH /allocations/{id} with one reference     |
| envelope_themes (envelope_code, theme)     | POST /envelopes, PATCH /envelopes/{code}       |
| allocation_regions (allocation_id, region) | derived from each new allocation's territory   |
| disbursements, ledger_entries, tranches.id | surrogate keys the service draws (UUID, serial)|

On PostgreSQL the racers are concurrent transactions, and the losers fail at their insert after
the service's own check said the key was free: the kit turns that integrity error into a 409.
On SQLite writers queue (BEGIN IMMEDIATE) and the services' checks answer; same rule.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from typing import Any

import httpx
import pytest
from funding_cases import ADMIN, BPI, M, allocation_body, migrated_and_seeded, settings
from suite_testing import count_statuses, race

from funding.main import create_app
from tdi_kit import testing
from tdi_kit.app import ServiceApp
from tdi_kit.testing import asgi_client

RACERS = 8


@pytest.fixture(scope="module")
async def committing_app(registry_app: ServiceApp) -> AsyncIterator[ServiceApp]:
    async with testing.test_database("funding_races") as url:
        await migrated_and_seeded(url)
        app = create_app(
            settings(url, database_max_connections=4 * RACERS),
            registry_transport=httpx.ASGITransport(app=registry_app),
        )
        yield app
        await app.state.engine.dispose()


@pytest.fixture
async def client(committing_app: ServiceApp) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(committing_app) as c:
        yield c


def _envelope(code: str, **fields: Any) -> dict[str, Any]:
    return {
        "code": code,
        "operator_code": "bpifrance",
        "name": f"Enveloppe {code}",
        "kind": "grant",
        "themes": ["innovation"],
        "start_year": 2024,
        "end_year": 2026,
        "tranches": [{"year": 2024, "amount_cents": 100 * M}],
        **fields,
    }


async def _made(client: httpx.AsyncClient, code: str) -> None:
    r = await client.post("/api/v1/envelopes", json=_envelope(code), headers=ADMIN)
    assert r.status_code == 201, r.text


def _convention(_: int, client: httpx.AsyncClient) -> Awaitable[httpx.Response]:
    body = {"code": "course-convention", "operator_code": "bpifrance", "title": "Convention"}
    return client.post("/api/v1/conventions", json=body, headers=BPI)


def _envelope_code(_: int, client: httpx.AsyncClient) -> Awaitable[httpx.Response]:
    return client.post("/api/v1/envelopes", json=_envelope("course-envelope"), headers=BPI)


def _tranche_year(_: int, client: httpx.AsyncClient) -> Awaitable[httpx.Response]:
    return client.post(
        "/api/v1/envelopes/course-tranches/tranches",
        json={"year": 2025, "amount_cents": 10 * M},
        headers=BPI,
    )


def _allocation_reference(_: int, client: httpx.AsyncClient) -> Awaitable[httpx.Response]:
    body = allocation_body(
        envelope_code="course-allocations", amount_cents=M, reference="BPI-COURSE-1"
    )
    return client.post("/api/v1/allocations", json=body, headers=BPI)


CREATIONS = {
    "convention code": (_convention, None),
    "envelope code": (_envelope_code, None),
    "tranche year": (_tranche_year, "course-tranches"),
    "allocation reference": (_allocation_reference, "course-allocations"),
}


@pytest.mark.parametrize("key", list(CREATIONS))
async def test_racing_creations_of_one_key_give_one_201_and_409s(
    client: httpx.AsyncClient, key: str
) -> None:
    create, envelope = CREATIONS[key]
    if envelope:
        await _made(client, envelope)
    answers = await race(RACERS, lambda i: create(i, client))
    assert count_statuses(answers) == {201: 1, 409: RACERS - 1}, [r.text for r in answers]


async def test_racing_bulk_pushes_of_one_reference_store_it_once(
    client: httpx.AsyncClient,
) -> None:
    await _made(client, "course-bulk")
    rows = [allocation_body(envelope_code="course-bulk", amount_cents=M, reference="BPI-BULK-1")]
    answers = await race(
        RACERS, lambda _: client.post("/api/v1/allocations/bulk", json=rows, headers=BPI)
    )
    statuses = count_statuses(answers)
    # The losers of the race hear 409; a push that starts after the winner committed is
    # refused whole (422) with its row's own status, 409 too.
    assert statuses[201] == 1 and set(statuses) <= {201, 409, 422}, [r.text for r in answers]
    for r in answers:
        if r.status_code == 422:
            assert [row["status"] for row in r.json()["rows"]] == [409], r.text
    listed = await client.get("/api/v1/allocations", params={"reference": "BPI-BULK-1"})
    assert len(listed.json()["items"]) == 1


async def test_racing_renames_to_one_reference_give_one_200_and_409s(
    client: httpx.AsyncClient,
) -> None:
    await _made(client, "course-renames")
    proposals = []
    for i in range(RACERS):
        body = allocation_body(
            envelope_code="course-renames", amount_cents=M, reference=f"P-{i}", status="proposed"
        )
        r = await client.post("/api/v1/allocations", json=body, headers=BPI)
        assert r.status_code == 201, r.text
        proposals.append(r.json()["id"])
    answers = await race(
        RACERS,
        lambda i: client.patch(
            f"/api/v1/allocations/{proposals[i]}",
            json={"reference": "BPI-RENAMED"},
            headers={**BPI, "If-Match": "*"},
        ),
    )
    assert count_statuses(answers) == {200: 1, 409: RACERS - 1}, [r.text for r in answers]


async def test_racing_theme_changes_of_one_envelope_never_give_a_5xx(
    client: httpx.AsyncClient,
) -> None:
    await _made(client, "course-themes")
    themes = [["export", "numerique"], ["numerique", "foncier"], ["export", "foncier"]]
    answers = await race(
        RACERS,
        lambda i: client.patch(
            "/api/v1/envelopes/course-themes",
            json={"themes": themes[i % 3]},
            headers={**BPI, "If-Match": "*"},
        ),
    )
    statuses = count_statuses(answers)
    assert statuses[200] >= 1 and set(statuses) <= {200, 409}, [r.text for r in answers]
    final = (await client.get("/api/v1/envelopes/course-themes")).json()["themes"]
    assert sorted(final) in [sorted(t) for t in themes]
