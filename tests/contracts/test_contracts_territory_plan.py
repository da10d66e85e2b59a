"""A territory's contracts with their actions in one answer; compressed answers and their ETags."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tdi_kit.testing import bearer

WRITER = bearer("contracts:write")
Create = Callable[..., Awaitable[dict[str, Any]]]


async def test_a_territorys_contracts_come_with_their_actions_in_one_answer(
    client: httpx.AsyncClient, create_contract: Create
) -> None:
    contract = await create_contract()
    other = await create_contract(territory_code="2707", signatories=[], actions=[])
    r = await client.get("/api/v1/territories/ti-2708/contracts")
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["territory_code"] == "ti-2708"
    detail = (await client.get(f"/api/v1/contracts/{contract['id']}")).json()
    assert plan["contracts"] == [detail]
    assert [a["code"] for a in plan["contracts"][0]["actions"]] == ["FA-01", "FA-02"]
    assert plan["actions_without_contract"] == []
    assert other["id"] not in r.text
    # Read like any other: an ETag, and 304 when it still holds.
    again = await client.get(
        "/api/v1/territories/ti-2708/contracts", headers={"If-None-Match": r.headers["etag"]}
    )
    assert again.status_code == 304


async def test_a_territory_without_contracts_has_empty_lists(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/territories/ti-0101/contracts")
    assert r.status_code == 200
    assert r.json() == {
        "territory_code": "ti-0101",
        "contracts": [],
        "actions_without_contract": [],
    }
    bad = await client.get("/api/v1/territories/not a code/contracts")
    assert bad.status_code == 422


async def test_a_write_accepts_the_etag_of_the_compressed_representation(
    client: httpx.AsyncClient, create_contract: Create
) -> None:
    contract = await create_contract()
    url = f"/api/v1/contracts/{contract['id']}"
    read = await client.get(url, headers={"Accept-Encoding": "br"})
    assert read.headers["content-encoding"] == "br"
    assert read.headers["etag"].endswith('-br"')
    plain = await client.get(url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert read.headers["etag"] == plain.headers["etag"][:-1] + '-br"'
    r = await client.patch(
        url, json={"title": "Renamed"}, headers=WRITER | {"If-Match": read.headers["etag"]}
    )
    assert r.status_code == 200, r.text
    stale = await client.patch(
        url, json={"title": "Again"}, headers=WRITER | {"If-Match": read.headers["etag"]}
    )
    assert stale.status_code == 412
