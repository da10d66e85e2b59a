"""The contracts' and actions' pages kept under the contracts' data version (`contracts.pages`,
migration 0007): never stale after a committed change, whoever commits it and however. These
tests commit for real, on a database of their own, as production does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text

from contracts.main import MIGRATIONS, create_app
from contracts.seed.loader import load
from contracts.settings import ContractsSettings
from tdi_kit import migrations
from tdi_kit.app import ServiceApp
from tdi_kit.db import create_engine
from tdi_kit.testing import asgi_client, test_database

VERSION = text("SELECT version FROM data_versions WHERE name = 'contracts'")
# The whole seed on one page each (it holds fewer than 100 of either).
PAGES = ("/api/v1/actions?is_demo=false&limit=100", "/api/v1/contracts?is_demo=false&limit=100")


@pytest.fixture(scope="module")
async def committing(registry_app: ServiceApp) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """Contracts on its own seeded database, each request a transaction that commits."""
    async with test_database("contracts_kept") as url:
        await migrations.migrate_and_seed(url, MIGRATIONS, load)
        app = create_app(
            ContractsSettings(database_url=url, environment="test", log_json=False),
            registry_transport=httpx.ASGITransport(app=registry_app),
        )
        async with asgi_client(app) as client:
            yield client, url
        await app.state.registry.aclose()
        await app.state.engine.dispose()


async def _committed_by_hand(url: str, statement: str) -> None:
    other = create_engine(url)
    try:
        async with other.begin() as connection:
            assert (await connection.execute(text(statement))).rowcount > 0, statement
    finally:
        await other.dispose()


async def _version(url: str) -> int:
    other = create_engine(url)
    try:
        async with other.connect() as connection:
            return int(await connection.scalar(VERSION))
    finally:
        await other.dispose()


async def test_the_pages_follow_a_change_committed_by_another_process(
    committing: tuple[httpx.AsyncClient, str],
) -> None:
    client, url = committing
    before = [(await client.get(p)).json() for p in PAGES]
    assert before[0]["total"] > 0 and before[1]["total"] > 0
    assert [(await client.get(p)).json() for p in PAGES] == before  # kept
    first_action = before[0]["items"][0]["id"]
    first_contract = before[1]["items"][0]["id"]
    for table, record in (("actions", first_action), ("contracts", first_contract)):
        hex_id = record.replace("-", "")
        await _committed_by_hand(
            url,
            f"UPDATE {table} SET is_demo = true WHERE id IN ('{record}', '{hex_id}')"
            if "sqlite" in url
            else f"UPDATE {table} SET is_demo = true WHERE id = '{record}'",
        )
    actions, contracts = [(await client.get(p)).json() for p in PAGES]
    assert actions["total"] == before[0]["total"] - 1
    assert first_action not in {a["id"] for a in actions["items"]}
    assert contracts["total"] == before[1]["total"] - 1


@pytest.mark.parametrize(
    "table",
    [
        "contracts",
        "signatories",
        "contract_events",
        "actions",
        "action_themes",
        "plan_lines",
        "indicators",
        "milestones",
        "territories",
        "territory_regions",
    ],
)
async def test_each_counted_table_changes_the_version_at_commit(
    committing: tuple[httpx.AsyncClient, str], table: str
) -> None:
    _client, url = committing
    column = {
        "contracts": "title",
        "signatories": "role",
        "contract_events": "kind",
        "actions": "title",
        "action_themes": "theme",
        "plan_lines": "label",
        "indicators": "label",
        "milestones": "label",
        "territories": "name",
        "territory_regions": "region_code",
    }[table]
    change = f"UPDATE {table} SET {column} = {column}"
    if table in ("indicators", "milestones"):  # none in the seed: one added to an action
        new_id = "0" * 31 + "1" if "sqlite" in url else "00000000-0000-0000-0000-000000000001"
        change = (
            f"INSERT INTO {table} (id, action_id, position, label) "
            f"SELECT '{new_id}', id, 99, 'By hand' FROM actions ORDER BY id LIMIT 1"
        )
    before = await _version(url)
    await _committed_by_hand(url, change)
    assert await _version(url) != before, table
