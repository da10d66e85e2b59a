"""Every write of the funding service writes its events in the same transaction (issue 14).

Each test drives the public API, then reads the outbox (`events`) through the test's own
transaction: the money moves are named after what happened, a proposal's events are its
operator's and its examiner's only, and a refused write leaves none.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from funding_cases import ADMIN, ANCT, BDT, BPI, M, allocate, allocation_body, make_envelope
from sqlalchemy import select
from suite_testing import Services

from funding.models import outbox as events


async def _events(services: Services, seen: int = 0) -> list[dict[str, Any]]:
    async with services.funding.state.sessionmaker() as session:
        rows = (await session.execute(select(events).order_by(events.c.seq))).all()
    return [
        r._asdict()
        | {
            "payload": json.loads(r.payload),
            "audience": None if r.audience is None else json.loads(r.audience),
        }
        for r in rows
    ][seen:]


async def test_an_envelope_an_allocation_its_money_and_its_end_each_write_an_event(
    client: httpx.AsyncClient, rolled_back_services: Services
) -> None:
    seen = len(await _events(rolled_back_services))
    envelope = await make_envelope(client, tranches={2024: 10 * M})
    created = await allocate(client, amount_cents=6 * M, headers=BPI)
    url = f"/api/v1/allocations/{created['id']}"
    paid = await client.post(f"{url}/disbursements", json={"amount_cents": 2 * M}, headers=BPI)
    assert paid.status_code == 201, paid.text
    etag = (await client.get(url)).headers["etag"]
    cancelled = await client.post(
        f"{url}/cancel", json={"reason": "abandoned"}, headers={**BPI, "If-Match": etag}
    )
    assert cancelled.status_code == 200, cancelled.text
    new = await _events(rolled_back_services, seen)
    assert [(e["type"], e["subject_id"]) for e in new] == [
        ("envelope.created", "test-envelope"),
        ("allocation.committed", created["id"]),
        ("disbursement.recorded", paid.json()["id"]),
        ("allocation.cancelled", created["id"]),
    ]
    made, committed, disbursed, ended = new
    assert made["payload"]["record"] == envelope and made["actor_org"] is None  # an admin
    assert committed["actor_org"] == "bpifrance" and committed["audience"] is None
    assert committed["version"] == created["version"]
    record = committed["payload"]["record"]
    assert {k: record[k] for k in ("amount_cents", "status", "territory_code")} == {
        "amount_cents": 6 * M,
        "status": "committed",
        "territory_code": "ti-2708",
    }
    assert disbursed["payload"]["record"]["amount_cents"] == 2 * M
    assert disbursed["payload"]["allocation"]["disbursed_cents"] == 2 * M
    assert ended["version"] == cancelled.json()["version"]
    assert ended["payload"]["record"]["released_cents"] == 4 * M


async def test_a_proposal_is_private_until_committed(
    client: httpx.AsyncClient, rolled_back_services: Services
) -> None:
    await make_envelope(client, rules={"examined_by": "anct"})
    seen = len(await _events(rolled_back_services))
    proposal = await allocate(client, status="proposed", headers=BPI)
    url = f"/api/v1/allocations/{proposal['id']}"
    etag = (await client.get(url, headers=BPI)).headers["etag"]
    changed = await client.patch(
        url, json={"title": "Nouveau titre"}, headers={**BPI, "If-Match": etag}
    )
    assert changed.status_code == 200, changed.text
    committed = await client.post(
        f"{url}/commit", headers={**BPI, "If-Match": changed.headers["etag"]}
    )
    assert committed.status_code == 200, committed.text
    new = await _events(rolled_back_services, seen)
    assert [(e["type"], e["audience"]) for e in new] == [
        ("allocation.proposed", ["anct", "bpifrance"]),
        ("allocation.changed", ["anct", "bpifrance"]),
        ("allocation.committed", None),
    ]
    assert new[1]["payload"]["changed"] == ["title"]


async def test_tranches_opened_and_adjusted_and_a_refused_write_leaves_nothing(
    client: httpx.AsyncClient, rolled_back_services: Services
) -> None:
    await make_envelope(client, tranches={2024: 10 * M, 2026: 1 * M})
    seen = len(await _events(rolled_back_services))
    opened = await client.post(
        "/api/v1/envelopes/test-envelope/tranches",
        json={"year": 2025, "amount_cents": 5 * M},
        headers=BPI,
    )
    assert opened.status_code == 201, opened.text
    adjusted = await client.post(
        "/api/v1/envelopes/test-envelope/tranches/2024/adjustments",
        json={"delta_cents": 2 * M, "reason": "top-up"},
        headers=BPI,
    )
    assert adjusted.status_code == 200, adjusted.text
    refused = await client.post(
        "/api/v1/envelopes/test-envelope/tranches/2024/adjustments",
        json={"delta_cents": -50 * M, "reason": "cut"},
        headers=ADMIN,
    )
    assert refused.status_code == 409
    new = await _events(rolled_back_services, seen)
    assert [(e["type"], e["subject_kind"], e["subject_id"]) for e in new] == [
        ("tranche.opened", "tranche", "test-envelope/2025"),
        ("tranche.adjusted", "tranche", "test-envelope/2024"),
    ]
    assert new[0]["payload"]["record"] == opened.json()
    assert new[1]["payload"]["record"] == adjusted.json()


async def test_a_bulk_push_writes_one_event_a_row_in_its_order(
    client: httpx.AsyncClient, rolled_back_services: Services
) -> None:
    await make_envelope(client, tranches={2024: 100 * M})
    seen = len(await _events(rolled_back_services))
    rows = [allocation_body(amount_cents=M, reference=f"R-{i}") for i in range(3)]
    pushed = await client.post("/api/v1/allocations/bulk", json=rows, headers=BPI)
    assert pushed.status_code == 201, pushed.text
    payments = [
        {"allocation_reference": "R-0", "amount_cents": M // 4},
        {"allocation_reference": "R-0", "amount_cents": M // 4},
    ]
    paid = await client.post("/api/v1/disbursements/bulk", json=payments, headers=BPI)
    assert paid.status_code == 201, paid.text
    new = await _events(rolled_back_services, seen)
    assert [(e["type"], e["subject_id"]) for e in new[:3]] == [
        ("allocation.committed", str(i)) for i in pushed.json()["ids"]
    ]
    assert [e["payload"]["record"]["reference"] for e in new[:3]] == ["R-0", "R-1", "R-2"]
    # Each payment shows the allocation as it left it, though both paid the same one.
    assert [e["payload"]["allocation"]["disbursed_cents"] for e in new[3:]] == [M // 4, M // 2]


async def test_the_feed_shows_a_proposal_only_to_whom_sees_the_record(
    client: httpx.AsyncClient, rolled_back_services: Services
) -> None:
    await make_envelope(client, rules={"examined_by": "anct"})
    proposal = await allocate(client, status="proposed", headers=BPI)

    async def seen_by(headers: dict[str, str]) -> list[str]:
        page = await client.get("/api/v1/events", params={"limit": 500}, headers=headers)
        assert page.status_code == 200, page.text
        body = page.json()
        while body["items"]:
            items = body["items"]
            page = await client.get(
                "/api/v1/events",
                params={"limit": 500, "cursor": body["next_cursor"]},
                headers=headers,
            )
            body = page.json()
            if not body["items"]:
                return [e["type"] for e in items if e["subject"]["id"] == proposal["id"]]
        return []

    assert await seen_by(BPI) == ["allocation.proposed"]  # its operator
    assert await seen_by(ANCT) == ["allocation.proposed"]  # its envelope's examiner
    assert await seen_by(ADMIN) == ["allocation.proposed"]
    assert await seen_by(BDT) == []  # another operator
    assert await seen_by({}) == []  # anyone
