"""The envelopes' and allocations' pages kept under the money's data version (`funding.pages`,
migration 0010): never stale after a committed change, whoever commits it and however; never
one caller's view sent to another. These tests commit for real, on a database of their own, as
production does (PostgreSQL changes the version at commit, not at each statement).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from funding_cases import (
    ADMIN,
    BDT,
    BPI,
    M,
    allocate,
    make_envelope,
    migrated_and_seeded,
    settings,
)
from sqlalchemy import text

from funding.main import create_app
from tdi_kit import testing
from tdi_kit.app import ServiceApp
from tdi_kit.conditional import etag_for
from tdi_kit.db import create_engine
from tdi_kit.testing import asgi_client, bearer

NO_ORG = bearer("funding:write", sub="someone")
VERSION = text("SELECT version FROM data_versions WHERE name = 'funding'")
PAGES = ("/api/v1/envelopes?limit=100", "/api/v1/allocations?limit=100")


class Recording:
    """The app's row reader, recording the statements it runs."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.statements: list[str] = []

    async def one(self, stmt: Any, **params: Any) -> Any:
        self.statements.append(str(stmt))
        return await self.inner.one(stmt, **params)

    async def all(self, stmt: Any, **params: Any) -> Any:
        self.statements.append(str(stmt))
        return await self.inner.all(stmt, **params)

    async def close(self) -> None:
        await self.inner.close()


@pytest.fixture
async def committing(registry_app: ServiceApp) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """Funding on its own database, each request a transaction that commits; and its URL."""
    async with testing.test_database("funding_kept") as url:
        await migrated_and_seeded(url)
        app = create_app(settings(url), registry_transport=httpx.ASGITransport(app=registry_app))
        async with asgi_client(app) as client:
            await make_envelope(client, tranches={2024: 100 * M})
            yield client, url
        await app.state.engine.dispose()


