"""Allocations are served from their rows (`funding.allocations.reads`), not validated into
`AllocationRead` and dumped: the bytes must stay those of the model's JSON, which the writes
answer, for every allocation (the demo seed's, generated ones with unusual values, ones written
through the API) as every caller sees them: never-committed ones only to their operator, their
envelope's examiner and admins."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
import orjson
import pytest
from funding_cases import ADMIN, ANCT, BDT, BPI, M, allocate, make_envelope
from sqlalchemy import insert, select
from sqlalchemy.orm import selectinload

from funding.access import sees_private
from funding.allocations import service
from funding.models import Allocation, AllocationRegion, Envelope
from funding.schemas import AllocationRead
from funding.seed.demo import load_demo
from tdi_kit.app import ServiceApp
from tdi_kit.conditional import etag_for
from tdi_kit.pagination import page_json
from tdi_kit.testing import bearer

CALLERS: dict[str, tuple[dict[str, str], str | None, bool]] = {
    # name: (headers, organisation, admin)
    "anonymous": ({}, None, False),
    "admin": (ADMIN, None, True),
    "bpifrance": (BPI, "bpifrance", False),
    "banque-des-territoires": (BDT, "banque-des-territoires", False),
    "anct": (ANCT, "anct", False),
    "no organisation": (bearer("funding:write"), None, False),
}
HOSTILE = 'Ligne "A" \\ é\u2028\x01\t=SUM(1)'


async def _generate(funding_app: ServiceApp) -> None:
    """The demo seed, and copies of each of its allocations with what a write never leaves:
    timestamps with microseconds, hostile text, no region, several regions, an operator the
    copy of the registry does not name, proposed ones of every envelope."""
    async with funding_app.state.sessionmaker() as session:
        await load_demo(session, say=lambda _line: None)
        await session.flush()
        demo = (await session.scalars(select(Allocation))).all()
        rows, regions = [], []
        moment = dt.datetime(2025, 3, 4, 5, 6, 7, 891011, tzinfo=dt.UTC)
        for i, template in enumerate(demo * 3):
            values = {c.key: getattr(template, c.key) for c in Allocation.__table__.columns}
            new_id = uuid.uuid4()
            proposed = i % 3 == 0
            values |= {
                "id": new_id,
                "reference": f"gen-{i}",
                "created_at": moment + dt.timedelta(seconds=i),
                "updated_at": moment + dt.timedelta(days=1, microseconds=i),
                "status": "proposed" if proposed else template.status,
                "committed_at": None if proposed else moment,
                "title": HOSTILE if i % 4 == 1 else template.title,
                "cancel_reason": HOSTILE if i % 5 == 2 else template.cancel_reason,
                "operator_code": "unnamed-operator" if i % 7 == 3 else template.operator_code,
                "version": i + 1,
                "cap_waiver": "Arrêté du 1er mars" if i % 6 == 4 else template.cap_waiver,
                "eligible_spending_cents": 10 * M if i % 6 == 5 else None,
                "decision_date": dt.date(2025, 1, i % 28 + 1) if i % 2 else None,
            }
            rows.append(values)
            regions += [
                {"allocation_id": new_id, "region_code": code}
                for code in (["84", "27", "11"] if i % 2 else [])[: i % 4]
            ]
        await session.execute(insert(Allocation), rows)
        await session.execute(insert(AllocationRegion), regions)
        await session.commit()


async def _expected(funding_app: ServiceApp) -> dict[str, tuple[bytes, str, str | None, bool]]:
    """Each allocation as the writes render it (pydantic), with what its visibility reads."""
    async with funding_app.state.sessionmaker() as session:
        examiners = dict((await session.execute(select(Envelope.code, Envelope.examined_by))).all())
        found = await session.scalars(select(Allocation).options(selectinload(Allocation.regions)))
        return {
            str(a.id): (
                (await service.read(session, a)).model_dump_json().encode(),
                a.operator_code,
                examiners[a.envelope_code],
                a.committed_at is not None,
            )
            for a in found.all()
        }


async def test_every_allocation_is_served_as_its_model_renders_it_to_every_caller(
    client: httpx.AsyncClient, funding_app: ServiceApp
) -> None:
    await make_envelope(client)
    await allocate(client, amount_cents=2 * M, territory_code="2708", decision_date="2024-05-06")
    await allocate(client, headers=BPI, status="proposed", reference="P-1")
    cancelled = await allocate(client, headers=BPI, status="proposed", reference="P-2")
    url = f"/api/v1/allocations/{cancelled['id']}"
    etag = (await client.get(url, headers=BPI)).headers["etag"]
    r = await client.post(
        f"{url}/cancel", json={"reason": "Dossier retiré"}, headers={**BPI, "If-Match": etag}
    )
    assert r.status_code == 200, r.text
    committed = await allocate(client, amount_cents=4 * M, reference="C-1")
    url = f"/api/v1/allocations/{committed['id']}"
    r = await client.post(f"{url}/disbursements", json={"amount_cents": M}, headers=ADMIN)
    assert r.status_code == 201, r.text
    await _generate(funding_app)
    expected = await _expected(funding_app)
    assert len(expected) > 40

    for name, (headers, org, admin) in CALLERS.items():
        caller = None if not headers else _Caller(org, admin)
        visible = {
            i
            for i, (_, operator, examiner, committed) in expected.items()
            if committed or sees_private(caller, operator_code=operator, examined_by=examiner)  # type: ignore[arg-type]
        }
        served: list[str] = []
        params: dict[str, Any] = {"limit": 7, "sort": "-amount_cents"}
        while True:
            r = await client.get("/api/v1/allocations", params=params, headers=headers)
            assert r.status_code == 200, (name, r.text)
            page = orjson.loads(r.content)
            ids = [a["id"] for a in page["items"]]
            want = page_json(
                [expected[i][0].decode() for i in ids], page["next_cursor"], page["total"]
            )
            assert r.content == want.encode(), name
            assert page["total"] == len(visible), name
            served += ids
            if not page["next_cursor"]:
                break
            params["cursor"] = page["next_cursor"]
        assert sorted(served) == sorted(visible), name

        for i, (body, *_) in expected.items():
            # Uncompressed, so that the ETag is the one of these bytes (`-br` otherwise).
            plain = {**headers, "Accept-Encoding": "identity"}
            r = await client.get(f"/api/v1/allocations/{i}", headers=plain)
            if i in visible:
                assert r.status_code == 200 and r.content == body, (name, i)
                assert r.headers["etag"] == etag_for(body), (name, i)
            else:
                assert r.status_code == 404, (name, i)


class _Caller:
    """What `funding.access.sees_private` reads of a caller."""

    def __init__(self, org: str | None, admin: bool) -> None:
        self.org, self.is_admin = org, admin


async def test_a_page_and_a_read_by_id_validate_no_allocation_model(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_envelope(client)
    created = await allocate(client, amount_cents=M)

    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("an allocation read was validated into AllocationRead")

    monkeypatch.setattr(AllocationRead, "model_validate", refuse)
    monkeypatch.setattr(AllocationRead, "__init__", refuse)
    r = await client.get("/api/v1/allocations", params={"limit": 100})
    assert r.status_code == 200 and r.json()["items"][0]["id"] == created["id"]
    r = await client.get(f"/api/v1/allocations/{created['id']}")
    assert r.status_code == 200 and r.json() == created
    r = await client.get("/api/v1/allocations", params={"format": "csv"})
    assert r.status_code == 200 and created["id"] in r.text
