from __future__ import annotations

import uuid

import httpx
import pytest
from funding_cases import (
    ADMIN,
    ANCT,
    BDT,
    BPI,
    K,
    M,
    allocate,
    allocation_body,
    make_envelope,
    settings,
)

from funding.main import create_app
from tdi_kit.app import ServiceApp
from tdi_kit.testing import asgi_client, rolled_back


async def test_a_committed_allocation_moves_the_tranche_and_records_the_regions(
    client: httpx.AsyncClient,
) -> None:
    await make_envelope(client, tranches={2024: 10 * M})
    created = await allocate(client, amount_cents=4 * M, territory_code="2708")
    assert created["status"] == "committed" and created["undisbursed_cents"] == 4 * M
    assert created["region_codes"] == ["27", "84"]
    tranche = (await client.get("/api/v1/envelopes/test-envelope/tranches/2024")).json()
    assert tranche["committed_cents"] == 4 * M and tranche["available_cents"] == 6 * M


async def test_a_tranche_is_never_over_committed(client: httpx.AsyncClient) -> None:
    await make_envelope(client, tranches={2024: 10 * M})
    await allocate(client, amount_cents=7 * M)
    r = await client.post(
        "/api/v1/allocations", json=allocation_body(amount_cents=4 * M), headers=ADMIN
    )
    assert r.status_code == 409
    assert r.json()["available_cents"] == 3 * M and r.json()["requested_cents"] == 4 * M
    # A proposal reserves nothing; committing it is checked then.
    proposed = await allocate(client, amount_cents=4 * M, status="proposed")
    url = f"/api/v1/allocations/{proposed['id']}"
    etag = (await client.get(url, headers=ADMIN)).headers["etag"]
    r = await client.post(f"{url}/commit", headers={**ADMIN, "If-Match": etag})
    assert r.status_code == 409


async def test_award_rules_are_enforced_with_their_figures(client: httpx.AsyncClient) -> None:
    # The Fonds d'accélération: 50% of eligible spending, capped at 800 k€ unless waived,
    # spending from 200 k€. Bpifrance examines its applications.
    body = allocation_body(envelope_code="fonds-acceleration-2020-2022", year=2021)
    cases = [
        ({"amount_cents": 100 * K}, "eligible_spending_cents", {}),
        (
            {"amount_cents": 150 * K, "eligible_spending_cents": 250 * K},
            "amount_cents",
            {"max_amount_cents": 125 * K},
        ),
        (
            {"amount_cents": 50 * K, "eligible_spending_cents": 150 * K},
            "eligible_spending_cents",
            {"min_eligible_spending_cents": 200 * K},
        ),
        (
            {"amount_cents": 900 * K, "eligible_spending_cents": 2000 * K},
            "amount_cents",
            {"cap_per_project_cents": 800 * K},
        ),
    ]
    for fields, field, figures in cases:
        r = await client.post("/api/v1/allocations", json={**body, **fields}, headers=BPI)
        assert r.status_code == 422, (fields, r.text)
        problem = r.json()
        assert field in {e["field"] for e in problem["errors"]}
        assert figures.items() <= problem.items()
    waived = {"amount_cents": 900 * K, "eligible_spending_cents": 2000 * K, "cap_waiver": "Arrêté"}
    r = await client.post("/api/v1/allocations", json={**body, **waived}, headers=BPI)
    assert r.status_code == 201, r.text


async def test_a_cap_that_cannot_be_waived_stays(client: httpx.AsyncClient) -> None:
    await make_envelope(client, rules={"cap_per_project_cents": 1 * M})
    r = await client.post(
        "/api/v1/allocations",
        json=allocation_body(amount_cents=2 * M, cap_waiver="Décision"),
        headers=ADMIN,
    )
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"amount_cents", "cap_waiver"}


