"""Envelopes speak the programme's one theme vocabulary (tdi_kit.vocabulary), shared with the
contracts service's actions: an unknown or retired theme is a 422 naming the field."""

from __future__ import annotations

import httpx
from funding_cases import ADMIN, make_envelope


def _body(**fields: object) -> dict[str, object]:
    body: dict[str, object] = {
        "code": "themed",
        "operator_code": "bpifrance",
        "name": "Themed",
        "kind": "grant",
        "start_year": 2024,
        "end_year": 2024,
    }
    return body | fields


async def test_an_envelope_takes_any_theme_of_the_programme(client: httpx.AsyncClient) -> None:
    # `friche` and `hydrogene` were the contracts service's words: now the programme's.
    envelope = await make_envelope(client, themes=["friche", "hydrogene", "innovation"])
    assert envelope["themes"] == ["friche", "hydrogene", "innovation"]
    listed = await client.get("/api/v1/envelopes", params={"theme": "friche"})
    assert envelope["code"] in {e["code"] for e in listed.json()["items"]}


async def test_an_unknown_theme_is_a_422_naming_the_field(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/v1/envelopes", json=_body(themes=["innovation", "licornes"]), headers=ADMIN
    )
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    [error] = r.json()["errors"]
    assert error["field"] == "themes.1"
    assert "unknown theme 'licornes'" in error["message"]


async def test_a_retired_theme_is_refused_with_its_replacement(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/v1/envelopes", json=_body(themes=["reconversion-de-friches"]), headers=ADMIN
    )
    assert r.status_code == 422
    [error] = r.json()["errors"]
    assert error["field"] == "themes.0"
    assert "send 'friche'" in error["message"]
    assert (await client.get("/api/v1/envelopes/themed")).status_code == 404


async def test_a_theme_filter_outside_the_vocabulary_is_a_422(client: httpx.AsyncClient) -> None:
    for path in ("/api/v1/envelopes", "/api/v1/balances"):
        r = await client.get(path, params={"theme": "transports-et-mobilite"})
        assert r.status_code == 422, path
        assert r.json()["errors"][0]["field"] == "theme"


async def test_the_seeded_envelopes_carry_the_programme_codes(client: httpx.AsyncClient) -> None:
    bdt = (await client.get("/api/v1/envelopes/bdt-fonds-propres-2019-2022")).json()
    assert {"friche", "mobilite"} <= set(bdt["themes"])
    by_theme = await client.get("/api/v1/balances", params={"theme": "friche"})
    assert by_theme.status_code == 200