async def _by_hand(url: str, *statements: str) -> None:
    """`statements` in one transaction of a connection of its own, committed: a change no
    process's memory can hear of, only the database can say."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def test_a_page_asked_again_is_the_version_alone_and_answers_if_none_match(
    committing: tuple[httpx.AsyncClient, str],
) -> None:
    client, _url = committing
    await allocate(client, amount_cents=M)
    app = client._transport.app  # type: ignore[attr-defined]
    app.state.rows = recording = Recording(app.state.rows)
    plain = {"accept-encoding": "identity"}
    for path in (*PAGES, "/api/v1/allocations?limit=1&territory=ti-2708"):
        first = await client.get(path, headers=plain)
        recording.statements.clear()
        again = await client.get(path, headers=plain)
        statements = recording.statements
        assert again.status_code == 200 and again.content == first.content, path
        assert again.headers["etag"] == first.headers["etag"] == etag_for(first.content)
        assert len(statements) == 1 and "data_versions" in statements[0], (path, statements)
        assert again.headers.get("link") == first.headers.get("link")
        unchanged = await client.get(
            path, headers={**plain, "If-None-Match": first.headers["etag"]}
        )
        assert unchanged.status_code == 304 and unchanged.content == b""
        assert unchanged.headers["etag"] == first.headers["etag"]
        assert unchanged.headers.get("link") == first.headers.get("link")
    # A CSV export is never kept: it streams every row as it stands.
    csv = await client.get("/api/v1/allocations", params={"format": "csv"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")


async def test_the_pages_follow_changes_committed_by_another_process(
    committing: tuple[httpx.AsyncClient, str],
) -> None:
    client, url = committing
    await allocate(client, amount_cents=M)
    before = [(await client.get(p)).json() for p in PAGES]
    assert [(await client.get(p)).json() for p in PAGES] == before  # kept
    await _by_hand(
        url,
        "UPDATE envelopes SET name = 'Renamed by hand' WHERE code = 'test-envelope'",
        "UPDATE allocations SET title = 'Retitled by hand' WHERE reference IS NULL",
    )
    envelopes, allocations = [(await client.get(p)).json() for p in PAGES]
    assert "Renamed by hand" in {e["name"] for e in envelopes["items"]}
    assert "Retitled by hand" in {a["title"] for a in allocations["items"]}
    # Through the API: a new commitment shows on both pages (the envelope's committed sum).
    await allocate(client, amount_cents=2 * M, reference="second")
    envelopes, allocations = [(await client.get(p)).json() for p in PAGES]
    mine = next(e for e in envelopes["items"] if e["code"] == "test-envelope")
    assert mine["totals"]["committed_cents"] == 3 * M
    assert allocations["total"] == before[1]["total"] + 1


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE conventions SET title = title || ' '",
        "UPDATE envelopes SET description = description",
        "UPDATE envelope_themes SET theme = theme",
        "UPDATE tranches SET note = 'n'",
        "UPDATE allocations SET title = title",
        "UPDATE allocation_regions SET region_code = region_code",
        "UPDATE balance_sums SET amount_cents = amount_cents",
        "UPDATE reported_figures SET caveat = 'c'",
        "INSERT INTO organisations (code, name, kind, checked_at) "
        "VALUES ('by-hand', 'By hand', 'operator', CURRENT_TIMESTAMP)",
    ],
)
async def test_each_counted_table_changes_the_version(
    committing: tuple[httpx.AsyncClient, str], change: str
) -> None:
    """(The ledger refuses any change but an insertion, and disbursements are inserted with
    ledger entries: the API's writes above and in the other tests cover them.)"""
    client, url = committing
    await allocate(client, amount_cents=M)
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            before = await connection.scalar(VERSION)
            await connection.commit()
        async with engine.begin() as connection:
            assert (await connection.execute(text(change))).rowcount > 0, change
        async with engine.connect() as connection:
            after = await connection.scalar(VERSION)
            await connection.commit()
        assert after != before, change
        # The events and idempotency records are not counted: no page reads them.
        async with engine.begin() as connection:
            await connection.execute(text("DELETE FROM idempotency_keys"))
            assert (await connection.execute(text("UPDATE events SET payload = payload"))).rowcount
        async with engine.connect() as connection:
            assert await connection.scalar(VERSION) == after
            await connection.commit()
    finally:
        await engine.dispose()


async def test_on_postgresql_the_version_changes_at_commit_once(
    committing: tuple[httpx.AsyncClient, str],
) -> None:
    client, url = committing
    if "postgresql" not in url:
        pytest.skip("SQLite changes it at each row, its one writer at a time")
    await allocate(client, amount_cents=M)
    engine = create_engine(url)
    try:
        async with engine.connect() as reader:
            before = await reader.scalar(VERSION)
            await reader.commit()
            sequence = text("SELECT last_value FROM data_versions_seq")
            drawn = await reader.scalar(sequence)
            await reader.commit()
            async with engine.begin() as writer:
                for _ in range(3):
                    await writer.execute(text("UPDATE tranches SET note = note || 'x'"))
                    await writer.execute(text("UPDATE allocations SET title = title"))
                # Not yet: the counter's row is changed last, at commit, after every other lock.
                assert await writer.scalar(VERSION) == before
            after = await reader.scalar(VERSION)
            assert after != before
            assert await reader.scalar(sequence) == drawn + 1  # once for the whole transaction
            await reader.commit()
    finally:
        await engine.dispose()


async def test_a_proposal_is_only_in_its_operators_and_admins_kept_pages(
    committing: tuple[httpx.AsyncClient, str],
) -> None:
    client, _url = committing
    await allocate(client, amount_cents=M)
    proposed = await allocate(
        client, headers=BPI, amount_cents=M, status="proposed", reference="proposal"
    )
    callers = {"anonymous": {}, "bdt": BDT, "no org": NO_ORG, "bpi": BPI, "admin": ADMIN}
    expected = {"anonymous": False, "bdt": False, "no org": False, "bpi": True, "admin": True}
    path = "/api/v1/allocations?limit=100"
    # Interleaved, twice over, concurrently: every page is the caller's own, kept or computed.
    for _round in range(2):
        answers = await asyncio.gather(
            *(client.get(path, headers=h) for h in [*callers.values(), *callers.values()])
        )
        for name, answer in zip([*callers, *callers], answers, strict=True):
            ids = {a["id"] for a in answer.json()["items"]}
            assert (proposed["id"] in ids) is expected[name], name
    # Each answer says it depends on the token, kept or not, so that a cache keeps them apart.
    for answer in (
        *answers,
        await client.get(f"/api/v1/allocations/{proposed['id']}", headers=BPI),
        await client.get(f"/api/v1/allocations/{proposed['id']}/disbursements", headers=BPI),
    ):
        assert "Authorization" in answer.headers["vary"], answer.request.url
    # Its payments' page too: the operator's kept page never answers another caller.
    payments = f"/api/v1/allocations/{proposed['id']}/disbursements"
    for _round in range(2):
        for name, headers in callers.items():
            status = (await client.get(payments, headers=headers)).status_code
            assert status == (200 if expected[name] else 404), name
    public = [(await client.get(path, headers=callers[n])).content for n in ("anonymous", "bdt")]
    assert public[0] == public[1]
    # Committed, it is everyone's.
    path_of = f"/api/v1/allocations/{proposed['id']}"
    etag = (await client.get(path_of, headers=BPI)).headers["etag"]
    r = await client.post(f"{path_of}/commit", headers={**BPI, "If-Match": etag})
    assert r.status_code == 200, r.text
    for name, headers in callers.items():
        ids = {a["id"] for a in (await client.get(path, headers=headers)).json()["items"]}
        assert proposed["id"] in ids, name
