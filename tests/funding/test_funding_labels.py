"""Envelopes and balances show the registry's names beside operator and funder codes, from our
copy of the registry's answers, refreshed whenever a write names the organisation."""

from __future__ import annotations

import httpx
from funding_cases import make_envelope
from sqlalchemy import update
from suite_testing import Services

from funding.models import organisations

BDT_NAME = "Banque des Territoires (groupe Caisse des Dépôts)"


async def test_an_envelope_names_its_operator_and_its_funders(client: httpx.AsyncClient) -> None:
    bdt = (await client.get("/api/v1/envelopes/bdt-fonds-propres-2019-2022")).json()
    assert bdt["operator_name"] == BDT_NAME
    assert [(f["funder_code"], f["funder_label"]) for f in bdt["funders"]] == [
        ("banque-des-territoires", BDT_NAME)
    ]
    by_operator = await client.get("/api/v1/balances", params={"by": "operator"})
    names = {b["operator_code"]: b["operator_name"] for b in by_operator.json()["items"]}
    assert names["bpifrance"] == "Bpifrance"
    by_funder = await client.get("/api/v1/balances", params={"by": "funder"})
    labels = {b["funder_code"]: b["funder_label"] for b in by_funder.json()["items"]}
    assert labels["banque-des-territoires"] == BDT_NAME and labels["etat"] == "État"
    assert labels[None] == "non publié"


async def test_a_write_naming_an_organisation_refreshes_its_name(
    client: httpx.AsyncClient, rolled_back_services: Services
) -> None:
    async with rolled_back_services.funding.state.sessionmaker() as session:
        await session.execute(
            update(organisations).where(organisations.c.code == "bpifrance").values(name="BPI")
        )
        await session.commit()
    stale = (await client.get("/api/v1/envelopes/rebond-industriel-aides")).json()
    assert stale["operator_name"] == "BPI"  # as of the last write naming it
    envelope = await make_envelope(client, operator="bpifrance")
    assert envelope["operator_name"] == "Bpifrance"
    fresh = (await client.get("/api/v1/envelopes/rebond-industriel-aides")).json()
    assert fresh["operator_name"] == "Bpifrance"
