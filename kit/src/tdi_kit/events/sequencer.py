"""The sequencer: positions for committed events, in the order they are seen committed.

An event's `seq` is handed out when its transaction writes it, not when the transaction
commits: a feed read by `seq` would pass over an event whose transaction commits after a later
one's, and never come back to it. The sequencer gives each committed event a `position` after
the highest one given, so that a reader who has read up to position p never misses an event:
every event sequenced later gets a higher position.

One sequencer runs at a time (PostgreSQL: a transaction-level advisory lock, tried, not waited
for: whoever holds it sequences for everyone; SQLite: writers are serialised). The feed
sequences before it reads, and the relay sequences in the background, so the feed is current
with or without a relay running. The events of one record keep their order: the transactions
that change a record lock it, so they commit, and are sequenced, one after the other.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

# The advisory lock's key: "tdi-events" read as a number, the same in every service's database.
LOCK_KEY = 0x7464692D6576

BATCH = 1000

_SEQUENCE = text(
    """
    UPDATE events SET position = (SELECT COALESCE(MAX(position), 0) FROM events) + ranked.rn
    FROM (
        SELECT seq, row_number() OVER (ORDER BY seq) AS rn
        FROM events WHERE position IS NULL ORDER BY seq LIMIT :batch
    ) AS ranked
    WHERE events.seq = ranked.seq
    """
)


async def sequence_in(connection: AsyncConnection, *, batch: int = BATCH) -> int:
    """Sequence up to `batch` committed events in `connection`'s transaction; how many. On
    PostgreSQL, none when another sequencer holds the lock (it sequences them)."""
    if connection.dialect.name == "postgresql":
        held = await connection.scalar(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": LOCK_KEY}
        )
        if not held:
            return 0
    result = await connection.execute(_SEQUENCE, {"batch": batch})
    return result.rowcount or 0


async def sequence(engine: AsyncEngine, *, batch: int = BATCH) -> int:
    """Sequence every committed event that has no position yet (in batches); how many."""
    done = 0
    while True:
        async with engine.begin() as connection:
            count = await sequence_in(connection, batch=batch)
        done += count
        if count < batch:
            return done
