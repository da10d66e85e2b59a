"""`tdi backup` and `tdi restore` round trip a service's database: the ledger, the balances and
the ledger's protection come back as they were, and a restore that does not match its manifest,
or lands on a database in use, fails saying why."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from funding.main import MIGRATIONS, create_app
from funding.seed.loader import load
from funding.settings import FundingSettings
from tdi_kit import migrations, testing
from tdi_kit.app import ServiceApp
from tdi_kit.testing import asgi_client, bearer

ROOT = Path(__file__).resolve().parents[2]
ADMIN = bearer("admin", sub="backup-test")
M = 100_000_000


async def tdi(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`tdi ARGS` as an operator runs it, with funding's database at `database_url`."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
    env["FUNDING_DATABASE_URL"] = database_url
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "tdi_cli.main", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def written(folder: Path) -> tuple[Path, Path]:
    """The backup file `tdi backup` wrote in `folder`, and its manifest."""
    [backup] = [p for p in folder.iterdir() if not p.name.endswith(".json")]
    return backup, folder / f"{backup.name}.json"


@pytest.fixture
async def funding_on(registry_app: ServiceApp) -> Any:
    """Serve funding on a given database, checking references with the run's registry."""
    apps: list[ServiceApp] = []

    def make(url: str) -> ServiceApp:
        app = create_app(
            FundingSettings(
                database_url=url, environment="test", log_json=False, check_actions=False
            ),
            registry_transport=httpx.ASGITransport(app=registry_app),
        )
        apps.append(app)
        return app

    yield make
    for app in apps:
        await app.state.engine.dispose()


async def record(client: httpx.AsyncClient) -> dict[str, Any]:
    """What the record says, as its readers read it: balances, the envelope, the ledger."""
    balances = await client.get("/api/v1/balances")
    envelope = await client.get("/api/v1/envelopes/backup-envelope")
    ledger = await client.get("/api/v1/ledger", params={"limit": 500}, headers=ADMIN)
    assert balances.status_code == envelope.status_code == ledger.status_code == 200
    return {"balances": balances.json(), "envelope": envelope.json(), "ledger": ledger.json()}


@pytest.fixture
async def source(funding_on: Any) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """A funding database seeded and with money recorded through the API."""
    async with testing.test_database("backup_source") as url:
        await migrations.migrate_and_seed(url, MIGRATIONS, load)
        async with asgi_client(funding_on(url)) as client:
            r = await client.post(
                "/api/v1/envelopes",
                json={
                    "code": "backup-envelope",
                    "operator_code": "bpifrance",
                    "name": "Enveloppe sauvegardée",
                    "kind": "grant",
                    "themes": ["innovation"],
                    "start_year": 2024,
                    "end_year": 2024,
                    "tranches": [{"year": 2024, "amount_cents": 100 * M}],
                    "rules": {},
                },
                headers=ADMIN,
            )
            assert r.status_code == 201, r.text
            r = await client.post(
                "/api/v1/allocations",
                json={
                    "envelope_code": "backup-envelope",
                    "year": 2024,
                    "territory_code": "ti-2708",
                    "title": "Ligne de production",
                    "beneficiary_name": "Entreprise sauvegardée",
                    "amount_cents": 3 * M,
                    "status": "committed",
                },
                headers=ADMIN,
            )
            assert r.status_code == 201, r.text
            yield url, await record(client)


async def test_a_backup_restored_into_a_new_database_is_the_same_record(
    source: tuple[str, dict[str, Any]], funding_on: Any, tmp_path: Path
) -> None:
    url, before = source
    saved = await tdi(url, "backup", "--service", "funding", "--to", str(tmp_path))
    assert saved.returncode == 0, saved.stderr
    backup, manifest_file = await asyncio.to_thread(written, tmp_path)
    manifest = json.loads(await asyncio.to_thread(manifest_file.read_text))
    assert manifest["service"] == "funding"
    assert manifest["tables"]["ledger_entries"] == len(before["ledger"]["items"]) > 0

    async with testing.test_database("backup_target") as target:
        restored = await tdi(target, "restore", str(backup))
        assert restored.returncode == 0, restored.stderr
        assert "as the manifest says" in restored.stdout
        app = funding_on(target)
        async with asgi_client(app) as client:
            assert await record(client) == before
        # The ledger's protection came back with it.
        async with app.state.engine.connect() as connection:
            with pytest.raises(DBAPIError, match="append-only"):
                await connection.execute(text("UPDATE ledger_entries SET actor = 'forged'"))

        # A second restore onto the same database is refused, and changes nothing.
        again = await tdi(target, "restore", str(backup))
        assert again.returncode != 0
        assert "not empty" in again.stderr
        async with asgi_client(funding_on(target)) as client:
            assert await record(client) == before


async def test_a_restore_that_does_not_match_its_manifest_fails_naming_the_tables(
    source: tuple[str, dict[str, Any]], tmp_path: Path
) -> None:
    url, _ = source
    assert (await tdi(url, "backup", "--service", "funding", "--to", str(tmp_path))).returncode == 0
    backup, manifest_file = await asyncio.to_thread(written, tmp_path)
    manifest = json.loads(await asyncio.to_thread(manifest_file.read_text))
    manifest["tables"]["ledger_entries"] += 1  # an entry the file does not hold
    await asyncio.to_thread(manifest_file.write_text, json.dumps(manifest))
    async with testing.test_database("backup_tampered") as target:
        restored = await tdi(target, "restore", str(backup))
        assert restored.returncode != 0
        assert "ledger_entries" in restored.stderr


async def test_a_file_that_is_not_a_backup_of_a_service_is_refused(tmp_path: Path) -> None:
    stray = tmp_path / "payroll-20260101T000000Z.dump"
    await asyncio.to_thread(stray.write_bytes, b"not a backup")
    refused = await tdi("sqlite+aiosqlite:///unused.db", "restore", str(stray))
    assert refused.returncode != 0
    assert "not a backup of registry, funding or contracts" in refused.stderr
