"""On PostgreSQL a service runs as a role of its own that can write its tables but owns none.

The migrations run as the schema's owner and grant the service's role (`*_DATABASE_APP_ROLE`)
what it needs: rows, not tables. So the running service cannot alter or drop a table, rewrite
the migration history, or switch off the ledger's append-only triggers, whatever code runs in it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import import_module

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from funding.main import create_app as create_funding
from funding.settings import FundingSettings
from tdi_kit import migrations, testing
from tdi_kit.app import ServiceApp
from tdi_kit.settings import normalise_database_url
from tdi_kit.testing import asgi_client, bearer

pytestmark = pytest.mark.postgres_only

SERVICES = ["registry", "funding", "contracts"]
PASSWORD = "app-role-password"


@asynccontextmanager
async def app_role() -> AsyncIterator[str]:
    """A login role for the run, dropped at the end (after the databases it was granted on)."""
    role = f"tdi_test_app_{uuid.uuid4().hex[:8]}"
    server = normalise_database_url(os.environ[testing.ENV_URL])
    admin = create_async_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    async with admin.connect() as connection:
        await connection.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}'"))
    try:
        yield role
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f"DROP ROLE IF EXISTS {role}"))
        await admin.dispose()


def as_role(url: str, role: str) -> str:
    return make_url(url).set(username=role, password=PASSWORD).render_as_string(False)


async def refused(engine: AsyncEngine, statement: str) -> str:
    """The error PostgreSQL gives `statement` (the test fails if it runs)."""
    async with engine.connect() as connection:
        with pytest.raises(DBAPIError) as refusal:
            await connection.execute(text(statement))
        await connection.rollback()
    return str(refusal.value.orig)


@pytest.mark.parametrize("service", SERVICES)
async def test_the_service_role_writes_rows_but_owns_no_table(service: str) -> None:
    main = import_module(f"{service}.main")
    async with app_role() as role, testing.test_database(f"{service}_roles") as url:
        await migrations.migrate_and_seed(url, main.MIGRATIONS, app_role=role)
        engine = create_async_engine(as_role(url, role), poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                tables = (
                    await connection.execute(
                        text(
                            "SELECT tablename, tableowner FROM pg_tables "
                            "WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                        )
                    )
                ).all()
                assert tables and all(owner != role for _, owner in tables)
                # Every table is the service's to read and write (idempotency keys: written by
                # every write; rows of its own domain tables: written by the API).
                await connection.execute(text("SELECT count(*) FROM idempotency_keys"))
                await connection.execute(text("DELETE FROM idempotency_keys WHERE false"))
                # The outbox: events are added, sequenced and marked published, never deleted.
                await connection.execute(text("SELECT count(*) FROM events"))
                await connection.execute(
                    text("UPDATE events SET position = position, published_at = now() WHERE false")
                )
                await connection.rollback()
            table = tables[0][0]
            for statement in [
                f"ALTER TABLE {table} ADD COLUMN intruder integer",
                f"ALTER TABLE {table} DISABLE TRIGGER ALL",
                f"DROP TABLE {table}",
                "UPDATE alembic_version SET version_num = 'forged'",
                "DELETE FROM alembic_version",
                "CREATE TABLE intruder (id integer)",
                "DELETE FROM events",
                "TRUNCATE events",
            ]:
                refusal = await refused(engine, statement)
                assert "permission denied" in refusal or "must be owner" in refusal, statement
            # Readiness reads the schema's revision: it still can.
            async with engine.connect() as connection:
                assert (
                    await connection.execute(text("SELECT version_num FROM alembic_version"))
                ).all()
        finally:
            await engine.dispose()


async def test_funding_on_its_role_records_money_and_cannot_touch_the_ledger(
    registry_app: ServiceApp,
) -> None:
    main = import_module("funding.main")
    async with app_role() as role, testing.test_database("funding_ledger_role") as url:
        await migrations.migrate_and_seed(url, main.MIGRATIONS, app_role=role)
        app = create_funding(
            FundingSettings(
                database_url=as_role(url, role),
                environment="test",
                log_json=False,
                check_actions=False,
            ),
            registry_transport=httpx.ASGITransport(app=registry_app),
        )
        try:
            async with asgi_client(app) as client:
                r = await client.post(
                    "/api/v1/envelopes",
                    json={
                        "code": "role-envelope",
                        "operator_code": "bpifrance",
                        "name": "Enveloppe du rôle applicatif",
                        "kind": "grant",
                        "themes": ["innovation"],
                        "start_year": 2024,
                        "end_year": 2024,
                        "tranches": [{"year": 2024, "amount_cents": 100_000_000}],
                        "rules": {},
                    },
                    headers=bearer("admin", sub="role-test"),
                )
                assert r.status_code == 201, r.text
                # A second movement of the same tranche adds to its row of the kept sums: the
                # role may update balance_sums (an upsert), only the ledger is append-only.
                r = await client.post(
                    "/api/v1/envelopes/role-envelope/tranches/2024/adjustments",
                    json={"delta_cents": 5_000_000, "reason": "Abondement du rôle"},
                    headers={**bearer("admin", sub="role-test"), "If-Match": "*"},
                )
                assert r.status_code == 200, r.text
            engine = app.state.engine
            async with engine.connect() as connection:
                written = await connection.scalar(text("SELECT count(*) FROM ledger_entries"))
                kept = await connection.scalar(
                    text(
                        "SELECT amount_cents FROM balance_sums "
                        "WHERE envelope_code = 'role-envelope' AND region_code = ''"
                    )
                )
            assert written and written > 0
            assert kept == 105_000_000
            for statement in [
                "UPDATE ledger_entries SET actor = 'forged'",
                "DELETE FROM ledger_entries",
                "TRUNCATE ledger_entries",
                "ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_append_only",
                "DROP TRIGGER ledger_entries_append_only ON ledger_entries",
            ]:
                refusal = await refused(engine, statement)
                assert "permission denied" in refusal or "must be owner" in refusal, statement
        finally:
            await app.state.engine.dispose()
