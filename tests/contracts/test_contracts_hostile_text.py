"""Text fields refuse NUL and other control characters with a 422 naming the field; prose
fields (descriptions, notes, an amendment's reason) keep their tabs and line breaks."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tdi_kit.testing import bearer

WRITER = bearer("contracts:write")
HOSTILE = ["\x00", "\x1b]8;;http://evil\x07", "\x7f", "\u0090"]


def _problem_names(r: httpx.Response, field: str) -> None:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in r.json()["errors"]], r.text


@pytest.mark.parametrize("char", HOSTILE)
@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": "Contrat{}x"}, "title"),
        ({"enjeux": ["hydrogène{}x"]}, "enjeux.0"),
        ({"signature_place": "Belfort{}x"}, "signature_place"),
        ({"notes": "Note\n{}"}, "notes"),
        ({"signatories": [{"role": "industrialist", "name": "A{}B"}]}, "signatories.0.name"),
        ({"actions": [{"code": "FA-1", "title": "T{}x"}]}, "actions.0.title"),
        (
            {"actions": [{"code": "FA-1", "title": "T", "description": "{}"}]},
            "actions.0.description",
        ),
        (
            {
                "actions": [
                    {"code": "FA-1", "title": "T", "indicators": [{"label": "L", "unit": "u{}"}]}
                ]
            },
            "actions.0.indicators.0.unit",
        ),
        (
            {"actions": [{"code": "FA-1", "title": "T", "milestones": [{"label": "M{}x"}]}]},
            "actions.0.milestones.0.label",
        ),
        (
            {"actions": [{"code": "FA-1", "title": "T", "owner": {"name": "P{}x"}}]},
            "actions.0.owner.name",
        ),
    ],
)
async def test_contract_text_with_a_control_character_is_422(
    client: httpx.AsyncClient,
    contract_body: Callable[..., dict[str, Any]],
    char: str,
    overrides: dict[str, Any],
    field: str,
) -> None:
    hostile = json.loads(json.dumps(overrides).replace("{}", json.dumps(char)[1:-1]))
    r = await client.post("/api/v1/contracts", json=contract_body(**hostile), headers=WRITER)
    _problem_names(r, field)


async def test_an_amendment_title_is_a_single_line_and_its_reason_prose(
    client: httpx.AsyncClient, signed_contract: dict[str, Any]
) -> None:
    url = f"/api/v1/contracts/{signed_contract['id']}/amendments"
    headers = {**WRITER, "If-Match": signed_contract["etag"]}
    change = {"op": "update_contract", "fields": {"title": "Nouveau titre"}}
    r = await client.post(url, json={"title": "Avenant\nn°1", "changes": [change]}, headers=headers)
    _problem_names(r, "title")
    reason = "Motifs :\n\t- un\r\n\t- deux"
    r = await client.post(
        url, json={"title": "Avenant n°1", "reason": reason, "changes": [change]}, headers=headers
    )
    assert r.status_code == 201, r.text
    assert r.json()["reason"] == reason


@pytest.mark.parametrize("path", ["/contracts", "/actions"])
async def test_a_search_with_a_nul_character_is_never_a_5xx(
    client: httpx.AsyncClient, path: str
) -> None:
    r = await client.get(f"/api/v1{path}", params={"q": "hydrogène\x00"})
    assert r.status_code in (200, 422), r.text
