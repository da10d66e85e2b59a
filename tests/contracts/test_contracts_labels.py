"""Documents show the registry's name beside every organisation code (signatories, owners,
financers), copied from the registry's answer when a write names the organisation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from sqlalchemy import update
from suite_testing import Services

from contracts.models import organisations
from tdi_kit.testing import bearer

WRITER = bearer("contracts:write")
Create = Callable[..., Awaitable[dict[str, Any]]]


async def test_signatories_owners_and_financers_carry_the_registry_names(
    client: httpx.AsyncClient, create_contract: Create
) -> None:
    contract = await create_contract()
    names = {s["organisation_code"]: s["organisation_name"] for s in contract["signatories"]}
    assert names["prefecture-27"] == "Préfecture de la région Bourgogne-Franche-Comté"
    assert names["region-27"] == "Région Bourgogne-Franche-Comté"
    assert names[None] is None  # an EPCI by SIREN names no organisation
    [hydrogene, ecole] = contract["actions"]
    assert [line["financer_organisation_name"] for line in hydrogene["plan_lines"]] == [
        "Bpifrance",
        "Banque des Territoires (groupe Caisse des Dépôts)",
    ]
    assert ecole["owner"]["organisation_name"] == "Région Bourgogne-Franche-Comté"
    # Stored: the list serves the same document.
    listed = await client.get("/api/v1/actions", params={"contract": contract["id"]})
    assert {a["code"]: a for a in listed.json()["items"]}["FA-02"]["owner"] == ecole["owner"]


async def test_a_write_naming_an_organisation_refreshes_our_copy_of_its_name(
    client: httpx.AsyncClient, create_contract: Create, rolled_back_services: Services
) -> None:
    # Our copy holds a name the registry no longer uses (Pôle emploi became France Travail).
    async with rolled_back_services.contracts.state.sessionmaker() as session:
        await session.execute(
            update(organisations).where(organisations.c.code == "bpifrance").values(name="BPI")
        )
        await session.commit()
    contract = await create_contract()
    line = contract["actions"][0]["plan_lines"][0]
    assert line["financer_code"] == "bpifrance"
    assert line["financer_organisation_name"] == "Bpifrance"
