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
                database_pool_size=8,
                database_connect_timeout_seconds=60,
                database_statement_timeout_seconds=60,
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
