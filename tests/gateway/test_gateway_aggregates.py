"""The dossier and the dashboard over the real services, whole, cached, and partial."""

from __future__ import annotations

import csv
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from gateway_testing import API, TIGHT, FakeService, running_gateway

from registry.seed.loader import DATA
from tdi_kit.testing import bearer

NFC = "ti-2708"  # Nord Franche-Comté, phase 2, region 27
PMA, BELFORT = "200065647", "200069052"
M = 100_000_000  # one million euros, in cents
ADMIN = bearer("admin", sub="gateway-tests")
CONTRACTS_WRITER = bearer("contracts:write", sub="gateway-tests")
BUDGET, MARGIN = TIGHT["budget_seconds"], 0.5


def contract_body() -> dict[str, Any]:
    return {
        "territory_code": NFC,
        "kind": "contrat",
        "title": "Contrat de territoire d'industrie Nord Franche-Comté",
        "enjeux": ["hydrogène", "compétences industrielles"],
        "start_year": 2023,
        "end_year": 2027,
        "signatories": [
            {"role": "prefet", "organisation_code": "prefecture-27"},
            {"role": "president_region", "organisation_code": "region-27"},
            {"role": "president_epci", "siren": PMA},
            {"role": "president_epci", "siren": BELFORT},
        ],
        "actions": [
            {
                "code": "FA-01",
                "title": "Centre d'essais hydrogène",
                "priority": "innovation",
                "themes": ["hydrogene"],
                "budget_cents": 20 * M,
                "plan_lines": [{"financer_code": "bpifrance", "amount_cents": 6 * M}],
            },
            {
                "code": "FA-02",
                "title": "École de production",
                "priority": "competences",
                "themes": ["ecole-de-production"],
                "budget_cents": 3 * M,
            },
        ],
    }


def allocation(**fields: Any) -> dict[str, Any]:
    return {
        "envelope_code": "gw-test-envelope",
        "year": 2024,
        "territory_code": NFC,
        "title": "Ligne de production",
        "beneficiary_name": "Entreprise test",
        "amount_cents": 3 * M,
        "status": "committed",
        **fields,
    }


@pytest.fixture(scope="module")
async def programme(suite: dict[str, str]) -> AsyncIterator[dict[str, Any]]:
    """A contract with two actions and three allocations, written through the gateway."""
    async with running_gateway(**suite) as (_, gw):
        r = await gw.post(
            f"{API}/envelopes",
            json={
                "code": "gw-test-envelope",
                "operator_code": "bpifrance",
                "name": "Enveloppe de test de la passerelle",
                "kind": "grant",
                "themes": ["innovation"],
                "start_year": 2024,
                "end_year": 2025,
                "tranches": [
                    {"year": 2024, "amount_cents": 100 * M},
                    {"year": 2025, "amount_cents": 100 * M},
                ],
            },
            headers=ADMIN,
        )
        assert r.status_code == 201, r.text
        r = await gw.post(f"{API}/contracts", json=contract_body(), headers=CONTRACTS_WRITER)
        assert r.status_code == 201, r.text
        contract = r.json()
        actions = {a["code"]: a for a in contract["actions"]}
        hydrogen = actions["FA-01"]["id"]
        funded = []
        for fields in (
            {"action_id": hydrogen, "amount_cents": 3 * M},
            {"action_id": hydrogen, "amount_cents": 2 * M, "year": 2025},
            {"amount_cents": 1 * M, "title": "Étude foncière"},
        ):
            r = await gw.post(f"{API}/allocations", json=allocation(**fields), headers=ADMIN)
            assert r.status_code == 201, r.text
            funded.append(r.json())
        r = await gw.post(
            f"{API}/allocations/{funded[0]['id']}/disbursements",
            json={"amount_cents": 1 * M},
            headers=ADMIN,
        )
        assert r.status_code == 201, r.text
        yield {"contract": contract, "actions": actions, "allocations": funded}


