"""How the aggregates read their parts: one round of calls, and the lists they only count read
for the counted members alone, with the same answers, byte for byte, as a whole parse gives."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest
from gateway_testing import API, TIGHT, FakeService, running_gateway

import gateway.aggregates
from gateway import dashboard
from gateway.aggregates import page_decoder
from gateway.dashboard import ACTION_FIELDS, CONTRACT_FIELDS, TERRITORY_FIELDS

NFC = "ti-2708"
DASHBOARDS = [
    f"{API}/dashboard",
    f"{API}/dashboard?region=27",
    f"{API}/dashboard?phase=1&include_demo=true",
    f"{API}/dashboard?region=11&phase=2",
]


def test_a_page_read_for_counts_keeps_only_the_counted_members() -> None:
    decode = page_decoder(("phase", "status"))
    page = decode(
        b'{"items":[{"code":"0101","phase":1,"status":"ended","regions":[{"code":"01"}]},'
        b'{"phase":2,"status":null},{"name":"x"}],"next_cursor":"abc","total":3}'
    )
    assert page == {
        "items": [{"phase": 1, "status": "ended"}, {"phase": 2, "status": None}, {}],
        "next_cursor": "abc",
    }
    assert decode is page_decoder(("phase", "status"))  # made once per set of members
    # Any other shape is refused, to be parsed whole and judged as before.
    for other in (b'{"items":3}', b"[]", b'{"items":[1]}', b'{"items": [1, 2', b""):
        with pytest.raises(ValueError):
            decode(other)


async def test_the_dashboard_is_the_same_bytes_as_with_a_whole_parse(
    suite: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same bodies and ETags whether the counted lists are read in part or parsed whole (over
    the seed: the registry's 331 territories, funding's money)."""
    async with running_gateway(**suite) as (_, client):
        fast = [await client.get(url) for url in DASHBOARDS]
    monkeypatch.setattr(gateway.aggregates, "page_decoder", lambda _fields: orjson.loads)
    async with running_gateway(**suite) as (_, client):
        whole = [await client.get(url) for url in DASHBOARDS]
    for url, a, b in zip(DASHBOARDS, fast, whole, strict=True):
        assert a.status_code == b.status_code == 200, (url, a.text)
        assert a.content == b.content, url
        assert a.headers["etag"] == b.headers["etag"], url
    assert fast[0].json()["territories"]["total"] == 183


def test_the_dashboard_counts_the_same_over_the_members_it_reads() -> None:
    """Counting items cut down to the members read gives the counts of whole items (a member
    left out would silently count as null)."""
    territories = [
        {"code": c, "phase": p, "status": s, "region_code": r, "region_name": f"R{r}", "x": 1}
        for c, p, s, r in [("a", 1, "ended", "27"), ("b", 2, "active", "27"), ("c", 2, None, "11")]
    ]
    contracts = [{"id": 1, "status": "signed", "kind": "contrat", "title": "t"}, {"id": 2}]
    actions = [
        {"phase": 1, "axis": "attirer", "priority": None, "status": "open", "title": "t"},
        {"phase": 2, "axis": None, "priority": "innovation", "status": "done", "title": "u"},
    ]

    def cut(items: list[dict[str, Any]], fields: tuple[str, ...]) -> list[dict[str, Any]]:
        return [{k: v for k, v in item.items() if k in fields} for item in items]

    few = cut(territories, TERRITORY_FIELDS)
    assert dashboard.territory_counts(few, 2) == dashboard.territory_counts(territories, 2)
    assert dashboard.counted_phase(None, few) == dashboard.counted_phase(None, territories)
    assert dashboard.contract_counts(cut(contracts, CONTRACT_FIELDS)) == (
        dashboard.contract_counts(contracts)
    )
    assert dashboard.action_counts(cut(actions, ACTION_FIELDS)) == (
        dashboard.action_counts(actions)
    )


async def test_a_counted_list_of_another_shape_is_judged_as_before(
    suite: dict[str, str], fake: FakeService, fake_url: str
) -> None:
    """An answer that is JSON but no page (the fake echoes the request) is a bad answer naming
    the list, not malformed JSON: it does not count against the service's breaker."""
    async with running_gateway(**{**suite, "contracts_url": fake_url}, **TIGHT) as (app, client):
        for _ in range(app.settings.breaker_failures + 1):
            r = await client.get(f"{API}/dashboard")
            assert r.status_code == 200, r.text
            [problem] = r.json()["problems"]
            assert (problem["service"], problem["status"]) == ("contracts", 502)
            assert "without a list of items" in problem["detail"]
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
    """The parts are asked at once, each once: three slow parts cost one delay, not three."""
    fake.mode = "slow"
    monkeypatch.setattr(fake, "delay", 0.7)  # the fake outlives this test: its delay is put back
    urls = {**suite, **dict.fromkeys(slow, fake_url)}
    async with running_gateway(**urls, **TIGHT) as (_, client):
        started = time.monotonic()
        r = await client.get(path)
        elapsed = time.monotonic() - started
    assert r.status_code == 200, r.text
    asked = sorted(seen["path"] for seen in fake.seen)
    expected = {
        "dossier": [f"{API}/allocations", f"{API}/territories/{NFC}/contracts"],
        "dashboard": [f"{API}/actions", f"{API}/balances/breakdowns", f"{API}/contracts"],
    }
    assert asked == expected["dossier" if "dossier" in path else "dashboard"]
    # Sequential calls would take a delay each (two or three); concurrent ones take one.
    assert elapsed < 2 * fake.delay, elapsed
