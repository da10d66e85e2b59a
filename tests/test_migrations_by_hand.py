"""`alembic upgrade` run by hand, with a service's alembic.ini and env.py, is as safe as a
deployment's migrate job: it takes the migration lock and records the lineage readiness reads."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from tdi_kit import migrations, testing
from tdi_kit.db import create_engine
from tdi_kit.lineage import schema_state, scripts

ROOT = Path(__file__).resolve().parents[1]
ALEMBIC = Path(sys.executable).with_name("alembic")


async def _alembic(service: str, url: str, *args: str) -> asyncio.subprocess.Process:
    """`alembic -c services/<service>/alembic.ini <args>` on `url`, as an operator would."""
    environ = {**os.environ, f"{service.upper()}_DATABASE_URL": url}
    return await asyncio.create_subprocess_exec(
        str(ALEMBIC),
        "-c",
        str(ROOT / "services" / service / "alembic.ini"),
        *args,
        cwd=ROOT,
        env=environ,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _finished(process: asyncio.subprocess.Process) -> None:
    _out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err.decode()


@pytest.mark.parametrize("service", ["registry", "funding", "contracts"])
async def test_alembic_by_hand_records_the_lineage_readiness_reads(service: str) -> None:
    script = f"{service}:migrations"
    async with testing.test_database(f"{service}_by_hand") as url:
        await _finished(await _alembic(service, url, "upgrade", "head"))
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                recorded = set(await connection.scalars(sa.select(migrations.lineage.c.revision)))
            assert recorded == {r.revision for r in scripts(script).walk_revisions()}
            state = await schema_state(engine, script)
            assert state.position == "at_head"
            assert state.current == migrations.heads(script)
        finally:
            await engine.dispose()


@pytest.mark.postgres_only
async def test_alembic_by_hand_waits_for_the_migration_lock_a_deployment_holds() -> None:
    async with testing.test_database("registry_by_hand_lock") as url:
        engine = create_engine(url)
        try:
            async with engine.connect() as holder:
                # A deployment's migrate job, mid-way: it holds the lock in its transaction.
                async with holder.begin():
                    await holder.execute(
                        sa.text("SELECT pg_advisory_xact_lock(:lock)"),
                        {"lock": migrations.MIGRATION_LOCK},
                    )
                    process = await _alembic("registry", url, "upgrade", "head")
                    await _waiting_on_the_lock(engine, process)
                    async with engine.connect() as other:
                        assert await migrations.current_revisions(engine) == set()
                        assert not await other.run_sync(
                            lambda c: sa.inspect(c).has_table("alembic_version")
                        )
                await _finished(process)
            assert await migrations.current_revisions(engine) == migrations.heads(
                "registry:migrations"
            )
        finally:
            await engine.dispose()


async def _waiting_on_the_lock(engine: AsyncEngine, process: asyncio.subprocess.Process) -> None:
    """Until the command line's session waits on the advisory lock (it never gets past it)."""
    objid = migrations.MIGRATION_LOCK & 0xFFFFFFFF
    for _ in range(600):
        async with engine.connect() as connection:
            waiting = await connection.scalar(
                sa.text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                    " AND NOT granted AND objid = :objid"
                ),
                {"objid": objid},
            )
        if waiting:
            return
        assert process.returncode is None, "alembic finished without waiting for the lock"
        await asyncio.sleep(0.05)
    raise AssertionError("alembic never waited on the migration lock")