async def test_the_dossier_nests_actions_in_contracts_and_allocations_in_actions(
    suite: dict[str, str], programme: dict[str, Any]
) -> None:
    async with running_gateway(**suite) as (_, client):
        r = await client.get(f"{API}/territories/{NFC}/dossier")
    assert r.status_code == 200, r.text
    assert r.headers["etag"]
    assert "x-partial" not in r.headers
    dossier = r.json()
    assert dossier["partial"] is False
    assert dossier["problems"] == []
    assert dossier["territory"]["code"] == NFC
    assert len(dossier["territory"]["members"]) == 5
    [contract] = dossier["contracts"]
    assert contract["id"] == programme["contract"]["id"]
    actions = {a["code"]: a for a in contract["actions"]}
    assert set(actions) == {"FA-01", "FA-02"}
    hydrogen = actions["FA-01"]
    assert sorted(a["amount_cents"] for a in hydrogen["allocations"]) == [2 * M, 3 * M]
    assert actions["FA-02"]["allocations"] == []
    assert [a["title"] for a in dossier["allocations_without_action"]] == ["Étude foncière"]
    assert dossier["actions_without_contract"] == []

    balances = dossier["balances"]
    assert balances["totals"]["committed_cents"] == 6 * M
    assert balances["totals"]["disbursed_cents"] == 1 * M
    assert balances["totals"]["undisbursed_cents"] == 5 * M
    assert {b["year"]: b["committed_cents"] for b in balances["by_year"]} == {
        2024: 4 * M,
        2025: 2 * M,
    }


async def test_the_dossiers_balances_are_funding_balances(
    suite: dict[str, str], programme: dict[str, Any]
) -> None:
    async with running_gateway(**suite) as (_, client):
        dossier = (await client.get(f"{API}/territories/{NFC}/dossier")).json()
        for by, key in (("operator", "operator_code"), ("year", "year")):
            r = await client.get(f"{API}/balances", params={"territory": NFC, "by": by})
            assert r.status_code == 200, r.text
            ledger = {
                i[key]: (i["committed_cents"], i["disbursed_cents"]) for i in r.json()["items"]
            }
            ours = {
                b[key]: (b["committed_cents"], b["disbursed_cents"])
                for b in dossier["balances"][f"by_{by}"]
            }
            assert ours == ledger
        # The operators' names too, from funding's allocations as from its balances.
        r = await client.get(f"{API}/balances", params={"territory": NFC, "by": "operator"})
        names = {i["operator_code"]: i["operator_name"] for i in r.json()["items"]}
        ours = {b["operator_code"]: b["operator_name"] for b in dossier["balances"]["by_operator"]}
        assert ours == names and all(names.values())


async def test_the_dossier_answers_304_to_its_own_etag(
    suite: dict[str, str], programme: dict[str, Any]
) -> None:
    async with running_gateway(**suite) as (_, client):
        first = await client.get(f"{API}/territories/{NFC}/dossier")
        etag = first.headers["etag"]
        again = await client.get(
            f"{API}/territories/{NFC}/dossier", headers={"If-None-Match": etag}
        )
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == etag
        other = await client.get(f"{API}/territories/2707/dossier", headers={"If-None-Match": etag})
        assert other.status_code == 200
        assert other.headers["etag"] != etag


async def test_an_unknown_territory_has_no_dossier(suite: dict[str, str]) -> None:
    async with running_gateway(**suite) as (_, client):
        r = await client.get(f"{API}/territories/9999/dossier")
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"
        assert (await client.get(f"{API}/territories/nope/dossier")).status_code == 422


# When a service fails ---------------------------------------------------------------------


