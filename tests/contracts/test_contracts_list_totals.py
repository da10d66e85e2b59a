"""Contracts' lists answer the total of their filters on every page, read through the driver."""

from __future__ import annotations

import httpx
from suite_testing import all_pages

from contracts.seed.volume import load_volume
from tdi_kit.app import ServiceApp


async def test_contracts_and_actions_answer_the_total_of_their_filters(
    client: httpx.AsyncClient, contracts_app: ServiceApp
) -> None:
    async with contracts_app.state.sessionmaker() as session:
        await load_volume(session, contracts=12, actions_per_contract=5)
        await session.commit()
    for path, total in [("/api/v1/contracts", 12), ("/api/v1/actions", 60)]:
        pages = await all_pages(client, path, is_demo="true", limit=7)
        assert {p["total"] for p in pages} == {total}, path
        ids = [item["id"] for p in pages for item in p["items"]]
        assert len(ids) == len(set(ids)) == total
        sorted_pages = await all_pages(client, path, is_demo="true", limit=25, sort="-updated_at")
        assert {p["total"] for p in sorted_pages} == {total}
    every = (await client.get("/api/v1/actions", params={"limit": 1})).json()
    assert every["total"] >= 60 and len(every["items"]) == 1
    contract = (await client.get("/api/v1/contracts", params={"is_demo": "true"})).json()
    contract_id = contract["items"][0]["id"]
    for sub in ("amendments", "history"):
        page = (await client.get(f"/api/v1/contracts/{contract_id}/{sub}")).json()
        assert page["total"] == len(page["items"]), sub
    assert contract["coverage"]  # the contracts' own member stays after the total
