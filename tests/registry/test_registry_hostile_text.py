"""Text fields refuse NUL and other control characters with a 422 naming the field.

PostgreSQL refuses NUL in text: without the schemas' text type (tdi_kit.strings) these writes
reach the driver and fail there as a 500. Query text never reaches the database raw either.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from registry_testing import API, current_etag

HOSTILE = ["\x00", "\x1b[31m", "\x7f", "\u0085"]


def _problem_names(r: httpx.Response, field: str) -> None:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in r.json()["errors"]] == [field], r.text


@pytest.mark.parametrize("char", HOSTILE)
async def test_a_territory_name_with_a_control_character_is_422(
    client: httpx.AsyncClient, writer: dict[str, str], char: str
) -> None:
    body = {"code": "ti-9950", "name": f"Nom{char}caché", "phase": 2}
    _problem_names(await client.post(f"{API}/territories", json=body, headers=writer), "name")
    etag = await current_etag(client, "ti-2708")
    r = await client.patch(
        f"{API}/territories/ti-2708",
        json={"name": f"Nom{char}x"},
        headers={**writer, "If-Match": etag},
    )
    _problem_names(r, "name")


@pytest.mark.parametrize(
    ("governance", "field"),
    [
        ({"binome": {"elected_official": {"name": "Élue\x00"}}}, "binome.elected_official.name"),
        (
            {"binome": {"industrialist": {"name": "A", "role": "PDG\x00"}}},
            "binome.industrialist.role",
        ),
        ({"chef_de_projet": {"name": "Chef", "employer": "EPCI\n"}}, None),
        ({"chef_de_projet": {"name": "Chef", "employer": "EP\nCI"}}, "chef_de_projet.employer"),
        ({"chef_de_projet": {"name": "Chef", "email": "a\x00@b.fr"}}, "chef_de_projet.email"),
        (
            {"referents": [{"organisation_code": "bpifrance", "name": "Réf\x00"}]},
            "referents.0.name",
        ),
    ],
)
async def test_governance_text_is_printable(
    client: httpx.AsyncClient, writer: dict[str, str], governance: dict[str, Any], field: str | None
) -> None:
    etag = await current_etag(client, "ti-2708")
    r = await client.put(
        f"{API}/territories/ti-2708/governance",
        json=governance,
        headers={**writer, "If-Match": etag},
    )
    if field is None:  # surrounding whitespace is trimmed, not refused
        assert r.status_code == 200, r.text
        assert r.json()["governance"]["chef_de_projet"]["employer"] == "EPCI"
    else:
        _problem_names(r, field)


@pytest.mark.parametrize(
    "path",
    [
        "/territories",
        "/organisations",
        "/groupements",
        "/communes",
    ],
)
async def test_a_search_with_a_nul_character_is_never_a_5xx(
    client: httpx.AsyncClient, path: str
) -> None:
    r = await client.get(f"{API}{path}", params={"q": "Belfort\x00"})
    assert r.status_code in (200, 422), r.text


@pytest.mark.parametrize(
    "path",
    ["/organisations/bpi%00france", "/regions/2%007", "/groupements/20006%005647"],
)
async def test_a_nul_character_in_a_path_is_never_a_5xx(
    client: httpx.AsyncClient, path: str
) -> None:
    r = await client.get(f"{API}{path}")
    assert r.status_code in (404, 422), r.text
