"""Funding's lists: each page answers the total the caller may see, in one statement whatever
its size, read through the driver (the list of allocations) or a session (the others)."""

from __future__ import annotations

from typing import Any

import httpx
from funding_cases import ADMIN, BDT, BPI, M, allocate, allocation_body, make_envelope
from sqlalchemy import event
from suite_testing import all_pages

from tdi_kit.app import ServiceApp


async def test_the_allocations_total_counts_only_what_the_caller_may_see(
    client: httpx.AsyncClient,
) -> None:
    await make_envelope(client)
    for i in range(3):
        await allocate(client, amount_cents=M, reference=f"C-{i}")
    for i in range(2):
        await allocate(client, headers=BPI, status="proposed", reference=f"P-{i}")
    # Never-committed allocations: only their operator (BPI operates the envelope) and admins.
    for headers, seen in [(None, 3), (BDT, 3), (BPI, 5), (ADMIN, 5)]:
        pages = await all_pages(client, "/api/v1/allocations", limit=2, headers=headers)
        assert {p["total"] for p in pages} == {seen}
        ids = [a["id"] for p in pages for a in p["items"]]
        assert len(ids) == len(set(ids)) == seen
    r = await client.get("/api/v1/allocations", params={"status": "proposed"}, headers=BPI)
    assert r.json()["total"] == 2 and len(r.json()["items"]) == 2
    r = await client.get("/api/v1/allocations", params={"status": "proposed"})
    assert r.json() == {"items": [], "next_cursor": None, "total": 0}


async def test_an_allocation_listed_reads_as_the_same_allocation_read_by_id(
    client: httpx.AsyncClient,
) -> None:
    await make_envelope(client)
    created = await allocate(client, amount_cents=2 * M, territory_code="2708")
    listed = (await client.get("/api/v1/allocations")).json()["items"]
    assert listed == [(await client.get(f"/api/v1/allocations/{created['id']}")).json()]
    assert listed[0]["region_codes"] == ["27", "84"]


async def test_every_funding_list_answers_a_total(client: httpx.AsyncClient) -> None:
    await make_envelope(client)
    created = await allocate(client, amount_cents=M)
    paths = [
        "/api/v1/conventions",
        "/api/v1/envelopes",
        "/api/v1/allocations",
        "/api/v1/ledger",
        "/api/v1/reported-figures",
        f"/api/v1/allocations/{created['id']}/disbursements",
    ]
    for path in paths:
        pages = await all_pages(client, path, limit=3, headers=ADMIN)  # the ledger needs a token
        totals = {p["total"] for p in pages}
        assert len(totals) == 1, (path, totals)
        assert sum(len(p["items"]) for p in pages) == totals.pop(), path


async def test_an_allocations_page_is_one_statement_whatever_its_size(
    client: httpx.AsyncClient, funding_app: ServiceApp
) -> None:
    await make_envelope(client, tranches={2024: 1000 * M})
    rows = [allocation_body(amount_cents=M, reference=f"R-{i}") for i in range(120)]
    r = await client.post("/api/v1/allocations/bulk", json=rows, headers=BPI)
    assert r.status_code == 201, r.text

    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    engine = funding_app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    counts = {}
    try:
        for size in (10, 100, 500):
            statements.clear()
            r = await client.get("/api/v1/allocations", params={"limit": size, "year": 2024})
            assert r.status_code == 200 and r.json()["total"] == 120
            assert len(r.json()["items"]) == min(size, 120)
            selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
            assert len(selects) == 1, statements
            counts[size] = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(set(counts.values())) == 1, counts


async def test_allocations_filter_on_typed_values(
    client: httpx.AsyncClient, known_action: Any
) -> None:
    await make_envelope(client)
    linked = await allocate(client, amount_cents=M, action_id=str(known_action))
    await allocate(client, amount_cents=M)
    for query, expected in [
        ({"action": str(known_action)}, [linked["id"]]),
        ({"action": str(known_action), "year": 2024, "is_demo": "false"}, [linked["id"]]),
        ({"region": "27", "status": "committed"}, None),
    ]:
        page = (await client.get("/api/v1/allocations", params=query)).json()
        assert page["total"] == len(page["items"])
        if expected is not None:
            assert [a["id"] for a in page["items"]] == expected
