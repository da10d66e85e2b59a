"""Actions speak the programme's one theme vocabulary (tdi_kit.vocabulary), shared with the
funding service's envelopes: an unknown or retired theme is a 422 naming the field."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tdi_kit.testing import bearer

WRITER = bearer("contracts:write")
Create = Callable[..., Awaitable[dict[str, Any]]]


def _errors(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return [(e["field"], e["message"]) for e in response.json()["errors"]]


async def test_a_contract_with_an_unknown_theme_is_refused_whole(
    client: httpx.AsyncClient, contract_body: Callable[..., dict[str, Any]]
) -> None:
    body = contract_body()
    body["actions"][1]["themes"] = ["alternance", "licornes"]
    r = await client.post("/api/v1/contracts", json=body, headers=WRITER)
    [(field, message)] = _errors(r)
    assert field == "actions.1.themes.1"
    assert "unknown theme 'licornes'" in message
    listed = await client.get("/api/v1/contracts", params={"territory": body["territory_code"]})
    assert listed.json()["items"] == []


async def test_funding_s_old_codes_are_refused_with_the_programme_s(
    client: httpx.AsyncClient, create_contract: Create
) -> None:
    contract = await create_contract()
    action = contract["actions"][0]
    r = await client.patch(
        f"/api/v1/actions/{action['id']}",
        json={"themes": ["reconversion-de-friches"]},
        headers=WRITER
        | {"If-Match": (await client.get(f"/api/v1/actions/{action['id']}")).headers["etag"]},
    )
    [(field, message)] = _errors(r)
    assert field == "themes.0"
    assert "send 'friche'" in message


async def test_funding_s_themes_are_the_actions_themes_too(
    client: httpx.AsyncClient, create_contract: Create
) -> None:
    # `investissement-productif` was funding's word only: one vocabulary now.
    contract = await create_contract()
    r = await client.post(
        f"/api/v1/contracts/{contract['id']}/actions",
        json={
            "code": "FA-09",
            "title": "Ligne de production",
            "priority": "innovation",
            "themes": ["investissement-productif", "friche"],
        },
        headers=WRITER,
    )
    assert r.status_code == 201, r.text
    found = await client.get("/api/v1/actions", params={"theme": "investissement-productif"})
    assert [a["code"] for a in found.json()["items"]] == ["FA-09"]


async def test_a_theme_filter_outside_the_vocabulary_is_a_422(client: httpx.AsyncClient) -> None:
    for path in ("/api/v1/actions", "/api/v1/contracts"):
        [(field, _)] = _errors(await client.get(path, params={"theme": "fonds-vert"}))
        assert field == "theme", path
