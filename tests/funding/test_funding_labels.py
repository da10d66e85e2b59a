"""Envelopes, allocations, conventions and balances show the registry's names beside operator
and funder codes, from our copy of the registry's answers, refreshed whenever a write names the
organisation; allocations name their Régions."""

from __future__ import annotations

import httpx
from funding_cases import ADMIN, allocate, make_envelope
from sqlalchemy import delete, update
from suite_testing import Services

from funding.models import organisations
from tdi_kit.copies import REGION_NAMES_20261202

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


async def test_an_allocation_names_its_operator_and_its_regions_alike_in_every_answer(
    client: httpx.AsyncClient,
) -> None:
    await make_envelope(client, operator="bpifrance")
    written = await allocate(client)
    assert written["operator_name"] == "Bpifrance"
    assert written["region_codes"]
    assert written["regions"] == [
        {"code": c, "name": REGION_NAMES_20261202[c]} for c in written["region_codes"]
    ]
    url = f"/api/v1/allocations/{written['id']}"
    one = await client.get(url)
    assert one.json() == written  # the write answers what a read answers
    listed = await client.get("/api/v1/allocations", params={"envelope": "test-envelope"})
    assert listed.json()["items"] == [written]
    # The read's ETag is the one a change needs: the names take part in both alike.
    cancelled = await client.post(
        f"{url}/cancel",
        json={"reason": "abandoned"},
        headers={**ADMIN, "If-Match": one.headers["etag"]},
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["operator_name"] == "Bpifrance"


async def test_an_operator_the_copy_does_not_hold_shows_a_null_name(
    client: httpx.AsyncClient, rolled_back_services: Services
) -> None:
    await make_envelope(client, operator="bpifrance")
    written = await allocate(client)
    async with rolled_back_services.funding.state.sessionmaker() as session:
        await session.execute(delete(organisations).where(organisations.c.code == "bpifrance"))
        await session.commit()
    assert (await client.get(f"/api/v1/allocations/{written['id']}")).json()[
        "operator_name"
    ] is None
    listed = await client.get("/api/v1/allocations", params={"envelope": "test-envelope"})
    assert listed.json()["items"][0]["operator_name"] is None


async def test_a_convention_names_its_operator_in_lists_reads_and_writes(
    client: httpx.AsyncClient,
) -> None:
    created = await client.post(
        "/api/v1/conventions",
        json={"code": "named-convention", "operator_code": "bpifrance", "title": "Nommée"},
        headers=ADMIN,
    )
    assert created.status_code == 201, created.text
    assert created.json()["operator_name"] == "Bpifrance"
    one = await client.get("/api/v1/conventions/named-convention")
    assert one.json() == created.json()
    changed = await client.patch(
        "/api/v1/conventions/named-convention",
        json={"title": "Renommée"},
        headers={**ADMIN, "If-Match": one.headers["etag"]},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["operator_name"] == "Bpifrance"
    listed = (await client.get("/api/v1/conventions", params={"limit": 200})).json()["items"]
    assert all("operator_name" in c for c in listed)
    assert {c["code"]: c["operator_name"] for c in listed}["named-convention"] == "Bpifrance"
