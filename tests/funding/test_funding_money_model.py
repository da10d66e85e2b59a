"""The money model on the seeded public record: who funds, nesting counted once, periods,
theme sets, reported figures apart from the ledger (null, never 0), and demo isolation."""

from __future__ import annotations

from typing import Any

import httpx
from funding_cases import ADMIN, M, make_envelope

from funding.seed.demo import load_demo
from tdi_kit.app import ServiceApp

# The seed's envelopes, each euro once: the Rebond industriel's 100 M€ is within phase 2's 500.
TOP_LEVEL = {
    "bdt-fonds-propres-2019-2022": 400 * M,
    "bdt-ingenierie-2019-2022": 26 * M,
    "chefs-de-projet-phase-1": 75 * M // 10,
    "fonds-acceleration-2020-2022": 8485 * M // 10,
    "bdt-relance-fonds-propres": 800 * M,
    "bdt-relance-prets": 250 * M,
    "phase-2-2023-2027": 500 * M,
    "fonds-vert-ti-2024": 100 * M,
}
NATIONAL = sum(TOP_LEVEL.values())  # 2,932 M€


async def _balances(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    r = await client.get("/api/v1/balances", params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def test_the_2021_top_up_is_split_between_the_state_and_the_regions(
    client: httpx.AsyncClient,
) -> None:
    fonds = (await client.get("/api/v1/envelopes/fonds-acceleration-2020-2022")).json()
    assert fonds["operator_code"] == "anct" and fonds["rules"]["examined_by"] == "bpifrance"
    funders = {f["funder_code"]: f["amount_cents"] for f in fonds["funders"]}
    # 150 + 250 + 141.5 + 15.5 of the State, 141.5 of the Régions, and the 150 M€ of
    # 2021-09-06 whose funder no source names.
    assert funders == {"etat": 557 * M, "regions": 1415 * M // 10, None: 150 * M}
    assert sum(funders.values()) == fonds["totals"]["amount_cents"]
    national = await _balances(client, by="funder")
    by_funder = {i["funder_code"]: i for i in national["items"]}
    assert by_funder["regions"]["amount_cents"] == 1415 * M // 10
    assert by_funder["regions"]["funder_label"].startswith("Régions")
    assert by_funder["regions"]["committed_cents"] is None  # not attributable to a funder
    assert sum(i["amount_cents"] for i in national["items"]) == national["totals"]["amount_cents"]
    ledger = await client.get(
        "/api/v1/ledger",
        params={"envelope": "fonds-acceleration-2020-2022", "limit": 100},
        headers=ADMIN,
    )
    regions = [e for e in ledger.json()["items"] if e["funder_code"] == "regions"]
    assert [(e["amount_delta_cents"], e["effective_on"]) for e in regions] == [
        (1415 * M // 10, "2021-03-23")
    ]


async def test_rebond_industriel_is_counted_once_within_phase_2(
    client: httpx.AsyncClient,
) -> None:
    phase2 = (await client.get("/api/v1/envelopes/phase-2-2023-2027")).json()
    assert phase2["parts"] == ["rebond-industriel-aides", "rebond-industriel-ingenierie"]
    rebond = (await client.get("/api/v1/envelopes/rebond-industriel-aides")).json()
    assert rebond["part_of"] == "phase-2-2023-2027"
    report = await _balances(client, by="envelope")
    items = {i["envelope_code"]: i["amount_cents"] for i in report["items"]}
    assert items["phase-2-2023-2027"] == 400 * M  # what it holds outside its parts
    assert items["rebond-industriel-aides"] == 90 * M
    assert items["rebond-industriel-ingenierie"] == 10 * M
    assert report["totals"]["amount_cents"] == NATIONAL
    assert sum(items.values()) == NATIONAL
    assert any("within phase-2-2023-2027" in n for n in report["notes"])
    by_operator = await _balances(client, by="operator")
    operators = {i["operator_code"]: i["amount_cents"] for i in by_operator["items"]}
    assert operators["bpifrance"] == 90 * M
    assert sum(operators.values()) == NATIONAL


async def test_a_part_never_holds_more_than_its_whole(client: httpx.AsyncClient) -> None:
    await make_envelope(client, code="whole", tranches={2024: 10 * M})
    r = await client.post(
        "/api/v1/envelopes",
        json={
            "code": "too-big-part",
            "operator_code": "bpifrance",
            "part_of": "whole",
            "name": "Part",
            "kind": "grant",
            "start_year": 2024,
            "end_year": 2024,
            "tranches": [{"year": 2024, "amount_cents": 11 * M}],
        },
        headers=ADMIN,
    )
    assert r.status_code == 409, r.text
    assert r.json()["parts_amount_cents"] == 11 * M
    assert (await client.get("/api/v1/envelopes/too-big-part")).status_code == 404
    r = await client.post(
        "/api/v1/envelopes",
        json={
            "code": "orphan",
            "operator_code": "bpifrance",
            "part_of": "no-such-envelope",
            "name": "Part",
            "kind": "grant",
            "start_year": 2024,
            "end_year": 2024,
        },
        headers=ADMIN,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "part_of"


async def test_money_with_no_annual_split_belongs_to_its_period(
    client: httpx.AsyncClient,
) -> None:
    report = await _balances(client, by="envelope,year", envelope="rebond-industriel-aides")
    assert [(i["year"], i["period"], i["amount_cents"]) for i in report["items"]] == [
        (None, "2023-2026", 90 * M)
    ]
    by_year = await _balances(client, by="year")
    periods = {i["period"]: i for i in by_year["items"]}
    assert periods["2023"]["amount_cents"] == 100 * M  # phase 2's own, nothing of Rebond
    assert periods["2021-2022"]["year"] is None
    assert sum(i["amount_cents"] for i in by_year["items"]) == NATIONAL
    # The carve-out and Rebond's own amount meet in the same period: nothing is added there.
    assert periods["2023-2026"]["amount_cents"] == 0


async def test_a_multi_theme_envelope_counts_once_under_its_theme_set(
    client: httpx.AsyncClient,
) -> None:
    report = await _balances(client, by="theme")
    assert sum(i["amount_cents"] for i in report["items"]) == NATIONAL
    sets = {i["theme"]: i for i in report["items"]}
    fonds_propres = ",".join(
        sorted(
            [
                "foncier",
                "immobilier-industriel",
                "friche",
                "numerique",
                "ecologie-industrielle",
                "mobilite",
            ]
        )
    )
    assert sets[fonds_propres]["amount_cents"] == 400 * M
    assert len(sets[fonds_propres]["themes"]) == 6


async def test_a_figure_nobody_published_is_null_and_reported_ones_stay_apart(
    client: httpx.AsyncClient,
) -> None:
    vert = (await client.get("/api/v1/envelopes/fonds-vert-ti-2024")).json()
    assert vert["totals"]["committed_cents"] == 0  # recorded here: nothing pushed
    committed = vert["reported"]["committed"]
    assert committed["value_cents"] == 63 * M and committed["as_of"] == "2024"
    assert committed["measure"] == "committed" and committed["source_title"]
    assert vert["reported"]["disbursed"] is None  # nobody published it: null, not 0
    assert vert["reported"]["engaged"] is None
    bdt = (await client.get("/api/v1/envelopes/bdt-fonds-propres-2019-2022")).json()
    engaged = bdt["reported"]["engaged"]
    assert engaged["value_cents"] == 180 * M and engaged["as_of"] == "2019-09-24"
    assert "108 M€" in engaged["caveat"] and engaged["scope"] == "convention"
    assert bdt["totals"]["committed_cents"] == 0
    cdp = (await client.get("/api/v1/envelopes/chefs-de-projet-phase-1")).json()
    assert cdp["reported"] == {"engaged": None, "committed": None, "disbursed": None, "figures": []}
    national = await _balances(client, by="operator")
    codes = {f["code"] for f in national["reported"]}
    assert {"bdt-engaged-2019-09-24", "fonds-vert-committed-2024", "engaged-2019-09-24"} <= codes
    # Reported figures never enter the recorded sums.
    assert national["totals"]["committed_cents"] == 0
    listed = await client.get("/api/v1/reported-figures", params={"measure": "committed"})
    assert listed.status_code == 200
    assert "fonds-vert-committed-2024" in {f["code"] for f in listed.json()["items"]}
    one = await client.get("/api/v1/reported-figures/bdt-engaged-2019-09-24")
    assert one.status_code == 200 and one.json()["operator_code"] == "banque-des-territoires"


async def test_demo_money_stays_out_of_balances_and_is_filtered_in_lists(
    client: httpx.AsyncClient, funding_app: ServiceApp
) -> None:
    async with funding_app.state.sessionmaker() as session:
        await load_demo(session, say=lambda _line: None)
        await session.commit()
    real = await _balances(client, by="operator")
    assert real["include_demo"] is False
    assert real["totals"]["committed_cents"] == 0
    assert real["totals"]["amount_cents"] == NATIONAL
    demo = await _balances(client, by="operator", include_demo="true")
    assert demo["totals"]["committed_cents"] > 0
    assert sum(i["committed_cents"] for i in demo["items"]) == demo["totals"]["committed_cents"]
    demo_rows = await client.get("/api/v1/allocations", params={"is_demo": "true", "limit": 100})
    assert demo_rows.json()["items"] and all(a["is_demo"] for a in demo_rows.json()["items"])
    real_rows = await client.get("/api/v1/allocations", params={"is_demo": "false"})
    assert real_rows.json()["items"] == []
    ledger = await client.get("/api/v1/ledger", params={"is_demo": "true"}, headers=ADMIN)
    assert ledger.json()["items"] and all(e["is_demo"] for e in ledger.json()["items"])
    envelopes = await client.get("/api/v1/envelopes", params={"is_demo": "true"})
    assert envelopes.json()["items"] == []
    conventions = await client.get("/api/v1/conventions", params={"is_demo": "false"})
    assert len(conventions.json()["items"]) == 4