async def test_funding_down_leaves_the_dossier_whole_but_partial(
    suite: dict[str, str], programme: dict[str, Any], closed_url: str
) -> None:
    async with running_gateway(**{**suite, "funding_url": closed_url}, **TIGHT) as (_, client):
        started = time.monotonic()
        r = await client.get(f"{API}/territories/{NFC}/dossier")
        assert time.monotonic() - started < BUDGET + MARGIN
    assert r.status_code == 200
    assert r.headers["x-partial"] == "funding"
    assert "etag" not in r.headers
    assert r.headers["cache-control"] == "no-store"
    dossier = r.json()
    assert dossier["partial"] is True
    [problem] = dossier["problems"]
    assert (problem["service"], problem["part"], problem["status"]) == ("funding", "funding", 503)
    assert problem["type"] == "urn:tdi:problem:unavailable"
    assert dossier["balances"] is None
    assert dossier["allocations_without_action"] is None
    [contract] = dossier["contracts"]
    assert all(a["allocations"] is None for a in contract["actions"])


@pytest.mark.parametrize(
    ("mode", "status"), [("slow", 504), ("error", 502), ("garbage", 502), ("closed", 503)]
)
async def test_a_failing_optional_part_is_one_problem_within_the_budget(
    suite: dict[str, str],
    programme: dict[str, Any],
    fake: FakeService,
    fake_url: str,
    closed_url: str,
    mode: str,
    status: int,
) -> None:
    fake.mode = mode
    contracts_url = closed_url if mode == "closed" else fake_url
    async with running_gateway(**{**suite, "contracts_url": contracts_url}, **TIGHT) as (_, client):
        started = time.monotonic()
        r = await client.get(f"{API}/territories/{NFC}/dossier")
        elapsed = time.monotonic() - started
    assert elapsed < BUDGET + MARGIN
    assert r.status_code == 200
    assert r.headers["x-partial"] == "contracts"
    dossier = r.json()
    assert dossier["partial"] is True
    assert [(p["service"], p["status"]) for p in dossier["problems"]] == [("contracts", status)]
    assert dossier["contracts"] is None
    # Without the actions, every allocation is still shown.
    assert len(dossier["allocations_without_action"]) == 3
    assert dossier["balances"]["totals"]["committed_cents"] == 6 * M


@pytest.mark.parametrize(
    ("mode", "status"), [("slow", 504), ("error", 502), ("garbage", 502), ("closed", 503)]
)
async def test_a_failing_required_part_fails_the_dossier_naming_the_service(
    suite: dict[str, str],
    fake: FakeService,
    fake_url: str,
    closed_url: str,
    mode: str,
    status: int,
) -> None:
    fake.mode = mode
    registry_url = closed_url if mode == "closed" else fake_url
    async with running_gateway(**{**suite, "registry_url": registry_url}, **TIGHT) as (_, client):
        started = time.monotonic()
        r = await client.get(f"{API}/territories/{NFC}/dossier")
        elapsed = time.monotonic() - started
    assert elapsed < BUDGET + MARGIN
    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["service"] == "registry"
    assert problem["instance"] == f"{API}/territories/{NFC}/dossier"


async def test_every_part_slow_still_answers_within_the_budget(
    suite: dict[str, str], fake: FakeService, fake_url: str
) -> None:
    fake.mode = "slow"
    urls = {
        "registry_url": suite["registry_url"],
        "funding_url": fake_url,
        "contracts_url": fake_url,
    }
    async with running_gateway(**urls, **TIGHT) as (_, client):
        started = time.monotonic()
        r = await client.get(f"{API}/territories/{NFC}/dossier")
        elapsed = time.monotonic() - started
    assert elapsed < BUDGET + MARGIN
    assert r.status_code == 200
    assert r.headers["x-partial"] == "contracts, funding"
    assert sorted(p["service"] for p in r.json()["problems"]) == ["contracts", "funding"]


async def test_a_breaker_opened_by_failures_answers_at_once(
    suite: dict[str, str], fake: FakeService, fake_url: str
) -> None:
    fake.mode = "error"
    async with running_gateway(**{**suite, "funding_url": fake_url}, **TIGHT) as (app, client):
        for _ in range(3):
            await client.get(f"{API}/territories/{NFC}/dossier")
        assert app.services.funding.breaker.state == "open"
        calls = fake.calls
        r = await client.get(f"{API}/territories/{NFC}/dossier")
        assert fake.calls == calls
        [problem] = r.json()["problems"]
        assert problem["status"] == 503
        assert "circuit breaker" in problem["detail"]


