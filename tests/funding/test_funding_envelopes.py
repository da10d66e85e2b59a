from __future__ import annotations

import httpx
from funding_cases import ADMIN, BDT, BPI, M, allocate, make_envelope

from funding.envelopes.service import rules_of, set_rules
from funding.models import Envelope
from funding.schemas import Rules
from tdi_kit.testing import bearer


async def test_an_operator_creates_its_own_envelope_with_tranches_in_the_ledger(
    client: httpx.AsyncClient,
) -> None:
    envelope = await make_envelope(client, tranches={2024: 100 * M, 2025: 50 * M}, headers=BPI)
    assert envelope["totals"] == {
        "amount_cents": 150 * M,
        "committed_cents": 0,
        "disbursed_cents": 0,
        "available_cents": 150 * M,
    }
    ledger = await client.get("/api/v1/ledger", params={"envelope": "test-envelope"}, headers=BPI)
    assert [(e["kind"], e["amount_delta_cents"], e["actor"]) for e in ledger.json()["items"]] == [
        ("endowment", 100 * M, "agent-bpi"),
        ("endowment", 50 * M, "agent-bpi"),
    ]


async def test_an_operator_cannot_create_another_operators_envelope(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post(
        "/api/v1/envelopes",
        json={
            "code": "not-mine",
            "operator_code": "banque-des-territoires",
            "name": "x",
            "kind": "grant",
            "start_year": 2024,
            "end_year": 2024,
        },
        headers=BPI,
    )
    assert r.status_code == 403
    assert r.headers["content-type"] == "application/problem+json"


async def test_writes_need_a_token_with_the_funding_scope(client: httpx.AsyncClient) -> None:
    body = {"code": "x-1", "operator_code": "bpifrance", "name": "x", "kind": "grant"}
    body |= {"start_year": 2024, "end_year": 2024}
    assert (await client.post("/api/v1/envelopes", json=body)).status_code == 401
    no_scope = bearer("registry:write", org="bpifrance")
    assert (await client.post("/api/v1/envelopes", json=body, headers=no_scope)).status_code == 403
    bad = {"Authorization": "Bearer not-a-jwt"}
    assert (await client.post("/api/v1/envelopes", json=body, headers=bad)).status_code == 401
    no_org = bearer("funding:write")
    assert (await client.post("/api/v1/envelopes", json=body, headers=no_org)).status_code == 403


async def test_an_unknown_operator_is_refused_by_its_owner_the_registry(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post(
        "/api/v1/envelopes",
        json={
            "code": "ghost",
            "operator_code": "no-such-operator",
            "name": "x",
            "kind": "grant",
            "start_year": 2024,
            "end_year": 2024,
        },
        headers=ADMIN,
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "operator_code"


async def test_invalid_input_names_each_field(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/v1/envelopes",
        json={"code": "Bad Code", "operator_code": "bpifrance", "kind": "cash"},
        headers=ADMIN,
    )
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"code", "kind", "name", "start_year", "end_year"} <= fields


async def test_changing_an_envelope_needs_if_match(client: httpx.AsyncClient) -> None:
    await make_envelope(client)
    url = "/api/v1/envelopes/test-envelope"
    read = await client.get(url)
    etag = read.headers["etag"]
    assert (await client.get(url, headers={"If-None-Match": etag})).status_code == 304
    change = {"name": "Renamed", "themes": ["export", "innovation"]}
    assert (await client.patch(url, json=change, headers=ADMIN)).status_code == 428
    stale = {**ADMIN, "If-Match": '"stale"'}
    r = await client.patch(url, json=change, headers=stale)
    assert r.status_code == 412 and r.json()["current_etag"] == etag
    r = await client.patch(url, json=change, headers={**ADMIN, "If-Match": etag})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Renamed" and r.json()["themes"] == ["export", "innovation"]
    assert r.headers["etag"] == (await client.get(url)).headers["etag"] != etag


async def test_another_operator_cannot_change_an_envelope(client: httpx.AsyncClient) -> None:
    await make_envelope(client)
    url = "/api/v1/envelopes/test-envelope"
    etag = (await client.get(url)).headers["etag"]
    r = await client.patch(url, json={"name": "Mine"}, headers={**BDT, "If-Match": etag})
    assert r.status_code == 403


async def test_a_tranche_is_topped_up_and_never_cut_below_what_is_committed(
    client: httpx.AsyncClient,
) -> None:
    await make_envelope(client, tranches={2024: 10 * M})
    await allocate(client, amount_cents=6 * M)
    url = "/api/v1/envelopes/test-envelope/tranches/2024/adjustments"
    r = await client.post(url, json={"delta_cents": -5 * M, "reason": "cut"}, headers=ADMIN)
    assert r.status_code == 409 and r.json()["committed_cents"] == 6 * M
    r = await client.post(url, json={"delta_cents": 2 * M, "reason": "top-up"}, headers=BPI)
    assert r.status_code == 200
    assert r.json()["amount_cents"] == 12 * M and r.json()["available_cents"] == 6 * M
    r = await client.post(url, json={"delta_cents": 0, "reason": "nothing"}, headers=BPI)
    assert r.status_code == 422


async def test_a_new_year_is_opened_once(client: httpx.AsyncClient) -> None:
    await make_envelope(client, tranches={2024: 10 * M, 2026: 1 * M})
    url = "/api/v1/envelopes/test-envelope/tranches"
    r = await client.post(url, json={"year": 2025, "amount_cents": 5 * M}, headers=BPI)
    assert r.status_code == 201 and r.headers["location"].endswith("/2025")
    r = await client.post(url, json={"year": 2025, "amount_cents": 5 * M}, headers=BPI)
    assert r.status_code == 409
    r = await client.post(url, json={"year": 2030, "amount_cents": 5 * M}, headers=BPI)
    assert r.status_code == 422


async def test_unknown_records_are_404_problems(client: httpx.AsyncClient) -> None:
    for url in (
        "/api/v1/envelopes/nope",
        "/api/v1/envelopes/bdt-fonds-propres-2019-2022/tranches/2030",
        "/api/v1/conventions/nope",
        "/api/v1/allocations/00000000-0000-0000-0000-000000000000",
    ):
        r = await client.get(url)
        assert r.status_code == 404, url
        assert r.json()["status"] == 404 and r.json()["request_id"]


async def test_lists_page_with_cursors_and_refuse_a_forged_one(client: httpx.AsyncClient) -> None:
    first = await client.get("/api/v1/envelopes", params={"limit": 4, "sort": "-start_year"})
    assert first.status_code == 200
    page = first.json()
    assert len(page["items"]) == 4 and page["next_cursor"]
    assert 'rel="next"' in first.headers["link"]
    seen = [e["code"] for e in page["items"]]
    while page["next_cursor"]:
        page = (
            await client.get(
                "/api/v1/envelopes",
                params={"limit": 4, "sort": "-start_year", "cursor": page["next_cursor"]},
            )
        ).json()
        seen += [e["code"] for e in page["items"]]
    assert len(seen) == len(set(seen)) == 10
    r = await client.get("/api/v1/envelopes", params={"cursor": "garbage!"})
    assert r.status_code == 400
    r = await client.get("/api/v1/envelopes", params={"sort": "nope"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "sort"


async def test_envelopes_filter_by_operator_theme_and_year(client: httpx.AsyncClient) -> None:
    def codes(r: httpx.Response) -> set[str]:
        return {e["code"] for e in r.json()["items"]}

    r = await client.get("/api/v1/envelopes", params={"operator": "bpifrance"})
    assert codes(r) == {"rebond-industriel-aides"}
    r = await client.get("/api/v1/envelopes", params={"theme": "ingenierie", "year": 2024})
    assert codes(r) == {"rebond-industriel-ingenierie"}


async def test_envelopes_and_conventions_export_as_csv(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/envelopes", headers={"Accept": "text/csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = r.text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("code,operator_code") and len(lines) == 11
    r = await client.get("/api/v1/conventions", params={"format": "csv"})
    assert len(r.text.lstrip("\ufeff").splitlines()) == 5


async def test_a_convention_is_created_and_changed_by_its_operator(
    client: httpx.AsyncClient,
) -> None:
    body = {
        "code": "2025-bpifrance",
        "operator_code": "bpifrance",
        "title": "Avenant",
        "signed_on": "2025-01-10",
    }
    assert (await client.post("/api/v1/conventions", json=body, headers=BDT)).status_code == 403
    r = await client.post("/api/v1/conventions", json=body, headers=BPI)
    assert r.status_code == 201
    assert (await client.post("/api/v1/conventions", json=body, headers=BPI)).status_code == 409
    url = "/api/v1/conventions/2025-bpifrance"
    r = await client.patch(
        url, json={"place": "Paris"}, headers={**BPI, "If-Match": r.headers["etag"]}
    )
    assert r.status_code == 200 and r.json()["place"] == "Paris" and r.json()["version"] == 2


def test_every_rule_is_stored_in_its_column_and_read_back() -> None:
    """set_rules and rules_of share one table of rules and columns: each rule goes to its own
    column (`text` to `rules_text`) and comes back unchanged."""
    rules = Rules(
        max_rate_percent=40,
        cap_per_project_cents=2 * M,
        cap_waivable=True,
        min_eligible_spending_cents=M,
        examined_by="bpifrance",
        text="Forty per cent at most.",
    )
    envelope = Envelope()
    set_rules(envelope, rules)
    assert (envelope.rules_text, envelope.examined_by, envelope.max_rate_percent) == (
        "Forty per cent at most.",
        "bpifrance",
        40,
    )
    assert rules_of(envelope) == rules
