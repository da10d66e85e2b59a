"""Text fields refuse NUL and other control characters with a 422 naming the field; prose
fields (descriptions, notes, commitments) keep their tabs and line breaks."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from funding_cases import ADMIN, BPI, M, allocate, allocation_body, make_envelope

HOSTILE = ["\x00", "\x1b[2J", "\x7f", "\u009b"]


def _problem_names(r: httpx.Response, field: str) -> None:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in r.json()["errors"]], r.text


@pytest.mark.parametrize("char", HOSTILE)
@pytest.mark.parametrize(
    ("field", "value"),
    [("title", "Ligne{}x"), ("beneficiary_name", "Entreprise{}x"), ("reference", "R{}1")],
)
async def test_allocation_text_with_a_control_character_is_422(
    client: httpx.AsyncClient, char: str, field: str, value: str
) -> None:
    await make_envelope(client)
    body = allocation_body(**{field: value.format(char)})
    _problem_names(await client.post("/api/v1/allocations", json=body, headers=BPI), field)


@pytest.mark.parametrize("char", HOSTILE)
async def test_envelope_and_convention_text_with_a_control_character_is_422(
    client: httpx.AsyncClient, char: str
) -> None:
    envelope: dict[str, Any] = {
        "code": "hostile",
        "operator_code": "bpifrance",
        "name": "Fonds",
        "kind": "grant",
        "start_year": 2024,
        "end_year": 2024,
    }
    for field, value in [
        ("name", f"Fonds{char}x"),
        ("description", f"Ligne 1\n{char}"),
        ("sources", [f"Source{char}x"]),
    ]:
        r = await client.post("/api/v1/envelopes", json=envelope | {field: value}, headers=ADMIN)
        _problem_names(r, field if field != "sources" else "sources.0")
    convention = {"code": "hostile", "operator_code": "bpifrance", "title": f"T{char}x"}
    r = await client.post("/api/v1/conventions", json=convention, headers=ADMIN)
    _problem_names(r, "title")


async def test_reasons_are_single_lines(client: httpx.AsyncClient) -> None:
    await make_envelope(client)
    r = await client.post(
        "/api/v1/envelopes/test-envelope/tranches/2024/adjustments",
        json={"delta_cents": M, "reason": "Abondement\x00"},
        headers=ADMIN,
    )
    _problem_names(r, "reason")
    allocation = await allocate(client, headers=BPI)
    r = await client.post(
        f"/api/v1/allocations/{allocation['id']}/cancel",
        json={"reason": "Projet\nabandonné"},
        headers={**BPI, "If-Match": "*"},
    )
    _problem_names(r, "reason")


async def test_prose_keeps_its_tabs_and_line_breaks(client: httpx.AsyncClient) -> None:
    description = "Première ligne\n\tdétail\r\nfin"
    r = await client.post(
        "/api/v1/envelopes",
        json={
            "code": "prose",
            "operator_code": "bpifrance",
            "name": "Fonds",
            "kind": "grant",
            "start_year": 2024,
            "end_year": 2024,
            "description": description,
        },
        headers=ADMIN,
    )
    assert r.status_code == 201, r.text
    assert r.json()["description"] == description


async def test_a_bulk_cell_with_a_nul_character_is_refused_not_stored(
    client: httpx.AsyncClient,
) -> None:
    await make_envelope(client)
    rows = [allocation_body(reference="OK-1"), allocation_body(beneficiary_name="A\x01B")]
    r = await client.post("/api/v1/allocations/bulk", json=rows, headers=BPI)
    assert r.status_code == 422, r.text
    assert [row["row"] for row in r.json()["rows"]] == [2]
    listed = await client.get("/api/v1/allocations", params={"reference": "OK-1"})
    assert listed.json()["items"] == []


async def test_a_csv_export_neutralises_formulas_and_keeps_negative_amounts(
    client: httpx.AsyncClient,
) -> None:
    await make_envelope(client)
    await client.post(
        "/api/v1/envelopes/test-envelope/tranches/2024/adjustments",
        json={"delta_cents": -M, "reason": '=HYPERLINK("http://evil")'},
        headers=ADMIN,
    )
    r = await client.get(
        "/api/v1/ledger", params={"envelope": "test-envelope", "format": "csv"}, headers=ADMIN
    )
    assert r.status_code == 200, r.text
    assert "'=HYPERLINK" in r.text and ",-100000000," in r.text
    assert "\n=HYPERLINK" not in r.text and ",=HYPERLINK" not in r.text
