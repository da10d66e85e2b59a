"""Demo records stay demo through the gateway: the dashboard's contracts, actions and money and
the dossier's totals leave them out unless `include_demo=true`, over the real services seeded
with the public record *and* the demo data (their own databases, apart from the other tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from gateway_testing import API, SERVICE_SETTINGS, running_gateway

from contracts.main import MIGRATIONS as CONTRACTS_MIGRATIONS
from contracts.main import create_app as create_contracts
from contracts.seed.demo import load_demo as load_contracts_demo
from contracts.seed.loader import load as load_contracts
from contracts.settings import ContractsSettings
from funding.main import MIGRATIONS as FUNDING_MIGRATIONS
from funding.main import create_app as create_funding
from funding.seed.demo import load_demo as load_funding_demo
from funding.seed.loader import load as load_funding
from funding.settings import FundingSettings
from tdi_kit import migrations
from tdi_kit.testing import LiveServer, free_port, test_database

M = 100_000_000
DEMO_TERRITORY = "ti-2708"  # demo-006: a 60 k€ chef de projet post, committed


@pytest.fixture(scope="module")
async def demo_suite(registry_server: LiveServer) -> AsyncIterator[dict[str, str]]:
    funding_port, contracts_port = free_port(), free_port()
    async with (
        test_database("gw_demo_funding") as funding_db,
        test_database("gw_demo_contracts") as contracts_db,
    ):
        await migrations.migrate_and_seed(
            funding_db, FUNDING_MIGRATIONS, load_funding, load_funding_demo
        )
        await migrations.migrate_and_seed(
            contracts_db, CONTRACTS_MIGRATIONS, load_contracts, load_contracts_demo
        )
        common: dict[str, Any] = SERVICE_SETTINGS
        funding_url = f"http://127.0.0.1:{funding_port}"
        contracts_url = f"http://127.0.0.1:{contracts_port}"
        funding = create_funding(
            FundingSettings(
                database_url=funding_db,
                registry_url=registry_server.url,
                contracts_url=contracts_url,
                **common,
            )
        )
        contracts = create_contracts(
            ContractsSettings(database_url=contracts_db, registry_url=registry_server.url, **common)
        )
        with LiveServer(contracts, port=contracts_port), LiveServer(funding, port=funding_port):
            yield {
                "registry_url": registry_server.url,
                "funding_url": funding_url,
                "contracts_url": contracts_url,
            }


async def test_the_dashboard_leaves_demo_records_out_unless_asked(
    demo_suite: dict[str, str],
) -> None:
    async with running_gateway(**demo_suite) as (_, client):
        real = (await client.get(f"{API}/dashboard")).json()
        everything = (await client.get(f"{API}/dashboard", params={"include_demo": "true"})).json()
        contracts = (await client.get(f"{API}/contracts", params={"limit": 1000})).json()
        real_contracts = (
            await client.get(f"{API}/contracts", params={"is_demo": "false", "limit": 1000})
        ).json()
    assert real["partial"] is False and everything["partial"] is False
    assert real["include_demo"] is False and everything["include_demo"] is True
    demo_count = sum(c["is_demo"] for c in contracts["items"])
    assert demo_count > 0
    assert real["contracts"]["total"] == len(real_contracts["items"])
    assert everything["contracts"]["total"] == len(contracts["items"])
    assert everything["contracts"]["total"] - real["contracts"]["total"] == demo_count
    assert contracts["coverage"].startswith("partial")
    # No real allocation is public: the real money committed is 0 recorded (and the public
    # record's figures come beside it, never in it).
    assert real["money"]["totals"]["committed_cents"] == 0
    assert everything["money"]["totals"]["committed_cents"] > 0
    assert real["money"]["totals"]["amount_cents"] == everything["money"]["totals"]["amount_cents"]
    assert {f["code"] for f in real["money"]["reported"]} >= {"fonds-vert-committed-2024"}
    for board in (real, everything):
        money = board["money"]
        for by in ("operator", "funder", "theme", "year", "envelope"):
            items = money[f"by_{by}"]
            assert sum(i["amount_cents"] for i in items) == money["totals"]["amount_cents"], by
        for by in ("operator", "theme", "year", "envelope"):
            items = money[f"by_{by}"]
            committed = sum(i["committed_cents"] for i in items)
            assert committed == money["totals"]["committed_cents"], by


async def test_the_dossier_totals_leave_demo_allocations_out_unless_asked(
    demo_suite: dict[str, str],
) -> None:
    async with running_gateway(**demo_suite) as (_, client):
        real = (await client.get(f"{API}/territories/{DEMO_TERRITORY}/dossier")).json()
        everything = (
            await client.get(
                f"{API}/territories/{DEMO_TERRITORY}/dossier", params={"include_demo": "true"}
            )
        ).json()
    listed = [a for a in real["allocations_without_action"] if a["is_demo"]]
    assert listed  # listed, marked, and not counted
    assert real["balances"]["include_demo"] is False
    assert real["balances"]["demo_left_out"] == len(listed)
    assert real["balances"]["totals"]["committed_cents"] == 0
    assert everything["balances"]["totals"]["committed_cents"] == sum(
        a["amount_cents"] for a in listed
    )
