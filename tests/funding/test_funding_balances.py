from __future__ import annotations

import httpx
from funding_cases import ADMIN, ANCT, BDT, BPI, M, allocate, make_envelope


async def _scenario(client: httpx.AsyncClient) -> None:
    await make_envelope(client, tranches={2024: 10 * M, 2025: 20 * M}, themes=["innovation"])
    a = await allocate(client, amount_cents=4 * M, territory_code="2708")  # regions 27 and 84
    await allocate(client, amount_cents=3 * M, territory_code="ti-2708", year=2025)  # region 27
    await client.post(
        f"/api/v1/allocations/{a['id']}/disbursements", json={"amount_cents": M}, headers=BPI
    )


async def test_balances_are_the_ledger_sums_per_tranche(client: httpx.AsyncClient) -> None:
    await _scenario(client)
    r = await client.get("/api/v1/balances", params={"by": "tranche", "envelope": "test-envelope"})
    assert r.status_code == 200
    assert [
        (b["year"], b["amount_cents"], b["committed_cents"], b["disbursed_cents"])
        for b in r.json()["items"]
    ] == [(2024, 10 * M, 4 * M, M), (2025, 20 * M, 3 * M, 0)]
    assert r.json()["totals"]["available_cents"] == 23 * M


async def test_a_territory_in_two_regions_counts_in_both(client: httpx.AsyncClient) -> None:
    await _scenario(client)
    r = await client.get("/api/v1/balances", params={"by": "region", "envelope": "test-envelope"})
    regions = {b["region_code"]: b for b in r.json()["items"]}
    assert regions["27"]["committed_cents"] == 7 * M and regions["84"]["committed_cents"] == 4 * M
    assert regions["27"]["amount_cents"] is None and regions["27"]["available_cents"] is None
    assert r.json()["totals"]["committed_cents"] == 7 * M  # each movement once
    r = await client.get("/api/v1/balances", params={"by": "territory,year"})
    rows = {(b["territory_code"], b["year"]): b["undisbursed_cents"] for b in r.json()["items"]}
    assert rows == {("2708", 2024): 3 * M, ("ti-2708", 2025): 3 * M}


async def test_balances_group_by_operator_theme_and_year(client: httpx.AsyncClient) -> None:
    await _scenario(client)
    r = await client.get("/api/v1/balances", params={"by": "operator,year", "year": 2024})
    rows = {(b["operator_code"], b["year"]): b for b in r.json()["items"]}
    assert rows[("bpifrance", 2024)]["amount_cents"] == 10 * M
    assert rows[("anct", 2024)]["amount_cents"] == 200 * M  # phase 2 and the Fonds vert
    assert rows[("anct", 2024)]["operator_name"].startswith("Agence nationale de la cohésion")
    r = await client.get("/api/v1/balances", params={"by": "theme", "theme": "innovation"})
    assert r.json()["items"] == [
        {
            "envelope_code": None,
            "year": None,
            "period": None,
            "operator_code": None,
            "operator_name": None,
            "funder_code": None,
            "funder_label": None,
            "theme": "innovation",
            "themes": ["innovation"],
            "territory_code": None,
            "region_code": None,
            "amount_cents": 30 * M,
            "committed_cents": 7 * M,
            "disbursed_cents": M,
            "undisbursed_cents": 6 * M,
            "available_cents": 23 * M,
        }
    ]
    r = await client.get("/api/v1/balances", params={"by": "galaxy"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "by"


async def test_balances_export_as_csv(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/balances", params={"by": "envelope", "format": "csv"})
    lines = r.text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("envelope_code,year") and len(lines) == 11


async def test_the_ledger_is_read_with_a_token_each_operator_its_own(
    client: httpx.AsyncClient,
) -> None:
    await _scenario(client)
    assert (await client.get("/api/v1/ledger")).status_code == 401
    mine = (await client.get("/api/v1/ledger", headers=BPI, params={"limit": 1000})).json()
    kinds = [(e["kind"], e["envelope_code"]) for e in mine["items"]]
    assert ("commitment", "test-envelope") in kinds and ("disbursement", "test-envelope") in kinds
    # Bpifrance examines the Fonds d'accélération: it sees that envelope's movements too.
    assert {e["operator_code"] for e in mine["items"]} == {"bpifrance", "anct"}
    assert all(
        e["envelope_code"] == "fonds-acceleration-2020-2022"
        for e in mine["items"]
        if e["operator_code"] == "anct"
    )
    theirs = (await client.get("/api/v1/ledger", headers=BDT, params={"limit": 1000})).json()
    assert {e["operator_code"] for e in theirs["items"]} == {"banque-des-territoires"}
    commitment = next(e for e in mine["items"] if e["kind"] == "commitment")
    assert commitment["actor"] == "admin-user" and commitment["request_id"]
    everything = await client.get("/api/v1/ledger", headers=ADMIN, params={"format": "csv"})
    # The seed's 22 endowments (the 2021-03-23 top-up is one per funder), then the scenario's.
    assert len(everything.text.lstrip("\ufeff").splitlines()) == 1 + 22 + 2 + 3
    assert (await client.get("/api/v1/ledger", headers=ANCT)).status_code == 200
