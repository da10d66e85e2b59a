"""The ledger's sums the database keeps (`balance_sums`): added to by each ledger write in its
transaction, never losing an increment when writers add to one row at once (PostgreSQL), and
filled from the ledger by the migration that creates them."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from funding_cases import migrated_and_seeded
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from funding.ledger import sums
from funding.main import MIGRATIONS
from funding.models import BalanceSum, Tranche
from tdi_kit import migrations, testing
from tdi_kit.db import create_engine

WRITERS = 12


def _entry(tranche: Tranche, *, amount: int, committed: int) -> dict[str, object]:
    return {
        "tranche_id": tranche.id,
        "envelope_code": tranche.envelope_code,
        "funder_code": "race-funder",
        "allocation_id": None,
        "amount_delta_cents": amount,
        "committed_delta_cents": committed,
        "disbursed_delta_cents": 0,
        "is_demo": True,
    }


def test_an_entry_adds_to_every_movement_and_to_each_of_its_regions() -> None:
    tranche_id, allocation = uuid.uuid4(), uuid.uuid4()
    rows = [
        {"tranche_id": tranche_id, "envelope_code": "e", "allocation_id": allocation,
         "committed_delta_cents": 5},
        {"tranche_id": tranche_id, "envelope_code": "e", "amount_delta_cents": 7,
         "funder_code": "etat"},
        {"tranche_id": tranche_id, "envelope_code": "e", "allocation_id": allocation,
         "committed_delta_cents": -2},
    ]  # fmt: skip
    lines = sums.deltas(rows, {allocation: ["27", "84"]})
    assert lines == {
        ("", tranche_id, "", False): ("e", [0, 3, 0, 0]),
        ("27", tranche_id, "", False): ("e", [0, 3, 0, 0]),
        ("84", tranche_id, "", False): ("e", [0, 3, 0, 0]),
        ("", tranche_id, "etat", False): ("e", [7, 0, 0, 1]),
    }


@pytest.mark.postgres_only
async def test_writers_adding_to_one_row_at_once_lose_no_increment() -> None:
    async with testing.test_database("funding_sums_race") as url:
        await migrated_and_seeded(url)
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                tranche = (await connection.execute(select(Tranche).limit(1))).one()

            async def write(n: int) -> None:
                async with AsyncSession(engine) as session, session.begin():
                    await sums.add(session, [_entry(tranche, amount=n, committed=1)])
                    # Hold the row a while: the other writers queue on it, then add to it.
                    await asyncio.sleep(0.05)

            await asyncio.gather(*(write(n) for n in range(1, WRITERS + 1)))
            async with engine.connect() as connection:
                rows = (
                    await connection.execute(
                        select(BalanceSum).where(BalanceSum.funder_code == "race-funder")
                    )
                ).all()
            assert len(rows) == 1
            row = rows[0]
            assert row.amount_cents == WRITERS * (WRITERS + 1) // 2
            assert row.committed_cents == WRITERS and row.amount_moves == WRITERS
        finally:
            await engine.dispose()


async def _kept(engine: AsyncEngine) -> list[tuple[object, ...]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(BalanceSum).order_by(
                BalanceSum.region_code,
                BalanceSum.tranche_id,
                BalanceSum.funder_code,
                BalanceSum.is_demo,
            )
        )
        return [tuple(row) for row in rows]


async def test_the_migration_fills_the_sums_the_writes_keep() -> None:
    async with testing.test_database("funding_sums_backfill") as url:
        await migrated_and_seeded(url)
        engine = create_engine(url)
        try:
            kept = await _kept(engine)
            assert kept, "the seed's endowments are in the kept sums"
            await migrations.downgrade(engine, MIGRATIONS, "0005")
            await migrations.upgrade(engine, MIGRATIONS)
            assert await _kept(engine) == kept
        finally:
            await engine.dispose()