# The dashboard ------------------------------------------------------------------------------


async def test_the_national_dashboard_counts_every_part(
    suite: dict[str, str], programme: dict[str, Any]
) -> None:
    async with running_gateway(**suite) as (_, client):
        r = await client.get(f"{API}/dashboard")
        assert r.status_code == 200, r.text
        board = r.json()
        balances = (await client.get(f"{API}/balances", params={"by": "operator"})).json()
    assert board["partial"] is False
    assert board["region"] is None
    territories = board["territories"]
    # The current phase by default; the other phase is in `by_phase`, and on request.
    assert territories["phase"] == 2
    assert territories["total"] == 183
    assert {c["key"]: c["count"] for c in territories["by_phase"]} == {1: 148, 2: 183}
    assert territories["by_status"] == [{"key": "active", "count": 183}]
    assert any(
        (r["region_code"], r["phase"]) == ("27", 2) and r["count"] > 0
        for r in territories["by_region"]
    )
    assert board["contracts"]["total"] == 1
    assert board["contracts"]["by_status"] == [{"key": "draft", "count": 1}]
    assert {c["key"]: c["count"] for c in board["actions"]["by_priority"]} == {
        "competences": 1,
        "innovation": 1,
    }
    assert board["money"]["totals"] == balances["totals"]
    assert board["money"]["by_operator"] == balances["items"]
    # Names beside codes, as funding's breakdowns give them (its copy of the registry's).
    operators = {b["operator_code"]: b["operator_name"] for b in board["money"]["by_operator"]}
    assert operators["bpifrance"] == "Bpifrance"
    funders = {b["funder_code"]: b["funder_label"] for b in board["money"]["by_funder"]}
    assert funders["etat"] == "État" and all(funders.values())
    assert {y["year"] for y in board["money"]["by_year"]} >= {2024, 2025}


async def test_a_regional_dashboard_counts_only_that_region(
    suite: dict[str, str], programme: dict[str, Any]
) -> None:
    async with running_gateway(**suite) as (_, client):
        board = (await client.get(f"{API}/dashboard", params={"region": "27"})).json()
        elsewhere = (await client.get(f"{API}/dashboard", params={"region": "84"})).json()
        invalid = await client.get(f"{API}/dashboard", params={"region": "x"})
    assert board["region"] == "27"
    assert 0 < board["territories"]["total"] < 183
    assert {r["region_code"] for r in board["territories"]["by_region"]} == {"27"}
    assert board["contracts"]["total"] == 1
    assert elsewhere["contracts"]["total"] == 0
    assert elsewhere["money"]["totals"]["committed_cents"] == 0
    assert invalid.status_code == 422


def _official_regions(phase: int) -> Counter[str]:
    """Territories per official Région in the registry's shipped seed (ANCT's for phase 2)."""
    with (DATA / "territories.csv").open(encoding="utf-8", newline="") as f:
        return Counter(t["region_code"] for t in csv.DictReader(f) if t["phase"] == str(phase))


async def test_the_dashboard_counts_each_territory_once_in_its_official_region(
    suite: dict[str, str],
) -> None:
    async with running_gateway(**suite) as (_, client):
        current = (await client.get(f"{API}/dashboard")).json()["territories"]
        ended = (await client.get(f"{API}/dashboard", params={"phase": 1})).json()["territories"]
        bfc = (await client.get(f"{API}/dashboard", params={"region": "27"})).json()
        bad = await client.get(f"{API}/dashboard", params={"phase": 3})
    for counts, phase, total in ((current, 2, 183), (ended, 1, 148)):
        assert counts["phase"] == phase
        assert counts["total"] == total
        # Each territory once, in its official Région: the regions add up to the phase's total.
        assert sum(r["count"] for r in counts["by_region"]) == total
        assert {r["region_code"]: r["count"] for r in counts["by_region"]} == _official_regions(
            phase
        )
        assert all(r["phase"] == phase for r in counts["by_region"])
    assert ended["by_status"] == [{"key": "ended", "count": 148}]
    nouvelle_aquitaine = next(r for r in current["by_region"] if r["region_code"] == "75")
    assert nouvelle_aquitaine["region_name"] == "Nouvelle-Aquitaine"
    # A regional dashboard counts the territories ANCT puts in the Région, not those touching it.
    assert bfc["territories"]["total"] == _official_regions(2)["27"]
    assert bfc["territories"]["by_region"] == [
        {
            "region_code": "27",
            "region_name": "Bourgogne-Franche-Comté",
            "phase": 2,
            "count": _official_regions(2)["27"],
        }
    ]
    assert bad.status_code == 422


