"""Racing writers: the database keeps the rules that a check-then-write could let slip.

These requests commit for real (on an app of their own, not a rolled-back transaction); the
records they make are removed at the end.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select

from contracts.main import create_app
from contracts.models import (
    Action,
    ActionTheme,
    Amendment,
    Contract,
    ContractEvent,
    Indicator,
    Milestone,
    PlanLine,
    Signatory,
)
from contracts.settings import ContractsSettings
from tdi_kit.app import ServiceApp
from tdi_kit.testing import asgi_client, bearer

WRITER = bearer("contracts:write")
# A territory no other test writes to.
TERRITORY = "ti-2804"


@pytest.fixture
async def committing(
    contracts_url: str, registry_app: ServiceApp
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        ContractsSettings(database_url=contracts_url, environment="test", log_json=False),
        registry_transport=httpx.ASGITransport(app=registry_app),
    )
    try:
        async with asgi_client(app) as client:
            yield client
    finally:
        await _remove_contracts_of(app, TERRITORY)
        await app.state.registry.aclose()
        await app.state.engine.dispose()


async def _remove_contracts_of(app: ServiceApp, territory: str) -> None:
    async with app.state.sessionmaker() as session:
        ids = list(
            await session.scalars(select(Contract.id).where(Contract.territory_code == territory))
        )
        actions = select(Action.id).where(Action.contract_id.in_(ids))
        for model in (ActionTheme, PlanLine, Indicator, Milestone):
            await session.execute(delete(model).where(model.action_id.in_(actions)))
        for model in (Action, Signatory, Amendment, ContractEvent):
            await session.execute(delete(model).where(model.contract_id.in_(ids)))
        await session.execute(delete(Contract).where(Contract.id.in_(ids)))
        await session.commit()


async def test_two_writers_cannot_both_open_the_live_contract_of_a_territory(
    committing: httpx.AsyncClient, contract_body: Callable[..., dict[str, Any]]
) -> None:
    body = contract_body(territory_code=TERRITORY, signatories=[], actions=[])
    first, second = await asyncio.gather(
        committing.post("/api/v1/contracts", json=body | {"title": "A"}, headers=WRITER),
        committing.post("/api/v1/contracts", json=body | {"title": "B"}, headers=WRITER),
    )
    assert sorted([first.status_code, second.status_code]) == [201, 409], (first.text, second.text)
    listed = await committing.get("/api/v1/contracts", params={"territory": TERRITORY})
    assert len(listed.json()["items"]) == 1


async def test_two_amendments_from_the_same_version_do_not_both_apply(
    committing: httpx.AsyncClient, contract_body: Callable[..., dict[str, Any]]
) -> None:
    created = await committing.post(
        "/api/v1/contracts",
        json=contract_body(
            territory_code=TERRITORY,
            actions=[],
            signatories=[
                {"role": "prefet", "organisation_code": "prefecture-28", "signed_on": "2024-01-10"},
                {
                    "role": "president_region",
                    "organisation_code": "region-28",
                    "signed_on": "2024-01-11",
                },
            ],
        ),
        headers=WRITER,
    )
    assert created.status_code == 201 and created.json()["status"] == "signed", created.text
    contract_id, etag = created.json()["id"], created.headers["etag"]

    def amendment(title: str) -> Any:
        return committing.post(
            f"/api/v1/contracts/{contract_id}/amendments",
            json={
                "title": title,
                "changes": [{"op": "update_contract", "fields": {"title": title}}],
            },
            headers=WRITER | {"If-Match": etag, "Idempotency-Key": str(uuid.uuid4())},
        )

    results = await asyncio.gather(amendment("Avenant A"), amendment("Avenant B"))
    assert sorted(r.status_code for r in results) == [201, 412], [r.text for r in results]
    amendments = (await committing.get(f"/api/v1/contracts/{contract_id}/amendments")).json()
    assert [a["number"] for a in amendments["items"]] == [1]
