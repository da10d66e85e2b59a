"""The dossier through the gateway shows each caller what the services show it: no private
allocation to anyone but its operator, its envelope's examiner and admins (a token with scopes
and no organisation included), and the governance's personal contacts only with a token.

It writes on its own territory (Centre Morbihan, region 53) and envelope, so that the other
aggregate tests' figures (Nord Franche-Comté, regions 27 and 84) stay as they are."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from gateway_testing import API, running_gateway

from tdi_kit.testing import bearer

CODE = "ti-5302"
M = 100_000_000
ADMIN = bearer("admin", sub="gateway-scope")
BPI = bearer("funding:write", org="bpifrance", sub="agent-bpi")
EXAMINER = bearer("funding:write", org="anct", sub="agent-anct")
BDT = bearer("funding:write", org="banque-des-territoires", sub="agent-bdt")
NO_ORG = bearer("funding:write", "contracts:write", "registry:write", sub="ops")
LEAD = "chef.projet@centre-morbihan.fr"
REFERENT = "referent@bpifrance.fr"
SEES_PROPOSAL = {"operator": BPI, "examiner": EXAMINER, "admin": ADMIN}
BLIND = {"anonymous": {}, "no organisation": NO_ORG, "another operator": BDT}


@pytest.fixture(scope="module")
async def morbihan(suite: dict[str, str]) -> AsyncIterator[dict[str, Any]]:
    async with running_gateway(**suite) as (_, gw):
        r = await gw.post(
            f"{API}/envelopes",
            json={
                "code": "gw-scope-envelope",
                "operator_code": "bpifrance",
                "name": "Enveloppe de test des droits",
                "kind": "grant",
                "themes": ["innovation"],
                "start_year": 2024,
                "end_year": 2024,
                "tranches": [{"year": 2024, "amount_cents": 100 * M}],
                "rules": {"examined_by": "anct"},
            },
            headers=ADMIN,
        )
        assert r.status_code == 201, r.text
        base = {
            "envelope_code": "gw-scope-envelope",
            "year": 2024,
            "territory_code": CODE,
            "beneficiary_name": "Entreprise test",
        }
        r = await gw.post(
            f"{API}/allocations",
            json=base | {"title": "Atelier public", "amount_cents": 2 * M, "status": "committed"},
            headers=BPI,
        )
        assert r.status_code == 201, r.text
        committed = r.json()
        r = await gw.post(
            f"{API}/allocations",
            json=base
            | {"title": "Dossier en instruction", "amount_cents": 5 * M, "reference": "SCOPE-1"},
            headers=BPI,
        )
        assert r.status_code == 201, r.text
        proposed = r.json()
        assert proposed["status"] == "proposed"
        url = f"{API}/territories/{CODE}"
        before = await gw.get(url, headers=ADMIN)
        governance = before.json()["governance"]
        r = await gw.put(
            f"{url}/governance",
            json={
                "chef_de_projet": {"name": "Chef de projet", "email": LEAD},
                "referents": [
                    {"organisation_code": "bpifrance", "name": "Référent", "email": REFERENT}
                ],
            },
            headers=NO_ORG | {"If-Match": before.headers["etag"]},
        )
        assert r.status_code == 200, r.text
        try:
            yield {"committed": committed, "proposed": proposed}
        finally:
            # The registry is shared by the run: put its governance back as it was.
            etag = (await gw.get(url, headers=ADMIN)).headers["etag"]
            restored = {
                "binome": governance["binome"],
                "chef_de_projet": governance["chef_de_projet"],
                "referents": [
                    {k: v for k, v in ref.items() if k != "organisation_name"}
                    for ref in governance["referents"]
                ],
            }
            r = await gw.put(
                f"{url}/governance", json=restored, headers=NO_ORG | {"If-Match": etag}
            )
            assert r.status_code == 200, r.text


def _allocation_ids(dossier: dict[str, Any]) -> set[str]:
    return {a["id"] for a in dossier["allocations_without_action"]}


@pytest.mark.parametrize("who", list(BLIND))
async def test_a_dossier_holds_no_private_record_for_outsiders(
    suite: dict[str, str], morbihan: dict[str, Any], who: str
) -> None:
    async with running_gateway(**suite) as (_, client):
        r = await client.get(f"{API}/territories/{CODE}/dossier", headers=BLIND[who])
    assert r.status_code == 200, r.text
    assert "Authorization" in r.headers["vary"].split(", ")
    dossier = r.json()
    assert _allocation_ids(dossier) == {morbihan["committed"]["id"]}
    assert morbihan["proposed"]["id"] not in r.text and "SCOPE-1" not in r.text
    assert dossier["balances"]["totals"]["committed_cents"] == 2 * M
    assert dossier["balances"]["totals"]["allocation_count"] == 1


@pytest.mark.parametrize("who", list(SEES_PROPOSAL))
async def test_a_dossier_shows_a_proposal_to_its_operator_examiner_and_admins(
    suite: dict[str, str], morbihan: dict[str, Any], who: str
) -> None:
    async with running_gateway(**suite) as (_, client):
        r = await client.get(f"{API}/territories/{CODE}/dossier", headers=SEES_PROPOSAL[who])
        anonymous = await client.get(f"{API}/territories/{CODE}/dossier")
    dossier = r.json()
    assert _allocation_ids(dossier) == {morbihan["committed"]["id"], morbihan["proposed"]["id"]}
    # The balances count committed money only: the same for every caller.
    assert dossier["balances"] == anonymous.json()["balances"]
    assert r.headers["etag"] != anonymous.headers["etag"]


async def test_a_dossier_shows_governance_contacts_only_with_a_token(
    suite: dict[str, str], morbihan: dict[str, Any]
) -> None:
    async with running_gateway(**suite) as (_, client):
        anonymous = await client.get(f"{API}/territories/{CODE}/dossier")
        authenticated = await client.get(f"{API}/territories/{CODE}/dossier", headers=NO_ORG)
        direct = await client.get(f"{API}/territories/{CODE}")
    governance = anonymous.json()["territory"]["governance"]
    assert governance["chef_de_projet"] == {
        "name": "Chef de projet",
        "email": None,
        "employer": None,
    }
    assert governance["referents"][0]["name"] == "Référent"
    assert LEAD not in anonymous.text and REFERENT not in anonymous.text
    assert LEAD not in direct.text and "Authorization" in direct.headers["vary"].split(", ")
    seen = authenticated.json()["territory"]["governance"]
    assert seen["chef_de_projet"]["email"] == LEAD
    assert seen["referents"][0]["email"] == REFERENT
