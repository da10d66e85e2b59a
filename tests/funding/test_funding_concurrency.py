"""Concurrent writers: the rows that hold the totals are locked (PostgreSQL) or the writers queue
(SQLite), so exactly the commitments and disbursements that fit go through. These tests commit
for real, on a database of their own. The pool (8 + 8 overflow) keeps 16 transactions in flight
at once, well within PostgreSQL's default of 100 connections shared with the other test runs."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest
from funding_cases import ADMIN, BPI, M, allocation_body, migrated_and_seeded, settings

from funding.main import create_app
from tdi_kit import testing
from tdi_kit.app import ServiceApp
from tdi_kit.testing import asgi_client


@pytest.fixture
async def committing_client(registry_app: ServiceApp) -> AsyncIterator[httpx.AsyncClient]:
    async with testing.test_database("funding_concurrency") as url:
        await migrated_and_seeded(url)
        # Fifty writers queue on one tranche's lock behind 16 connections: on a machine shared
        # with other test runs that queue can outlast the production timeouts (which then give
        # the later writers a 503, as they should). The money is what these tests check, so
        # they wait as long as the queue takes; the timeouts have tests of their own
        # (tests/kit/test_kit_database_away.py).
        app = create_app(
            settings(
                url,
                database_max_connections=32,
                database_connect_timeout_seconds=60,
                database_statement_timeout_seconds=60,
                request_timeout_seconds=120,
            ),
            registry_transport=httpx.ASGITransport(app=registry_app),
        )
        async with asgi_client(app) as client:
            r = await client.post(
                "/api/v1/envelopes",
                json={
                    "code": "hundred-millions",
                    "operator_code": "bpifrance",
                    "name": "100 M€ in one tranche",
                    "kind": "grant",
                    "start_year": 2024,
                    "end_year": 2024,
                    "tranches": [{"year": 2024, "amount_cents": 100 * M}],
                },
                headers=ADMIN,
            )
            assert r.status_code == 201, r.text
            yield client
        await app.state.engine.dispose()


async def _tranche(client: httpx.AsyncClient) -> dict:
    return (await client.get("/api/v1/envelopes/hundred-millions/tranches/2024")).json()


@pytest.mark.postgres_only
async def test_a_tranche_is_never_over_committed_under_concurrency(
    committing_client: httpx.AsyncClient,
) -> None:
    body = allocation_body(envelope_code="hundred-millions", amount_cents=3 * M)
    answers = await asyncio.gather(
        *(committing_client.post("/api/v1/allocations", json=body, headers=BPI) for _ in range(50))
    )
    assert Counter(r.status_code for r in answers) == {201: 33, 409: 17}
    tranche = await _tranche(committing_client)
    assert tranche["committed_cents"] == 99 * M and tranche["available_cents"] == M
    balances = await committing_client.get(
        "/api/v1/balances", params={"by": "tranche", "envelope": "hundred-millions"}
    )
    assert balances.json()["items"][0]["committed_cents"] == 99 * M


@pytest.mark.postgres_only
async def test_an_allocation_is_never_over_disbursed_under_concurrency(
    committing_client: httpx.AsyncClient,
) -> None:
    body = allocation_body(envelope_code="hundred-millions", amount_cents=100 * M)
    allocation = (
        await committing_client.post("/api/v1/allocations", json=body, headers=BPI)
    ).json()
    url = f"/api/v1/allocations/{allocation['id']}/disbursements"
    answers = await asyncio.gather(
        *(committing_client.post(url, json={"amount_cents": 3 * M}, headers=BPI) for _ in range(50))
    )
    assert Counter(r.status_code for r in answers) == {201: 33, 409: 17}
    after = (await committing_client.get(f"/api/v1/allocations/{allocation['id']}")).json()
    assert after["disbursed_cents"] == 99 * M and after["undisbursed_cents"] == M
    assert (await _tranche(committing_client))["disbursed_cents"] == 99 * M


@pytest.mark.postgres_only
async def test_commitments_and_cancellations_interleave_without_losing_money(
    committing_client: httpx.AsyncClient,
) -> None:
    body = allocation_body(envelope_code="hundred-millions", amount_cents=10 * M)
    first = [
        (await committing_client.post("/api/v1/allocations", json=body, headers=BPI)).json()
        for _ in range(5)
    ]

    async def cancel(allocation: dict) -> httpx.Response:
        return await committing_client.post(
            f"/api/v1/allocations/{allocation['id']}/cancel",
            json={"reason": "abandoned"},
            headers={**BPI, "If-Match": "*"},
        )

    more = allocation_body(envelope_code="hundred-millions", amount_cents=5 * M)
    answers = await asyncio.gather(
        *(cancel(a) for a in first),
        *(committing_client.post("/api/v1/allocations", json=more, headers=BPI) for _ in range(30)),
    )
    assert all(r.status_code == 200 for r in answers[:5])
    committed = sum(1 for r in answers[5:] if r.status_code == 201)
    assert committed <= 20 and all(r.status_code in (201, 409) for r in answers[5:])
    tranche = await _tranche(committing_client)
    assert tranche["committed_cents"] == committed * 5 * M


async def test_writers_queue_and_never_over_commit_on_either_database(
    committing_client: httpx.AsyncClient,
) -> None:
    body = allocation_body(envelope_code="hundred-millions", amount_cents=15 * M)
    answers = await asyncio.gather(
        *(committing_client.post("/api/v1/allocations", json=body, headers=BPI) for _ in range(10))
    )
    assert Counter(r.status_code for r in answers) == {201: 6, 409: 4}
    assert (await _tranche(committing_client))["available_cents"] == 10 * M


async def _race_patches(
    client: httpx.AsyncClient, url: str, changes: list[dict[str, str]]
) -> tuple[Counter[int], dict]:
    """PATCHes sent at once with the ETag they all read: only the first may pass, the others
    must see it and get 412."""
    etag = (await client.get(url)).headers["etag"]
    answers = await asyncio.gather(
        *(client.patch(url, json=change, headers={**BPI, "If-Match": etag}) for change in changes)
    )
    return Counter(r.status_code for r in answers), (await client.get(url)).json()


@pytest.mark.postgres_only
async def test_two_envelope_updates_with_one_etag_never_both_succeed(
    committing_client: httpx.AsyncClient,
) -> None:
    # Without the row locked before If-Match is compared, both writers read version 1, both
    # match, and the second silently overwrites the first (a lost update).
    url = "/api/v1/envelopes/hundred-millions"
    before = (await committing_client.get(url)).json()["version"]
    statuses, after = await _race_patches(
        committing_client,
        url,
        [{"name": "Renamed by the first"}, {"name": "Renamed by the second"}],
    )
    assert statuses == {200: 1, 412: 1}
    assert after["version"] == before + 1


@pytest.mark.postgres_only
async def test_convention_updates_with_one_etag_never_both_succeed(
    committing_client: httpx.AsyncClient,
) -> None:
    created = await committing_client.post(
        "/api/v1/conventions",
        json={"code": "race-convention", "operator_code": "bpifrance", "title": "Raced"},
        headers=ADMIN,
    )
    assert created.status_code == 201, created.text
    # A convention's update is short: eight writers, so that they overlap on any machine.
    statuses, after = await _race_patches(
        committing_client,
        "/api/v1/conventions/race-convention",
        [{"title": f"Title of writer {n}"} for n in range(8)],
    )
    assert statuses == {200: 1, 412: 7}
    assert after["version"] == created.json()["version"] + 1


@pytest.mark.postgres_only
async def test_the_dashboards_sums_lose_no_commitment_under_concurrency(
    committing_client: httpx.AsyncClient,
) -> None:
    body = allocation_body(envelope_code="hundred-millions", amount_cents=3 * M)
    answers = await asyncio.gather(
        *(committing_client.post("/api/v1/allocations", json=body, headers=BPI) for _ in range(50))
    )
    assert Counter(r.status_code for r in answers) == {201: 33, 409: 17}
    kept = (
        await committing_client.get("/api/v1/balances/breakdowns", params={"operator": "bpifrance"})
    ).json()
    line = next(i for i in kept["by_envelope"] if i["envelope_code"] == "hundred-millions")
    assert (line["amount_cents"], line["committed_cents"]) == (100 * M, 99 * M)
    grouped = await committing_client.get(
        "/api/v1/balances", params={"by": "envelope", "operator": "bpifrance"}
    )
    assert kept["totals"] == grouped.json()["totals"]
