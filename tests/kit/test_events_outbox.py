"""The outbox and the sequencer (issue 14): no change without its event and no event without its
change; positions dense, unique and given once, in commit order; one record's events in order."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from outbox_testing import change, commit_changes, count, outbox, outbox_database, records, rows
from sqlalchemy import select

from tdi_kit.db import create_sessionmaker
from tdi_kit.events.sequencer import sequence


async def test_a_rolled_back_change_leaves_no_event_and_a_committed_one_leaves_both() -> None:
    async with outbox_database("events_atomic") as engine:
        sessions = create_sessionmaker(engine)
        async with sessions() as session:
            await change(session, "a")
            await session.rollback()
        assert (await count(engine, records), await count(engine, outbox)) == (0, 0)

        async with sessions() as session:
            with pytest.raises(RuntimeError):
                async with session.begin():
                    await change(session, "a")
                    raise RuntimeError("the handler fails after the change")
        assert (await count(engine, records), await count(engine, outbox)) == (0, 0)

        async with sessions() as session:
            event = await change(session, "a")
            await session.commit()
        [row] = await rows(engine)
        assert (await count(engine, records), row.id, row.version) == (1, event.id, 1)
        assert row.position is None and row.published_at is None
        assert await sequence(engine) == 1
        assert [r.position for r in await rows(engine)] == [1]
        assert await sequence(engine) == 0  # nothing left: a position is given once


@pytest.mark.postgres_only
async def test_an_event_whose_transaction_commits_late_gets_a_later_position() -> None:
    # (SQLite serialises writers: a transaction that wrote first commits first.)
    async with outbox_database("events_late") as engine:
        late = create_sessionmaker(engine)()
        await change(late, "late")  # written first (the lower seq), committed last
        await commit_changes(engine, "early", 2)
        assert await sequence(engine) == 2
        await late.commit()
        await late.close()
        assert await sequence(engine) == 1
        positions = {r.subject_id: r.position for r in await rows(engine) if r.version == 1}
        assert positions == {"early": 1, "late": 3}


@pytest.mark.postgres_only
async def test_eight_concurrent_writers_get_dense_unique_positions_each_given_once() -> None:
    writers, per_writer = 8, 15
    async with outbox_database("events_concurrent", pool_size=12) as engine:
        seen: dict[uuid.UUID, int] = {}
        stop = asyncio.Event()

        async def sequencer() -> None:
            # Sequencing while the writers commit; every position seen must never change.
            while not stop.is_set():
                await sequence(engine, batch=7)
                for row in await rows(engine):
                    if row.position is not None:
                        assert seen.setdefault(row.id, row.position) == row.position
                await asyncio.sleep(0)

        async def writer(n: int) -> None:
            await commit_changes(engine, f"w{n}", per_writer)

        running = [asyncio.create_task(sequencer()) for _ in range(2)]
        await asyncio.gather(*(writer(n) for n in range(writers)))
        stop.set()
        await asyncio.gather(*running)
        await sequence(engine)
        positions = [r.position for r in await rows(engine)]
        total = writers * per_writer
        assert sorted(positions) == list(range(1, total + 1))
        for row in await rows(engine):
            assert seen.get(row.id, row.position) == row.position


@pytest.mark.postgres_only
async def test_one_records_events_keep_their_order_under_concurrent_writers() -> None:
    async with outbox_database("events_order", pool_size=12) as engine:
        await commit_changes(engine, "shared", 1)
        stop = asyncio.Event()

        async def sequencer() -> None:
            while not stop.is_set():
                await sequence(engine)
                await asyncio.sleep(0.001)

        running = asyncio.create_task(sequencer())
        await asyncio.gather(*(commit_changes(engine, "shared", 10) for _ in range(8)))
        stop.set()
        await running
        await sequence(engine)
        async with engine.connect() as connection:
            versions = list(
                await connection.scalars(
                    select(outbox.c.version)
                    .where(outbox.c.subject_id == "shared")
                    .order_by(outbox.c.position)
                )
            )
        assert versions == list(range(1, 82))
