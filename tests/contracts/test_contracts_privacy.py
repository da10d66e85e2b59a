"""The history and the amendments name the acting organisation to the public, and the token's
subject (a person) only to callers of that organisation and to admins."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tdi_kit.testing import bearer

BPIFRANCE = bearer("contracts:write", org="bpifrance", sub="jeanne.martin@bpifrance.fr")
READERS: dict[str, tuple[dict[str, str], bool]] = {
    "anonymous": ({}, False),
    "no organisation": (bearer("contracts:write", "admin:read", sub="ops"), False),
    "another operator": (bearer("contracts:write", org="banque-des-territoires"), False),
    "the same organisation": (bearer("contracts:write", org="bpifrance", sub="colleague"), True),
    "admin": (bearer("admin"), True),
}


async def _amended_by_bpifrance(client: httpx.AsyncClient, signed_contract: dict[str, Any]) -> str:
    fa1 = signed_contract["actions"][0]
    own = next(x for x in fa1["plan_lines"] if x["financer_code"] == "bpifrance")
    r = await client.post(
        f"/api/v1/contracts/{signed_contract['id']}/amendments",
        json={
            "title": "Avenant financier",
            "changes": [
                {
                    "op": "update_plan_line",
                    "action_id": fa1["id"],
                    "line_id": own["id"],
                    "fields": {"amount_cents": 650_000_000},
                }
            ],
        },
        headers=BPIFRANCE | {"If-Match": signed_contract["etag"]},
    )
    assert r.status_code == 201, r.text
    # Its author reads its own name back.
    assert r.json()["created_by"] == "jeanne.martin@bpifrance.fr"
    assert r.json()["org"] == "bpifrance"
    return str(signed_contract["id"])


@pytest.mark.parametrize("reader", list(READERS))
async def test_history_and_amendments_name_people_only_to_their_organisation_and_admins(
    client: httpx.AsyncClient, signed_contract: dict[str, Any], reader: str
) -> None:
    headers, sees = READERS[reader]
    contract_id = await _amended_by_bpifrance(client, signed_contract)
    subject = "jeanne.martin@bpifrance.fr"
    history = await client.get(f"/api/v1/contracts/{contract_id}/history", headers=headers)
    latest = history.json()["items"][0]
    assert latest["kind"] == "amendment" and latest["org"] == "bpifrance"
    assert latest["by"] == (subject if sees else None)
    # Entries of other organisations (here the test's org-less writer) never show a subject
    # to an operator.
    earlier = history.json()["items"][1:]
    assert all(e["by"] is None for e in earlier) or reader == "admin"
    listed = await client.get(f"/api/v1/contracts/{contract_id}/amendments", headers=headers)
    one = await client.get(f"/api/v1/contracts/{contract_id}/amendments/1", headers=headers)
    for amendment in (listed.json()["items"][0], one.json()):
        assert amendment["org"] == "bpifrance"
        assert amendment["created_by"] == (subject if sees else None)
    if not sees:
        for r in (history, listed, one):
            assert subject not in r.text
