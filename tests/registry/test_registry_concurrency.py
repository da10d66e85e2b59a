"""The programme's rule holds under concurrent writes, not only one request at a time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from registry_testing import API, FreshRegistry, current_etag, seed_rows

from registry.main import create_app
from registry.settings import RegistrySettings
from tdi_kit.app import ServiceApp
from tdi_kit.testing import asgi_client, bearer


@pytest.fixture(scope="module")
async def committing_app(fresh_registry: FreshRegistry) -> AsyncIterator[ServiceApp]:
    """The registry on its own database, each request committing for real (no shared
    rolled-back connection), so that concurrent requests are concurrent transactions."""
    app = create_app(
        RegistrySettings(database_url=fresh_registry.url, environment="test", log_json=False)
    )
    yield app
    await app.state.engine.dispose()


async def _free_groupement(client: httpx.AsyncClient) -> str:
    phase2 = {t["code"] for t in seed_rows("territories.csv") if t["phase"] == "2"}
    held = {m["siren"] for m in seed_rows("territory_members.csv") if m["territory_code"] in phase2}
    for row in seed_rows("groupements.csv"):
        if row["siren"] in held:
            continue
        covering = (await client.get(f"{API}/groupements/{row['siren']}/territories")).json()
        if not any(t["phase"] == 2 for t in covering["items"]):
            return row["siren"]
    raise AssertionError("no free groupement left")


async def test_a_groupement_claimed_by_several_territories_at_once_joins_exactly_one(
    committing_app: ServiceApp,
) -> None:
    territories = ["ti-2701", "ti-2702", "ti-2704", "ti-2705", "ti-2706", "ti-2709"]
    async with asgi_client(committing_app) as client:
        siren = await _free_groupement(client)
        etags = {code: await current_etag(client, code) for code in territories}
        writer = bearer("registry:write")

        async def claim(code: str) -> httpx.Response:
            return await client.put(
                f"{API}/territories/{code}/members/{siren}",
                headers={**writer, "If-Match": etags[code]},
            )

        answers = await asyncio.gather(*(claim(code) for code in territories))
        statuses = sorted(r.status_code for r in answers)
        assert statuses == [200] + [409] * (len(territories) - 1), [r.text for r in answers]
        winner = next(code for code, r in zip(territories, answers, strict=True) if r.is_success)
        covering = (await client.get(f"{API}/groupements/{siren}/territories")).json()["items"]
        assert [(t["phase"], t["code"]) for t in covering if t["phase"] == 2] == [(2, winner)]
        for code in territories:
            members = {
                m["siren"]
                for m in (await client.get(f"{API}/territories/{code}")).json()["members"]
            }
            assert (siren in members) == (code == winner), code