async def test_operators_allocate_only_from_envelopes_they_manage_or_examine(
    client: httpx.AsyncClient,
) -> None:
    await make_envelope(client)
    r = await client.post("/api/v1/allocations", json=allocation_body(), headers=BDT)
    assert r.status_code == 403
    assert (
        await client.post("/api/v1/allocations", json=allocation_body(), headers=BPI)
    ).is_success
    # Bpifrance examines the State's Fonds d'accélération: it records allocations there too,
    # but cannot change the envelope itself.
    body = allocation_body(
        envelope_code="fonds-acceleration-2020-2022",
        year=2021,
        amount_cents=100 * K,
        eligible_spending_cents=300 * K,
    )
    assert (await client.post("/api/v1/allocations", json=body, headers=BPI)).status_code == 201
    url = "/api/v1/envelopes/fonds-acceleration-2020-2022"
    etag = (await client.get(url)).headers["etag"]
    r = await client.patch(url, json={"name": "x"}, headers={**BPI, "If-Match": etag})
    assert r.status_code == 403
    r = await client.patch(url, json={"name": "Fonds"}, headers={**ANCT, "If-Match": etag})
    assert r.status_code == 200


async def test_a_proposed_allocation_is_private_to_its_operator(client: httpx.AsyncClient) -> None:
    await make_envelope(client)
    proposed = await allocate(client, headers=BPI, status="proposed")
    url = f"/api/v1/allocations/{proposed['id']}"
    assert (await client.get(url)).status_code == 404
    assert (await client.get(url, headers=BDT)).status_code == 404
    assert (await client.get(url, headers=BPI)).status_code == 200
    assert (await client.get("/api/v1/allocations")).json()["items"] == []
    assert len((await client.get("/api/v1/allocations", headers=BPI)).json()["items"]) == 1
    # Another operator cannot even learn that it exists by writing to it.
    r = await client.post(f"{url}/commit", headers={**BDT, "If-Match": '"x"'})
    assert r.status_code == 404


async def test_a_proposal_is_changed_then_committed_with_if_match(
    client: httpx.AsyncClient,
) -> None:
    await make_envelope(client)
    proposed = await allocate(client, headers=BPI, status="proposed", amount_cents=2 * M)
    url = f"/api/v1/allocations/{proposed['id']}"
    etag = (await client.get(url, headers=BPI)).headers["etag"]
    assert (await client.patch(url, json={"amount_cents": M}, headers=BPI)).status_code == 428
    r = await client.patch(
        url, json={"amount_cents": M, "territory_code": "2708"}, headers={**BPI, "If-Match": etag}
    )
    assert r.status_code == 200 and r.json()["region_codes"] == ["27", "84"]
    r = await client.post(f"{url}/commit", headers={**BPI, "If-Match": etag})
    assert r.status_code == 412
    r = await client.post(f"{url}/commit", headers={**BPI, "If-Match": r.json()["current_etag"]})
    assert r.status_code == 200 and r.json()["status"] == "committed"
    assert (await client.get(url)).status_code == 200  # public once committed
    r = await client.patch(url, json={"amount_cents": 5}, headers={**BPI, "If-Match": "*"})
    assert r.status_code == 409


async def test_disbursements_never_exceed_the_commitment(client: httpx.AsyncClient) -> None:
    await make_envelope(client)
    created = await allocate(client, amount_cents=3 * M)
    url = f"/api/v1/allocations/{created['id']}/disbursements"
    r = await client.post(url, json={"amount_cents": 2 * M, "paid_on": "2024-05-01"}, headers=BPI)
    assert r.status_code == 201
    r = await client.post(url, json={"amount_cents": 2 * M}, headers=BPI)
    assert r.status_code == 409 and r.json()["undisbursed_cents"] == M
    r = await client.post(url, json={"amount_cents": M}, headers=BPI)
    assert r.status_code == 201
    allocation = (await client.get(f"/api/v1/allocations/{created['id']}")).json()
    assert allocation["status"] == "fully_disbursed" and allocation["undisbursed_cents"] == 0
    listed = (await client.get(url)).json()["items"]
    assert [d["amount_cents"] for d in listed] == [2 * M, M]
    csv = await client.get(url, params={"format": "csv"})
    assert len(csv.text.lstrip("\ufeff").splitlines()) == 3


