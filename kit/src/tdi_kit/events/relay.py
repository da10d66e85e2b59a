"""The relay: a background task in each service process that sequences committed events and,
when a broker is configured, publishes them to it in position order, at least once.

Each round: `sequence` (positions for what committed since), then, with a publisher, the next
sequenced events not yet published, in position order, handed to the broker and confirmed by
it, then marked `published_at`. A relay killed between the broker's confirmation and the mark
publishes those events again when it restarts: the event id is the message id, so the broker
(NATS's duplicate window) or the consumer (by id) drops the second copy.

A broker that is away or refuses is retried with a back-off (doubling up to
`max_backoff_seconds`), logged and counted (`events_relay_errors_total`); the service's requests
never wait on it, and the feeds serve the events all the same (they sequence before they read).

On PostgreSQL one relay publishes at a time, whatever the replicas (a transaction-level
advisory lock held for the batch): the broker receives each service's events in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import weakref
from typing import Any

from sqlalchemy import MetaData, func, select, text, update
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import Session

from tdi_kit import clock
from tdi_kit.db import WRITE_OPTIONS
from tdi_kit.events.brokers import Publisher
from tdi_kit.events.outbox import WAKE, events_table
from tdi_kit.events.schema import event_from_row
from tdi_kit.events.sequencer import sequence
from tdi_kit.tracing import untraced

log = logging.getLogger("tdi.events.relay")

# "tdi-pub" read as a number: one publisher at a time per database.
PUBLISH_LOCK = 0x7464692D707562
BATCH = 500

# The table as the relay reads and marks it (each service declares it in its own metadata).
_events = events_table(MetaData())


class PublishFailed(Exception):
    """The broker did not take a batch (its cause says why): the relay backs off."""


class Relay:
    """Sequences and publishes the events of one service's database (see the module)."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        source: str,
        publisher: Publisher | None = None,
        metrics: Any = None,
        interval_seconds: float = 0.2,
        max_backoff_seconds: float = 30.0,
        batch: int = BATCH,
    ) -> None:
        self.engine, self.source, self.publisher, self.metrics = engine, source, publisher, metrics
        self.interval_seconds, self.max_backoff_seconds = interval_seconds, max_backoff_seconds
        self.batch = batch
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.failures = 0  # consecutive failed rounds (0: healthy)
        self.rounds = 0  # rounds done

    # Lifecycle --------------------------------------------------------------------------------

    def start(self) -> None:
        """Run in the background, woken early by the commits of this process that emit events."""
        _RELAYS[self.engine.sync_engine] = self
        self._task = asyncio.create_task(untraced(self.run), name=f"events-relay-{self.source}")

    async def stop(self) -> None:
        _RELAYS.pop(self.engine.sync_engine, None)
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.publisher is not None:
            await self.publisher.close()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                await self.round()
            except Exception as exc:
                await self._gauge_backlog()  # (a cancellation, BaseException, stops the loop)
                self.failures += 1
                delay = min(
                    self.max_backoff_seconds, self.interval_seconds * 2 ** min(self.failures, 16)
                )
                stage = "publish" if isinstance(exc, PublishFailed) else "sequence"
                cause = exc.__cause__ if isinstance(exc, PublishFailed) and exc.__cause__ else exc
                self._count_error(stage)
                log.warning(
                    "events relay: %s failed (%s: %s); retrying in %.1f s",
                    stage,
                    type(cause).__name__,
                    " ".join(str(cause).split())[:200],
                    delay,
                )
                if stage == "publish" and self.publisher is not None:
                    # A fresh connection next time: the old one may be half dead.
                    await self.publisher.close()
                await asyncio.sleep(delay)
                continue
            self.rounds += 1
            await self._gauge_backlog()
            if self.failures:
                log.info("events relay: recovered after %d failed rounds", self.failures)
                self.failures = 0
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval_seconds):
                    await self._wake.wait()
            self._wake.clear()

    # One round --------------------------------------------------------------------------------

    async def round(self) -> tuple[int, int]:
        """Sequence, then publish what is sequenced and unpublished; (sequenced, published)."""
        sequenced = await self.sequence()
        published = 0
        if self.publisher is not None:
            try:
                while True:
                    count = await self.publish_batch()
                    published += count
                    if count < self.batch:
                        break
            except Exception as exc:
                raise PublishFailed(str(exc)) from exc
        return sequenced, published

    async def sequence(self) -> int:
        # A read first: on SQLite an UPDATE takes the write lock even when it changes nothing.
        async with self.engine.connect() as connection:
            waiting = await connection.scalar(
                select(_events.c.seq).where(_events.c.position.is_(None)).limit(1)
            )
        return await sequence(self.engine) if waiting is not None else 0

    async def publish_batch(self) -> int:
        """Publish the next sequenced, unpublished events (up to `batch`); how many."""
        if self.engine.dialect.name == "postgresql":
            # One publisher at a time: the lock is held from the read to the mark.
            async with self.engine.connect() as connection, connection.begin():
                if not await connection.scalar(
                    text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": PUBLISH_LOCK}
                ):
                    return 0
                rows = await self._next(connection)
                if rows:
                    await self._publish(rows)
                    await self._mark(connection, rows)
        else:
            # SQLite: no transaction open while the broker works (a read snapshot would refuse
            # to become a write once another writer committed), then the mark on its own,
            # taking the write lock up front.
            async with self.engine.connect() as connection:
                rows = await self._next(connection)
            if rows:
                await self._publish(rows)
                async with self.engine.connect() as connection:
                    connection = await connection.execution_options(**WRITE_OPTIONS)
                    async with connection.begin():
                        await self._mark(connection, rows)
        if rows and self.metrics is not None:
            self.metrics.events_published(len(rows))
        return len(rows)

    def _next_statement(self) -> Any:
        # The terms of `ix_events_unpublished`'s WHERE, for the database to read that index.
        return (
            select(_events)
            .where(_events.c.position.is_not(None), _events.c.published_at.is_(None))
            .order_by(_events.c.position)
            .limit(self.batch)
        )

    async def _next(self, connection: AsyncConnection) -> list[Any]:
        return list((await connection.execute(self._next_statement())).all())

    async def _publish(self, rows: list[Any]) -> None:
        assert self.publisher is not None
        await self.publisher.publish([event_from_row(row, source=self.source) for row in rows])

    async def _mark(self, connection: AsyncConnection, rows: list[Any]) -> None:
        await connection.execute(
            update(_events)
            .where(_events.c.seq.in_([row.seq for row in rows]))
            .values(published_at=clock.now())
        )

    async def backlog(self) -> tuple[int, float]:
        """How many sequenced events wait for the broker, and the age in seconds of the oldest
        (read through `ix_events_unpublished`: the backlog's size, not the history's)."""
        async with self.engine.connect() as connection:
            count, oldest = (
                await connection.execute(
                    select(func.count(), func.min(_events.c.occurred_at)).where(
                        _events.c.position.is_not(None), _events.c.published_at.is_(None)
                    )
                )
            ).one()
        if oldest is None:
            return 0, 0.0
        if oldest.tzinfo is None:  # SQLite hands back the stored UTC time without its zone
            oldest = oldest.replace(tzinfo=dt.UTC)
        return int(count), max(0.0, (clock.now() - oldest).total_seconds())

    async def _gauge_backlog(self) -> None:
        if self.publisher is None or self.metrics is None:
            return  # without a broker nothing is ever published: no backlog to speak of
        try:
            self.metrics.events_backlog(*await self.backlog())
        except Exception as exc:  # the database away: the relay's own error says so
            log.debug("events relay: backlog not measured (%s)", exc)

    def _count_error(self, stage: str) -> None:
        if self.metrics is not None:
            self.metrics.events_relay_error(stage)


# Waking the relay after a commit that emitted events ---------------------------------------------

_RELAYS: weakref.WeakKeyDictionary[Engine, Relay] = weakref.WeakKeyDictionary()


@sa_event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(WAKE, False):
        # A session bound to a connection (tests, jobs) names its engine through it.
        engine = getattr(session.get_bind(), "engine", None)
        relay = _RELAYS.get(engine) if isinstance(engine, Engine) else None
        if relay is not None:
            relay.wake()


@sa_event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(WAKE, None)
