"""The dashboard's counts (`/contracts/counts`): computed by the database, and equal to counting
the contracts' and the actions' lists as the dashboard did, for every caller, Région and demo
filter."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from suite_testing import all_pages, contract_and_action_counts

from contracts.seed.volume import load_volume
from tdi_kit.app import ServiceApp
from tdi_kit.testing import bearer

OPERATOR = bearer("contracts:write", org="bpifrance", sub="operator")
ASKED = [{}, {"region": "27"}, {"include_demo": "true"}, {"region": "11", "include_demo": "true"}]


async def counted_lists(
    client: httpx.AsyncClient, params: dict[str, str], headers: dict[str, str]
) -> dict[str, Any]:
    """What the dashboard counted from the two lists before contracts did."""
    where = {"region": params["region"]} if "region" in params else {}
    if params.get("include_demo") != "true":
        where["is_demo"] = "false"
    lists = {}
    for name in ("contracts", "actions"):
        pages = await all_pages(client, f"/api/v1/{name}", headers, limit=1000, **where)
        lists[name] = [item for page in pages for item in page["items"]]
    return contract_and_action_counts(lists["contracts"], lists["actions"])


@pytest.mark.parametrize("headers", [{}, OPERATOR], ids=["anonymous", "operator"])
async def test_the_counts_are_those_of_the_lists_for_every_caller(
    client: httpx.AsyncClient,
    contracts_app: ServiceApp,
    create_contract: Callable[..., Awaitable[dict[str, Any]]],
    headers: dict[str, str],
) -> None:
    async with contracts_app.state.sessionmaker() as session:
        await load_volume(session, contracts=6, actions_per_contract=4)
        await session.commit()
    draft = await create_contract()  # a draft, real: counted without include_demo
    assert draft["status"] == "draft"
    answers = {}
    for params in ASKED:
        r = await client.get("/api/v1/contracts/counts", params=params, headers=headers)
        assert r.status_code == 200, (params, r.text)
        assert r.json() == await counted_lists(client, params, headers), params
        again = await client.get(
            "/api/v1/contracts/counts",
            params=params,
            headers={**headers, "If-None-Match": r.headers["etag"]},
        )
        assert again.status_code == 304
        answers[tuple(params.items())] = r.json()
    real, everything = answers[()], answers[(("include_demo", "true"),)]
    # The demo records are counted only when asked; the draft is counted either way.
    assert everything["contracts"]["total"] == real["contracts"]["total"] + 6
    assert everything["actions"]["total"] == real["actions"]["total"] + 24
    assert {"key": "draft", "count": 1} in real["contracts"]["by_status"]
    # The draft and its two phase-2 actions are Nord Franche-Comté's, in Région 27.
    regional = answers[(("region", "27"),)]
    assert {"key": "draft", "count": 1} in regional["contracts"]["by_status"]
    assert {"key": "innovation", "count": 1} in regional["actions"]["by_priority"]


@pytest.mark.parametrize(
    ("params", "field", "status"),
    [
        ({"region": "x"}, "region", 422),
        ({"include_demo": "maybe"}, "include_demo", 422),
        ({"is_demo": "true"}, "is_demo", 400),
    ],
)
async def test_bad_input_is_a_problem_naming_the_field(
    client: httpx.AsyncClient, params: dict[str, str], field: str, status: int
) -> None:
    r = await client.get("/api/v1/contracts/counts", params=params)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert field in r.text
