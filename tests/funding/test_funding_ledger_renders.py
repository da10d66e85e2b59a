"""The ledger is served from its rows (`funding.ledger.queries.LEDGER`), on a statement kept per
shape of filters, not validated into `LedgerEntryRead` and dumped: the bytes must stay those of
the model's JSON for every movement (the seed's, ones written through the API, generated ones
with unusual values) as every caller sees them: an operator its own and its examined envelopes'
movements, an admin all of them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import orjson
import pytest
from funding_cases import ADMIN, ANCT, BDT, BPI, M, allocate, make_envelope
from sqlalchemy import insert, select

from funding.ledger import queries
from funding.models import Envelope, LedgerEntry
from funding.schemas import LedgerEntryRead
from tdi_kit.app import ServiceApp
from tdi_kit.db import create_engine, create_sessionmaker
from tdi_kit.pagination import ListParams, page_json
from tdi_kit.readcolumns import ReadColumns
from tdi_kit.rowreader import DriverRowReader
from tdi_kit.testing import bearer

CALLERS: dict[str, tuple[dict[str, str], str | None]] = {
    # name: (headers, organisation; None: an admin)
    "admin": (ADMIN, None),
    "bpifrance": (BPI, "bpifrance"),
    "banque-des-territoires": (BDT, "banque-des-territoires"),
    "anct": (ANCT, "anct"),
}
HOSTILE = 'Ligne "A" \\ é\u2028\x01\t=SUM(1)'
# What the API takes (no control character): quotes, a backslash, accents, a formula.
TYPED = 'Retiré "A" \\ =SUM(1) \u00a0€'


async def _generate(funding_app: ServiceApp) -> None:
    """Copies of the movements stored so far with what a write never leaves: timestamps with
    microseconds, hostile notes, no actor's organisation, other operators and days."""
    async with funding_app.state.sessionmaker() as session:
        stored = (await session.scalars(select(LedgerEntry))).all()
        moment = dt.datetime(2025, 3, 4, 5, 6, 7, 891011, tzinfo=dt.UTC)
        rows = []
        for i, template in enumerate(stored * 2):
            values = {c.key: getattr(template, c.key) for c in LedgerEntry.__table__.columns}
            del values["id"]
            values |= {
                "at": moment + dt.timedelta(seconds=i, microseconds=i),
                "note": HOSTILE if i % 3 == 1 else template.note,
                "actor_org": None if i % 4 == 2 else template.actor_org,
                "request_id": None if i % 5 == 3 else f"req-{i}",
                "effective_on": dt.date(2025, 1, i % 28 + 1) if i % 2 else None,
                "is_demo": bool(i % 2),
            }
            rows.append(values)
        await session.execute(insert(LedgerEntry), rows)
        await session.commit()


async def _expected(funding_app: ServiceApp) -> dict[int, tuple[str, str, str | None]]:
    """Each movement as `LedgerEntryRead` renders it, with its operator and its examiner."""
    async with funding_app.state.sessionmaker() as session:
        examiners = dict((await session.execute(select(Envelope.code, Envelope.examined_by))).all())
        found = (await session.scalars(select(LedgerEntry))).all()
        return {
            e.id: (
                LedgerEntryRead.model_validate(
                    {name: getattr(e, name) for name in LedgerEntryRead.model_fields}
                ).model_dump_json(),
                e.operator_code,
                examiners[e.envelope_code],
            )
            for e in found
        }


