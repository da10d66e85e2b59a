from __future__ import annotations

import csv
import io

import httpx
import orjson
from funding_cases import ADMIN, BDT, BPI, M, allocation_body, make_envelope


def _csv(rows: list[dict]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


async def test_a_bulk_push_stores_every_row(client: httpx.AsyncClient) -> None:
    await make_envelope(client, tranches={2024: 100 * M})
    rows = [allocation_body(amount_cents=M, reference=f"R-{i}") for i in range(20)]
    r = await client.post("/api/v1/allocations/bulk", json=rows, headers=BPI)
    assert r.status_code == 201, r.text
    assert r.json()["created"] == 20 and len(r.json()["ids"]) == 20
    tranche = (await client.get("/api/v1/envelopes/test-envelope/tranches/2024")).json()
    assert tranche["committed_cents"] == 20 * M


async def test_a_bulk_push_is_all_or_nothing_and_reports_every_bad_row(
    client: httpx.AsyncClient,
) -> None:
    await make_envelope(client, tranches={2024: 10 * M})
    await make_envelope(client, code="bdt-owned", operator="banque-des-territoires")
    rows = [
        allocation_body(amount_cents=4 * M, reference="A"),  # fine
        allocation_body(amount_cents="lots"),  # invalid
        allocation_body(envelope_code="nope"),  # no such envelope
        allocation_body(envelope_code="bdt-owned"),  # not Bpifrance's
        allocation_body(territory_code="ti-9999"),  # the registry does not know it
        allocation_body(amount_cents=4 * M, reference="A"),  # reference used above
        allocation_body(amount_cents=4 * M),  # fine: 8 of 10 M€ committed
        allocation_body(amount_cents=4 * M),  # the tranche is exhausted
        allocation_body(year=2031),  # no such tranche
    ]
    r = await client.post("/api/v1/allocations/bulk", json=rows, headers=BPI)
    assert r.status_code == 422
    report = {row["row"]: row for row in r.json()["rows"]}
    assert {n: row["status"] for n, row in report.items()} == {
        2: 422,
        3: 404,
        4: 403,
        5: 422,
        6: 409,
        8: 409,
        9: 422,
    }
    assert report[2]["errors"][0]["field"] == "amount_cents"
    assert report[5]["errors"][0]["field"] == "territory_code"
    assert "9 rows" in r.json()["detail"]
    tranche = (await client.get("/api/v1/envelopes/test-envelope/tranches/2024")).json()
    assert tranche["committed_cents"] == 0
    assert (await client.get("/api/v1/allocations", headers=BPI)).json()["items"] == []


async def test_a_csv_push_stores_allocations_and_disbursements(client: httpx.AsyncClient) -> None:
    await make_envelope(client, tranches={2024: 100 * M})
    rows = [
        {
            "envelope_code": "test-envelope",
            "year": 2024,
            "territory_code": "ti-2708",
            "title": "Atelier, extension",
            "beneficiary_name": "Société Écrous",
            "beneficiary_siren": "",
            "reference": f"CSV-{i}",
            "amount_cents": 2 * M,
            "decision_date": "2024-03-01",
            "status": "committed",
        }
        for i in range(3)
    ]
    rows[0]["title"] = 'Atelier, extension "A"'
    r = await client.post(
        "/api/v1/allocations/bulk",
        content=b"\xef\xbb\xbf" + _csv(rows),
        headers={**BPI, "Content-Type": "text/csv; charset=utf-8"},
    )
    assert r.status_code == 201, r.text
    first = await client.get(f"/api/v1/allocations/{r.json()['ids'][0]}")
    assert first.json()["title"] == 'Atelier, extension "A"'
    payments = [
        {"allocation_reference": "CSV-0", "amount_cents": M, "paid_on": "2024-06-01"},
        {"allocation_reference": "CSV-0", "amount_cents": M, "paid_on": "2024-09-01"},
        {"allocation_reference": "CSV-1", "amount_cents": M, "paid_on": "2024-09-01"},
    ]
    r = await client.post(
        "/api/v1/disbursements/bulk",
        content=_csv(payments),
        headers={**BPI, "Content-Type": "text/csv"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["created"] == 3
    tranche = (await client.get("/api/v1/envelopes/test-envelope/tranches/2024")).json()
    assert tranche["disbursed_cents"] == 3 * M


async def test_a_disbursement_push_is_refused_whole_when_one_row_overpays(
    client: httpx.AsyncClient,
) -> None:
    await make_envelope(client)
    r = await client.post(
        "/api/v1/allocations/bulk",
        json=[allocation_body(amount_cents=2 * M, reference="X")],
        headers=BPI,
    )
    allocation_id = r.json()["ids"][0]
    payments = [
        {"allocation_id": allocation_id, "amount_cents": M},
        {"allocation_reference": "X", "amount_cents": M},
        {"allocation_reference": "X", "amount_cents": 1},
        {"allocation_reference": "nope", "amount_cents": 1},
        {"allocation_id": allocation_id, "allocation_reference": "X", "amount_cents": 1},
    ]
    r = await client.post("/api/v1/disbursements/bulk", json=payments, headers=BPI)
    assert r.status_code == 422
    assert {row["row"]: row["status"] for row in r.json()["rows"]} == {3: 409, 4: 404, 5: 422}
    r = await client.post("/api/v1/disbursements/bulk", json=payments[:2], headers=BDT)
    # By id, the committed allocation is public but not BDT's to pay; by reference, another
    # operator's references are never matched (they are not BDT's to learn).
    assert {row["row"]: row["status"] for row in r.json()["rows"]} == {1: 403, 2: 404}
    allocation = (await client.get(f"/api/v1/allocations/{allocation_id}")).json()
    assert allocation["disbursed_cents"] == 0


async def test_a_retried_bulk_push_is_harmless(client: httpx.AsyncClient) -> None:
    await make_envelope(client, tranches={2024: 10 * M})
    rows = [allocation_body(amount_cents=M) for _ in range(5)]
    headers = {**BPI, "Idempotency-Key": "file-sha256-abc"}
    first = await client.post("/api/v1/allocations/bulk", json=rows, headers=headers)
    again = await client.post("/api/v1/allocations/bulk", json=rows, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    tranche = (await client.get("/api/v1/envelopes/test-envelope/tranches/2024")).json()
    assert tranche["committed_cents"] == 5 * M


async def test_malformed_pushes_are_refused_plainly(client: httpx.AsyncClient) -> None:
    url = "/api/v1/allocations/bulk"
    cases = [
        (b"{}", "application/json", 422),
        (b"[]", "application/json", 422),
        (b"not json", "application/json", 422),
        (b"nope,columns\n1,2\n", "text/csv", 422),
        (b"\xff\xfe", "text/csv", 422),
        (orjson.dumps([1, "x", None]), "application/json", 422),
        (b"<xml/>", "application/xml", 415),
    ]
    for body, media_type, status in cases:
        r = await client.post(url, content=body, headers={**ADMIN, "Content-Type": media_type})
        assert r.status_code == status, (body, r.text)
        assert r.headers["content-type"] == "application/problem+json"