async def test_the_programme_is_routed_to_the_registry(suite: dict[str, str]) -> None:
    async with running_gateway(**suite) as (_, client):
        programme = await client.get(f"{API}/programme")
        milestones = await client.get(
            f"{API}/programme/milestones", params={"as_of": "2019-06-01", "measure": "territories"}
        )
    assert programme.status_code == 200, programme.text
    assert programme.json()["current_phase"] == 2
    assert milestones.status_code == 200, milestones.text
    [count] = milestones.json()["items"]
    assert (count["value"], count["date"]) == (136, "2019-03-05")


async def test_the_dashboard_has_its_etag_and_is_partial_without_funding(
    suite: dict[str, str], programme: dict[str, Any], closed_url: str
) -> None:
    async with running_gateway(**suite) as (_, client):
        first = await client.get(f"{API}/dashboard")
        again = await client.get(
            f"{API}/dashboard", headers={"If-None-Match": first.headers["etag"]}
        )
        assert again.status_code == 304
    async with running_gateway(**{**suite, "funding_url": closed_url}) as (_, client):
        r = await client.get(f"{API}/dashboard")
    assert r.status_code == 200
    assert r.headers["x-partial"] == "funding"
    board = r.json()
    assert board["money"] is None
    assert board["contracts"]["total"] == 1
    assert [p["service"] for p in board["problems"]] == ["funding"]


async def test_the_gateways_readiness_is_its_own_with_each_service_reported(
    suite: dict[str, str], closed_url: str
) -> None:
    """One service down never takes the gateway out of rotation (the others' traffic with it):
    /readyz stays 200 and reports the service's state and the class of its failure."""
    async with running_gateway(**suite) as (_, client):
        r = await client.get("/readyz")
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "ok"
        for state in r.json()["services"].values():
            assert state == {"state": "up", "breaker": "closed", "error": None, "last_error": None}
    async with running_gateway(**{**suite, "contracts_url": closed_url}) as (gateway, client):
        r = await client.get("/readyz")
        assert r.status_code == 200
        services = r.json()["services"]
        assert services["contracts"]["state"] == "down"
        assert services["contracts"]["error"] == "unreachable"
        assert services["registry"]["state"] == services["funding"]["state"] == "up"
        # The breaker, opened by traffic, is reported too; no driver or socket text ever is.
        for _ in range(gateway.settings.breaker_failures):
            await client.get(f"{API}/contracts")
        r = await client.get("/readyz")
        assert r.status_code == 200
        contracts = r.json()["services"]["contracts"]
        assert contracts["state"] == "breaker_open"
        assert contracts["breaker"] == "open"
        assert contracts["last_error"] == "unreachable"
        assert "127.0.0.1" not in r.text and "refused" not in r.text.lower()
        # The others still serve through it.
        assert (await client.get(f"{API}/territories/ti-2708")).status_code == 200
        assert (await client.get("/livez")).status_code == 200
        metrics = await client.get("/metrics")
        assert "http_requests_total" in metrics.text
        # Each service's state is in the metrics too, probed at each scrape.
        for name, up in (("registry", 1), ("funding", 1), ("contracts", 0)):
            series = f'gateway_upstream_up{{service="gateway",upstream="{name}"}} {up}.0'
            assert series in metrics.text, metrics.text