async def test_every_movement_is_served_as_its_model_renders_it_to_every_caller(
    client: httpx.AsyncClient, funding_app: ServiceApp
) -> None:
    # A commitment, a disbursement, and a release whose note is the cancellation's reason.
    await make_envelope(client)
    for amount, paid in [(3 * M, 2 * M), (M, 0)]:
        url = f"/api/v1/allocations/{(await allocate(client, amount_cents=amount))['id']}"
        if paid:
            body = {"amount_cents": paid}
            r = await client.post(f"{url}/disbursements", json=body, headers=BPI)
            assert r.status_code == 201, r.text
            continue
        moved = {**BPI, "If-Match": (await client.get(url, headers=BPI)).headers["etag"]}
        r = await client.post(f"{url}/cancel", json={"reason": TYPED}, headers=moved)
        assert r.status_code == 200, r.text
    await _generate(funding_app)
    expected = await _expected(funding_app)
    assert len(expected) > 20

    for name, (headers, org) in CALLERS.items():
        visible = {
            i
            for i, (_, operator, examiner) in expected.items()
            if org in (None, operator, examiner)
        }
        for sort in ("id", "-at"):
            served: list[int] = []
            moments: list[str] = []
            params: dict[str, Any] = {"limit": 7, "sort": sort}
            while True:
                r = await client.get("/api/v1/ledger", params=params, headers=headers)
                assert r.status_code == 200, (name, r.text)
                page = orjson.loads(r.content)
                ids = [e["id"] for e in page["items"]]
                want = page_json([expected[i][0] for i in ids], page["next_cursor"], page["total"])
                assert r.content == want.encode(), (name, sort)
                assert page["total"] == len(visible), (name, sort)
                served += ids
                moments += [e["at"] for e in page["items"]]
                if not page["next_cursor"]:
                    break
                params["cursor"] = page["next_cursor"]
            assert sorted(served) == sorted(visible), (name, sort)
            if sort == "id":
                assert served == sorted(served), name
            else:
                at = [dt.datetime.fromisoformat(m) for m in moments]
                assert at == sorted(at, reverse=True), name

    r = await client.get("/api/v1/ledger")
    assert r.status_code == 401
    r = await client.get("/api/v1/ledger", headers=bearer("funding:write"))
    assert r.status_code == 403


async def test_the_ledger_validates_no_model_and_keeps_one_statement_per_shape(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_envelope(client)
    await allocate(client, amount_cents=M)

    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("a movement was validated into LedgerEntryRead")

    monkeypatch.setattr(ReadColumns, "read_all", refuse)
    monkeypatch.setattr(LedgerEntryRead, "model_validate", refuse)
    for headers, year in [(ADMIN, 2024), (ADMIN, 2025), (BPI, 2024), (BDT, 2024)]:
        for form in ("json", "csv"):
            r = await client.get(
                "/api/v1/ledger",
                params={"year": year, "kind": "commitment", "format": form},
                headers=headers,
            )
            assert r.status_code == 200, r.text
    # An admin's statement, and an operator's (whose movements are seen is a value bound in).
    one, values = queries.KEPT({"visible_to": None, "year": 2024, "kind": "commitment"})
    assert values == {"year": 2024, "kind": "commitment"}
    assert queries.KEPT({"visible_to": None, "year": 2025, "kind": "commitment"})[0] is one
    theirs, values = queries.KEPT({"visible_to": "bpifrance", "year": 2024, "kind": "commitment"})
    assert values["visible_to"] == "bpifrance" and theirs is not one
    assert queries.KEPT({"visible_to": "anct", "year": 2025, "kind": "commitment"})[0] is theirs


async def test_a_page_read_through_the_driver_is_typed_as_in_a_session(funding_url: str) -> None:
    """On the committed seed, through the driver itself (tests otherwise read in their
    transaction): the same rows, the same types (the kit's UUIDs are the standard library's,
    which orjson writes), the sort keys read from the item's own columns."""
    engine = create_engine(funding_url)
    reader = DriverRowReader(engine, pool_size=2)
    params = ListParams(limit=5, cursor=None, sort="-at", format=None)
    try:
        stmt, values = queries.KEPT({"visible_to": None, "is_demo": False})
        page = await queries.LEDGER.page(reader, stmt, params=params, values=values)
        assert page.rows and page.next_cursor
        sort = queries.LEDGER.sort(params)
        async with create_sessionmaker(engine)() as session:
            expected = [
                tuple(r)
                for r in (
                    await session.execute(
                        stmt.order_by(*sort.order_by()).limit(5), {"is_demo": False}
                    )
                ).all()
            ]
        assert page.rows == expected
        for got, want in zip(page.rows, expected, strict=True):
            assert [type(v) for v in got] == [type(v) for v in want]
        item = queries.LEDGER.item(page.rows[0])
        assert orjson.loads(orjson.dumps(item, option=queries.LEDGER.json_option))["at"][-1] == "Z"
        # The next page, through the cursor made from the item's own columns.
        after = ListParams(limit=5, cursor=page.next_cursor, sort="-at", format=None)
        following = await queries.LEDGER.page(reader, stmt, params=after, values=values)
        assert following.rows and following.rows[0][0] not in {r[0] for r in page.rows}
        assert following.total == page.total
    finally:
        await reader.close()
        await engine.dispose()
