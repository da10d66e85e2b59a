from __future__ import annotations

import httpx
from funding_cases import M

from funding.seed.demo import load_demo
from funding.seed.loader import load
from tdi_kit.app import ServiceApp


async def test_the_four_conventions_of_5_march_2019_are_seeded(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/conventions")
    assert r.status_code == 200
    items = {c["operator_code"]: c for c in r.json()["items"]}
    assert set(items) == {
        "banque-des-territoires",
        "bpifrance",
        "business-france",
        "france-travail",
    }
    assert {c["signed_on"] for c in items.values()} == {"2019-03-05"}
    assert "26 M€" in items["banque-des-territoires"]["commitments"]
    assert all(c["sources"] and not c["is_demo"] for c in items.values())


async def test_seeded_envelopes_carry_their_real_figures_and_rules(
    client: httpx.AsyncClient,
) -> None:
    bdt = (await client.get("/api/v1/envelopes/bdt-fonds-propres-2019-2022")).json()
    assert [(t["year"], t["amount_cents"]) for t in bdt["tranches"]] == [
        (y, 100 * M) for y in range(2019, 2023)
    ]
    assert bdt["kind"] == "equity" and bdt["convention_code"] == "2019-banque-des-territoires"

    fa = (await client.get("/api/v1/envelopes/fonds-acceleration-2020-2022")).json()
    assert fa["totals"]["amount_cents"] == 400 * M + 2985 * M // 10 + 150 * M
    assert fa["rules"] == {
        "max_rate_percent": 50,
        "cap_per_project_cents": 80_000_000,
        "cap_waivable": True,
        "min_eligible_spending_cents": 20_000_000,
        "examined_by": "bpifrance",
        "text": fa["rules"]["text"],
    }
    ing = (await client.get("/api/v1/envelopes/bdt-ingenierie-2019-2022")).json()
    assert ing["totals"]["amount_cents"] == 26 * M and ing["rules"]["max_rate_percent"] == 50
    phase2 = (await client.get("/api/v1/envelopes/phase-2-2023-2027")).json()
    assert phase2["totals"]["amount_cents"] == 500 * M


async def test_the_seed_loads_again_without_changing_anything(
    client: httpx.AsyncClient, funding_app: ServiceApp
) -> None:
    async with funding_app.state.sessionmaker() as session:
        report = await load(session, say=lambda _line: None)
        await session.commit()
    assert all(c.added == 0 and c.changed == 0 for c in report.values())


async def test_demo_data_is_loaded_on_request_and_marked_demo(
    client: httpx.AsyncClient, funding_app: ServiceApp
) -> None:
    assert (await client.get("/api/v1/allocations")).json()["items"] == []
    async with funding_app.state.sessionmaker() as session:
        first = await load_demo(session, say=lambda _line: None)
        second = await load_demo(session, say=lambda _line: None)
        await session.commit()
    assert first["allocations"].added == 10 and second["allocations"].added == 0
    items = (await client.get("/api/v1/allocations", params={"limit": 100})).json()["items"]
    assert len(items) == 9  # the proposed one is private
    assert all(a["is_demo"] and "démo" in a["beneficiary_name"] for a in items)
    statuses = {a["reference"]: a["status"] for a in items}
    assert statuses["demo-001"] == "fully_disbursed" and statuses["demo-004"] == "cancelled"
    # Balances leave demo records out unless asked (`exclude_demo`, an old spelling, is a 400).
    real = (await client.get("/api/v1/balances")).json()
    assert real["totals"]["committed_cents"] == 0 and real["include_demo"] is False
    with_demo = (await client.get("/api/v1/balances", params={"include_demo": "true"})).json()
    assert with_demo["totals"]["committed_cents"] > 0
    old = await client.get("/api/v1/balances", params={"exclude_demo": "true"})
    assert old.status_code == 400 and old.json()["errors"][0]["field"] == "exclude_demo"