async def test_a_proposal_is_not_disbursed(client: httpx.AsyncClient) -> None:
    await make_envelope(client)
    proposed = await allocate(client, status="proposed")
    url = f"/api/v1/allocations/{proposed['id']}/disbursements"
    assert (await client.post(url, json={"amount_cents": 1}, headers=ADMIN)).status_code == 409


async def test_a_cancellation_releases_what_was_not_disbursed(client: httpx.AsyncClient) -> None:
    await make_envelope(client, tranches={2024: 10 * M})
    created = await allocate(client, amount_cents=6 * M)
    url = f"/api/v1/allocations/{created['id']}"
    await client.post(f"{url}/disbursements", json={"amount_cents": 2 * M}, headers=ADMIN)
    etag = (await client.get(url)).headers["etag"]
    cancel = {"reason": "project abandoned"}
    assert (await client.post(f"{url}/cancel", json=cancel, headers=BPI)).status_code == 428
    r = await client.post(f"{url}/cancel", json=cancel, headers={**BPI, "If-Match": etag})
    assert r.status_code == 200
    assert r.json()["status"] == "cancelled" and r.json()["released_cents"] == 4 * M
    tranche = (await client.get("/api/v1/envelopes/test-envelope/tranches/2024")).json()
    assert tranche["committed_cents"] == 2 * M and tranche["disbursed_cents"] == 2 * M
    assert tranche["available_cents"] == 8 * M
    r = await client.post(f"{url}/cancel", json=cancel, headers={**BPI, "If-Match": "*"})
    assert r.status_code == 409


