"""Who sees a private allocation (never committed) and its disbursements: its operator, its
envelope's examiner and admins. Anyone else, a token with scopes but no organisation included,
is told it does not exist, in words that name nothing of it."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from funding_cases import ADMIN, ANCT, BDT, BPI, M, allocate, make_envelope

from tdi_kit.testing import bearer

NO_ORG = bearer("funding:write", "admin:read", sub="no-org")
ANONYMOUS: dict[str, str] = {}
EXAMINER = ANCT  # the test envelope is examined by ANCT

OUTSIDERS = {"anonymous": ANONYMOUS, "no organisation": NO_ORG, "another operator": BDT}
INSIDERS = {"operator": BPI, "examiner": EXAMINER, "admin": ADMIN}


async def _proposal(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    await make_envelope(client, rules={"examined_by": "anct"})
    return await allocate(client, headers=BPI, status="proposed", reference="DOSSIER-42", **fields)


@pytest.mark.parametrize("who", list(OUTSIDERS))
async def test_a_proposal_does_not_exist_for_outsiders(client: httpx.AsyncClient, who: str) -> None:
    headers = OUTSIDERS[who]
    proposed = await _proposal(client)
    url = f"/api/v1/allocations/{proposed['id']}"
    unknown = f"/api/v1/allocations/{uuid.uuid4()}"
    for path in (url, f"{url}/disbursements", f"{url}/disbursements?format=csv"):
        r = await client.get(path, headers=headers)
        assert r.status_code == 404, (path, r.text)
        # The same answer as for an id nobody used, save the id the caller asked about.
        same = await client.get(path.replace(url, unknown), headers=headers)
        assert r.json()["detail"].replace(proposed["id"], "X") == same.json()["detail"].replace(
            unknown.rsplit("/", 1)[1], "X"
        )
    listed = await client.get("/api/v1/allocations", headers=headers)
    assert listed.json()["items"] == []
    csv = await client.get("/api/v1/allocations", params={"format": "csv"}, headers=headers)
    assert proposed["id"] not in csv.text and "DOSSIER-42" not in csv.text
    for filters in ({"reference": "DOSSIER-42"}, {"status": "proposed"}, {"operator": "bpifrance"}):
        r = await client.get("/api/v1/allocations", params=filters, headers=headers)
        assert r.json()["items"] == []


@pytest.mark.parametrize("who", list(INSIDERS))
async def test_a_proposal_is_seen_by_its_operator_examiner_and_admins(
    client: httpx.AsyncClient, who: str
) -> None:
    headers = INSIDERS[who]
    proposed = await _proposal(client)
    url = f"/api/v1/allocations/{proposed['id']}"
    assert (await client.get(url, headers=headers)).status_code == 200
    assert (await client.get(f"{url}/disbursements", headers=headers)).status_code == 200
    items = (await client.get("/api/v1/allocations", headers=headers)).json()["items"]
    assert [a["id"] for a in items] == [proposed["id"]]
    csv = await client.get("/api/v1/allocations", params={"format": "csv"}, headers=headers)
    assert proposed["id"] in csv.text


async def test_a_token_without_organisation_sees_no_proposal_of_an_unexamined_envelope(
    client: httpx.AsyncClient,
) -> None:
    # Without an examiner, `None in {operator, None}` once let an org-less token through.
    await make_envelope(client)
    proposed = await allocate(client, headers=BPI, status="proposed")
    url = f"/api/v1/allocations/{proposed['id']}"
    assert (await client.get(url, headers=NO_ORG)).status_code == 404
    assert (await client.get(f"{url}/disbursements", headers=NO_ORG)).status_code == 404
    r = await client.post(f"{url}/commit", headers={**NO_ORG, "If-Match": "*"})
    assert r.status_code == 404


async def test_a_proposal_cancelled_before_commitment_stays_private(
    client: httpx.AsyncClient,
) -> None:
    proposed = await _proposal(client)
    url = f"/api/v1/allocations/{proposed['id']}"
    r = await client.post(
        f"{url}/cancel", json={"reason": "dossier incomplet"}, headers={**BPI, "If-Match": "*"}
    )
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    for headers in OUTSIDERS.values():
        assert (await client.get(url, headers=headers)).status_code == 404
        assert (await client.get("/api/v1/allocations", headers=headers)).json()["items"] == []
    assert (await client.get(url, headers=EXAMINER)).status_code == 200


async def test_a_committed_allocation_and_its_disbursements_are_public(
    client: httpx.AsyncClient,
) -> None:
    proposed = await _proposal(client)
    url = f"/api/v1/allocations/{proposed['id']}"
    r = await client.post(f"{url}/commit", headers={**EXAMINER, "If-Match": "*"})
    assert r.status_code == 200
    r = await client.post(f"{url}/disbursements", json={"amount_cents": M}, headers=BPI)
    assert r.status_code == 201
    for headers in OUTSIDERS.values():
        assert (await client.get(url, headers=headers)).status_code == 200
        listed = (await client.get(f"{url}/disbursements", headers=headers)).json()["items"]
        assert [d["amount_cents"] for d in listed] == [M]


async def test_a_push_by_reference_never_reveals_another_operators_proposal(
    client: httpx.AsyncClient,
) -> None:
    proposed = await _proposal(client)
    await make_envelope(client, code="bdt-envelope", operator="banque-des-territoires")
    push = [{"allocation_reference": "DOSSIER-42", "amount_cents": 1}]
    r = await client.post("/api/v1/disbursements/bulk", json=push, headers=BDT)
    assert r.status_code == 422
    report = r.text
    assert proposed["id"] not in report and "bpifrance" not in report
    assert r.json()["rows"][0]["status"] == 404
    # Both operators may use the same reference: the other's is not matched, so the push is
    # not told that "several operators use it".
    await allocate(
        client, headers=BDT, envelope_code="bdt-envelope", reference="DOSSIER-42", amount_cents=M
    )
    r = await client.post("/api/v1/disbursements/bulk", json=push, headers=BDT)
    assert r.status_code == 201, r.text
    # The examiner matches the proposal (it sees it) and is told only that it is not committed.
    r = await client.post("/api/v1/disbursements/bulk", json=push, headers=EXAMINER)
    assert r.json()["rows"][0]["status"] == 409


async def test_a_write_to_an_unseen_proposal_is_the_404_of_an_unknown_id(
    client: httpx.AsyncClient,
) -> None:
    proposed = await _proposal(client)
    for path, body in (
        ("commit", None),
        ("cancel", {"reason": "x"}),
        ("disbursements", {"amount_cents": 1}),
    ):
        for headers in (BDT, NO_ORG):
            seen = await client.post(
                f"/api/v1/allocations/{proposed['id']}/{path}",
                json=body,
                headers={**headers, "If-Match": "*"},
            )
            assert seen.status_code == 404, seen.text
            assert "bpifrance" not in seen.text and "DOSSIER-42" not in seen.text
    r = await client.patch(
        f"/api/v1/allocations/{proposed['id']}",
        json={"title": "x"},
        headers={**BDT, "If-Match": "*"},
    )
    assert r.status_code == 404


async def test_a_bulk_push_report_names_no_other_operators_proposal(
    client: httpx.AsyncClient,
) -> None:
    proposed = await _proposal(client)
    push = [{"allocation_id": proposed["id"], "amount_cents": 1}]
    for headers in (BDT, NO_ORG):
        r = await client.post("/api/v1/disbursements/bulk", json=push, headers=headers)
        assert r.status_code == 422 and r.json()["rows"][0]["status"] == 404
        assert "bpifrance" not in r.text and "DOSSIER-42" not in r.text
