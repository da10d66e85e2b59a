"""The dashboard's territory counts (`/programme/counts`): computed by the database, and equal
to counting the territories list as the dashboard did, for every caller, Région and phase."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from registry_testing import API, read_all
from suite_testing import territory_counts

from registry.programme import service
from tdi_kit.testing import bearer

OPERATOR = bearer("registry:write", org="bpifrance", sub="operator")
ASKED = [{}, {"region": "27"}, {"phase": 1}, {"region": "11", "phase": 2}, {"region": "94"}]


@pytest.mark.parametrize("headers", [{}, OPERATOR], ids=["anonymous", "operator"])
async def test_the_counts_are_those_of_the_territories_list(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    current = (await client.get(f"{API}/programme")).json()["current_phase"]
    assert current is not None
    for params in ASKED:
        where = {"region": params["region"]} if "region" in params else {}
        items, _ = await read_all(client, f"{API}/territories", limit=1000, **where)
        r = await client.get(f"{API}/programme/counts", params=params, headers=headers)
        assert r.status_code == 200, (params, r.text)
        assert r.headers["etag"]
        assert r.json() == territory_counts(items, params.get("phase", current)), params
        again = await client.get(
            f"{API}/programme/counts",
            params=params,
            headers={**headers, "If-None-Match": r.headers["etag"]},
        )
        assert again.status_code == 304
    national = (await client.get(f"{API}/programme/counts")).json()
    assert national["total"] == sum(r["count"] for r in national["by_region"]) == 183


async def test_between_phases_the_latest_started_is_counted(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "today", lambda: dt.date(2031, 1, 1))  # both phases over
    assert (await client.get(f"{API}/programme/counts")).json()["phase"] == 2
    # Before the programme (no phase started), the latest phase the register holds.
    monkeypatch.setattr(service, "today", lambda: dt.date(2001, 1, 1))
    assert (await client.get(f"{API}/programme/counts", params={"region": "27"})).json()[
        "phase"
    ] == 2
    monkeypatch.setattr(service, "today", lambda: dt.date(2020, 6, 1))  # phase 1 under way
    phase1 = (await client.get(f"{API}/programme/counts")).json()
    assert (phase1["phase"], phase1["total"]) == (1, 148)


async def test_a_new_territory_is_counted_at_once_with_no_region(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    before = (await client.get(f"{API}/programme/counts", params={"phase": 1})).json()
    r = await client.post(
        f"{API}/territories", json={"code": "9901", "name": "Essai", "phase": 1}, headers=writer
    )
    assert r.status_code == 201, r.text
    after = (await client.get(f"{API}/programme/counts", params={"phase": 1})).json()
    assert after["total"] == before["total"] + 1
    # A territory with no official Région counts under null, after every Région.
    assert after["by_region"][-1] == {
        "region_code": None,
        "region_name": None,
        "phase": 1,
        "count": 1,
    }
    items, _ = await read_all(client, f"{API}/territories", limit=1000)
    assert after == territory_counts(items, 1)


@pytest.mark.parametrize(
    ("params", "field", "status"),
    [
        ({"region": "x"}, "region", 422),
        ({"phase": "3"}, "phase", 422),
        ({"phase": "current"}, "phase", 422),
        ({"include_demo": "true"}, "include_demo", 400),
    ],
)
async def test_bad_input_is_a_problem_naming_the_field(
    client: httpx.AsyncClient, params: dict[str, str], field: str, status: int
) -> None:
    r = await client.get(f"{API}/programme/counts", params=params)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert field in r.text