async def test_references_are_checked_with_their_owners(
    client: httpx.AsyncClient, known_action: uuid.UUID
) -> None:
    await make_envelope(client)
    r = await client.post(
        "/api/v1/allocations", json=allocation_body(territory_code="ti-9999"), headers=BPI
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "territory_code"
    unknown = str(uuid.uuid4())
    r = await client.post(
        "/api/v1/allocations", json=allocation_body(action_id=unknown), headers=BPI
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "action_id"
    created = await allocate(client, headers=BPI, action_id=str(known_action))
    assert created["action_id"] == str(known_action)
    listed = await client.get("/api/v1/allocations", params={"action": str(known_action)})
    assert [a["id"] for a in listed.json()["items"]] == [created["id"]]


@pytest.fixture
async def unreachable(funding_url: str) -> ServiceApp:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    app = create_app(
        settings(funding_url),
        registry_transport=httpx.MockTransport(refuse),
        contracts_transport=httpx.MockTransport(refuse),
    )
    yield app
    await app.state.engine.dispose()


async def test_an_unreachable_owner_fails_the_write_with_503_and_stores_nothing(
    unreachable: ServiceApp,
) -> None:
    async with rolled_back(unreachable, unreachable.state.engine), asgi_client(unreachable) as c:
        r = await c.post(
            "/api/v1/allocations",
            json=allocation_body(envelope_code="phase-2-2023-2027"),
            headers=ANCT,
        )
        assert r.status_code == 503
        assert r.json()["service"] == "registry" and "cannot be reached" in r.json()["detail"]
        r = await c.get("/api/v1/envelopes/phase-2-2023-2027/tranches/2024")
        assert r.json()["committed_cents"] == 0
        ledger = await c.get("/api/v1/ledger", params={"kind": "commitment"}, headers=ADMIN)
        assert ledger.json()["items"] == []


async def test_actions_are_not_checked_where_the_contracts_service_is_not_deployed(
    funding_url: str, registry_app: ServiceApp, contracts_app: ServiceApp
) -> None:
    app = create_app(
        settings(funding_url, check_actions=False),
        registry_transport=httpx.ASGITransport(app=registry_app),
        contracts_transport=httpx.ASGITransport(app=contracts_app),
    )
    async with rolled_back(app, app.state.engine), asgi_client(app) as c:
        body = allocation_body(envelope_code="phase-2-2023-2027", action_id=str(uuid.uuid4()))
        assert (await c.post("/api/v1/allocations", json=body, headers=ANCT)).status_code == 201
    await app.state.engine.dispose()


async def test_a_retried_post_with_the_same_idempotency_key_acts_once(
    client: httpx.AsyncClient,
) -> None:
    await make_envelope(client, tranches={2024: 10 * M})
    before = await _figures(client)
    headers = {**BPI, "Idempotency-Key": "push-42"}
    body = allocation_body(amount_cents=4 * M)
    first = await client.post("/api/v1/allocations", json=body, headers=headers)
    again = await client.post("/api/v1/allocations", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    tranche = (await client.get("/api/v1/envelopes/test-envelope/tranches/2024")).json()
    assert tranche["committed_cents"] == 4 * M
    other = allocation_body(amount_cents=5 * M)
    assert (
        await client.post("/api/v1/allocations", json=other, headers=headers)
    ).status_code == 422
    after = await _figures(client)
    # /metrics: one answer stored, one replayed, one key reused; one commitment in the ledger.
    assert {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)} == {
        'idempotency_requests_total{outcome="stored",service="funding"}': 1,
        'idempotency_requests_total{outcome="replayed",service="funding"}': 1,
        'idempotency_requests_total{outcome="mismatch",service="funding"}': 1,
        'db_rows_written_total{kind="commitment",service="funding",table="ledger_entries"}': 1,
    }


async def _figures(client: httpx.AsyncClient) -> dict[str, float]:
    text = (await client.get("/metrics")).text
    return {
        series: float(value)
        for series, value in (line.rsplit(" ", 1) for line in text.splitlines())
        if series.startswith(("idempotency_requests_total", "db_rows_written_total"))
    }


async def test_an_oversized_body_is_413(client: httpx.AsyncClient) -> None:
    body = b"[" + b" " * (9 * 1024 * 1024) + b"]"
    r = await client.post(
        "/api/v1/allocations/bulk",
        content=body,
        headers={**ADMIN, "Content-Type": "application/json"},
    )
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"


async def test_allocations_filter_and_export_as_csv(client: httpx.AsyncClient) -> None:
    await make_envelope(client)
    await allocate(client, territory_code="2708", amount_cents=M, reference="BPI-1")
    await allocate(client, territory_code="ti-3205", amount_cents=2 * M, reference="BPI-2")
    r = await client.get("/api/v1/allocations", params={"region": "84"})
    assert [a["reference"] for a in r.json()["items"]] == ["BPI-1"]
    r = await client.get("/api/v1/allocations", params={"sort": "-amount_cents", "limit": 1})
    page = r.json()
    assert page["items"][0]["reference"] == "BPI-2" and page["next_cursor"]
    r = await client.get(
        "/api/v1/allocations",
        params={"sort": "-amount_cents", "limit": 1, "cursor": page["next_cursor"]},
    )
    assert r.json()["items"][0]["reference"] == "BPI-1" and r.json()["next_cursor"] is None
    r = await client.get("/api/v1/allocations", headers={"Accept": "text/csv"})
    lines = r.text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("id,envelope_code,year") and len(lines) == 3
    assert "27|84" in r.text
    assert "Bourgogne-Franche-Comté|Auvergne-Rhône-Alpes" in r.text  # `regions`: their names
    dup = allocation_body(reference="BPI-1")
    assert (await client.post("/api/v1/allocations", json=dup, headers=BPI)).status_code == 409
