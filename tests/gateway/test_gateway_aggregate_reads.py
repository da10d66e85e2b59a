"""How the aggregates read their parts: one round of calls, one call per service for the
dashboard, whose counts (computed by each service's database) are those the lists it read
before give, for every caller."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from gateway_testing import API, TIGHT, FakeService, running_gateway
from suite_testing import all_pages, contract_and_action_counts, territory_counts

from gateway.clients import ServiceClient
from tdi_kit.testing import bearer

NFC = "ti-2708"
DASHBOARDS = [
    {},
    {"region": "27"},
    {"phase": "1", "include_demo": "true"},
    {"region": "11", "phase": "2"},
]
OPERATOR = bearer("contracts:write", "funding:write", org="bpifrance", sub="operator")


async def _listed(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], **query: str
) -> list[dict[str, Any]]:
    pages = await all_pages(client, url, headers, limit=1000, **query)
    return [item for page in pages for item in page["items"]]


async def counted_from_lists(
    suite: dict[str, str], params: dict[str, str], headers: dict[str, str]
) -> dict[str, Any]:
    """The dashboard's territories, contracts and actions as the gateway counted them from the
    services' lists before the services counted them (its code then, as the oracle)."""
    where = {"region": params["region"]} if "region" in params else {}
    real_only = {} if params.get("include_demo") == "true" else {"is_demo": "false"}
    async with httpx.AsyncClient() as client:
        registry, contracts = suite["registry_url"], suite["contracts_url"]
        territories = await _listed(client, f"{registry}{API}/territories", headers, **where)
        programme = (await client.get(f"{registry}{API}/programme")).json()
        contract_items = await _listed(
            client, f"{contracts}{API}/contracts", headers, **where, **real_only
        )
        actions = await _listed(client, f"{contracts}{API}/actions", headers, **where, **real_only)
    phase = int(params["phase"]) if "phase" in params else programme["current_phase"]
    return {
        "territories": territory_counts(territories, phase),
        **contract_and_action_counts(contract_items, actions),
    }


@pytest.mark.parametrize("headers", [{}, OPERATOR], ids=["anonymous", "operator"])
async def test_the_dashboard_counts_what_the_lists_give(
    suite: dict[str, str], headers: dict[str, str]
) -> None:
    """Over the seed (the registry's 331 territories, contracts' demo records), for anonymous
    callers and an operator's token alike."""
    async with running_gateway(**suite) as (_, client):
        for params in DASHBOARDS:
            r = await client.get(f"{API}/dashboard", params=params, headers=headers)
            assert r.status_code == 200, (params, r.text)
            board = r.json()
            expected = await counted_from_lists(suite, params, headers)
            assert {k: board[k] for k in expected} == expected, params
    assert (await counted_from_lists(suite, {}, {}))["territories"]["total"] == 183


async def test_counts_of_another_shape_are_a_bad_answer(
    suite: dict[str, str], fake: FakeService, fake_url: str
) -> None:
    """An answer that is JSON but no counts (the fake echoes the request) is a bad answer naming
    the member missing, not malformed JSON: it does not count against the service's breaker."""
    async with running_gateway(**{**suite, "contracts_url": fake_url}, **TIGHT) as (app, client):
        for _ in range(app.settings.breaker_failures + 1):
            r = await client.get(f"{API}/dashboard")
            assert r.status_code == 200, r.text
            [problem] = r.json()["problems"]
            assert (problem["service"], problem["status"]) == ("contracts", 502)
            assert "answered its counts without `contracts`" in problem["detail"]
        assert app.services.contracts.breaker.state == "closed"
    fake.mode = "garbage"
    async with running_gateway(**{**suite, "contracts_url": fake_url}, **TIGHT) as (app, client):
        r = await client.get(f"{API}/dashboard")
    [problem] = r.json()["problems"]
    assert "malformed JSON" in problem["detail"]
    assert app.services.contracts.breaker.consecutive_failures > 0


@pytest.mark.parametrize(
    ("path", "slow"),
    [
        (f"{API}/territories/{NFC}/dossier", {"contracts_url", "funding_url"}),
        (f"{API}/dashboard", {"contracts_url", "funding_url"}),
    ],
)
async def test_every_part_of_an_aggregate_is_asked_in_one_round(
    suite: dict[str, str],
    fake: FakeService,
    fake_url: str,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    slow: set[str],
) -> None:
    """The parts are asked at once, each once: slow parts cost one delay, not one each; the
    dashboard asks each service once."""
    fake.mode = "slow"
    monkeypatch.setattr(fake, "delay", 0.7)  # the fake outlives this test: its delay is put back
    calls: list[tuple[str, str]] = []
    get_json = ServiceClient.get_json

    async def counted(self: ServiceClient, path: str, **kwargs: Any) -> Any:
        calls.append((self.name, path))
        return await get_json(self, path, **kwargs)

    monkeypatch.setattr(ServiceClient, "get_json", counted)
    urls = {**suite, **dict.fromkeys(slow, fake_url)}
    async with running_gateway(**urls, **TIGHT) as (_, client):
        started = time.monotonic()
        r = await client.get(path)
        elapsed = time.monotonic() - started
    assert r.status_code == 200, r.text
    asked = sorted(seen["path"] for seen in fake.seen)
    expected = {
        "dossier": [f"{API}/allocations", f"{API}/territories/{NFC}/contracts"],
        "dashboard": [f"{API}/balances/breakdowns", f"{API}/contracts/counts"],
    }
    assert asked == expected["dossier" if "dossier" in path else "dashboard"]
    if "dashboard" in path:  # three calls, one per service
        assert sorted(calls) == [
            ("contracts", f"{API}/contracts/counts"),
            ("funding", f"{API}/balances/breakdowns"),
            ("registry", f"{API}/programme/counts"),
        ]
    # Sequential calls would take a delay each (two or three); concurrent ones take one.
    assert elapsed < 2 * fake.delay, elapsed
