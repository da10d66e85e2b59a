"""The relay (issue 14): it publishes sequenced events in position order to a real NATS
JetStream and a real RabbitMQ, at least once: killed between the broker's acceptance and its
mark, it publishes again on restart, and each event arrives exactly once after deduplication by
id. A broker that is away is retried with a back-off while the events are still sequenced."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

import pytest
from outbox_testing import broker_or_skip, commit_changes, eventually, outbox_database, rows
from sqlalchemy.ext.asyncio import AsyncEngine

from tdi_kit.events.brokers import (
    STREAM,
    SUBJECT_PREFIX,
    NatsSource,
    Publisher,
    RabbitSource,
    publisher_for,
)
from tdi_kit.events.relay import PublishFailed, Relay
from tdi_kit.events.schema import EventRead
from tdi_kit.observability import Metrics
from tdi_kit.testing import free_port

NATS_URL = "nats://127.0.0.1:4222"
RABBIT_URL = "amqp://guest:guest@127.0.0.1:5672/"
BROKERS = [
    pytest.param(NATS_URL, 4222, "NATS JetStream", id="nats"),
    pytest.param(RABBIT_URL, 5672, "RabbitMQ", id="rabbitmq"),
]


class EventSource(Protocol):
    """`tdi_kit.events.source.EventSource` as helper hook's branch declares it (the webhooks
    dispatcher reads from it): the broker consumers must be ones, which mypy checks here."""

    def batches(self) -> AsyncIterator[list[EventRead]]: ...
    async def ack(self, events: list[EventRead]) -> None: ...


class DiesAfterTheBrokerAccepted:
    """A relay's publisher whose process dies once the broker has taken a batch, before the
    relay marks it published: by an exception, or hanging until its task is cancelled."""

    def __init__(self, inner: Publisher, *, how: str) -> None:
        self.inner, self.how = inner, how
        self.accepted: list[EventRead] = []

    async def publish(self, events: Sequence[EventRead]) -> None:
        await self.inner.publish(events)
        self.accepted.extend(events)
        if self.how == "raise":
            raise RuntimeError("killed after the broker accepted the batch")
        await asyncio.Event().wait()

    async def close(self) -> None:
        await self.inner.close()


@contextlib.asynccontextmanager
async def consumer(url: str, source: str) -> AsyncIterator[NatsSource | RabbitSource]:
    """A durable consumer of `source`'s events only, declared before anything is published and
    withdrawn at the end."""
    consumer: NatsSource | RabbitSource
    if url.startswith("nats"):
        consumer = NatsSource(
            url, durable=source, subjects=f"{SUBJECT_PREFIX}.{source}.>", wait_seconds=0.5
        )
    else:
        consumer = RabbitSource(url, queue=source, bindings=[f"{source}.#"])
    await consumer.declare()
    try:
        yield consumer
    finally:
        if isinstance(consumer, NatsSource) and consumer._js is not None:
            with contextlib.suppress(Exception):
                await consumer._js.purge_stream(STREAM, subject=f"{SUBJECT_PREFIX}.{source}.>")
        await consumer.delete()


async def receive(source: EventSource, expected: set[uuid.UUID]) -> list[EventRead]:
    """Every message received (duplicates included) until each expected id has come, acked."""
    received: list[EventRead] = []
    batches = source.batches()
    try:
        async with asyncio.timeout(20):
            while not expected <= {e.id for e in received}:
                batch = await anext(batches)
                received.extend(batch)
                await source.ack(batch)
        # Whatever else is on its way (a second copy) comes now or never.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1):
                while True:
                    batch = await anext(batches)
                    received.extend(batch)
                    await source.ack(batch)
    finally:
        await batches.aclose()  # type: ignore[attr-defined]
    return received


async def one_round(engine: AsyncEngine, source: str, url: str) -> tuple[int, int]:
    """A relay's round with a fresh publisher, closed after it."""
    relay = Relay(engine, source=source, publisher=publisher_for(url))
    try:
        return await relay.round()
    finally:
        await relay.stop()


@pytest.mark.parametrize(("url", "port", "what"), BROKERS)
async def test_a_relay_killed_after_the_broker_accepted_publishes_again_and_each_event_arrives_once(
    url: str, port: int, what: str
) -> None:
    broker_or_skip(port, what)
    source = f"test{uuid.uuid4().hex[:10]}"
    async with outbox_database(f"events_relay_{port}") as engine, consumer(url, source) as sink:
        await commit_changes(engine, "a", 3)
        await commit_changes(engine, "b", 2)

        # Killed by an exception, after the broker took the first batch of two.
        dying = DiesAfterTheBrokerAccepted(publisher_for(url), how="raise")
        with pytest.raises(PublishFailed):
            await Relay(engine, source=source, publisher=dying, batch=2).round()
        await dying.close()
        assert len(dying.accepted) == 2
        assert all(r.position is not None and r.published_at is None for r in await rows(engine))

        # Killed by cancelling its task while the broker has every event and none is marked.
        await commit_changes(engine, "a", 2)
        hanging = DiesAfterTheBrokerAccepted(publisher_for(url), how="hang")
        relay = Relay(engine, source=source, publisher=hanging)
        relay.start()
        await eventually(lambda: len(hanging.accepted) == 7, within=10)
        await relay.stop()
        assert all(r.published_at is None for r in await rows(engine))

        # Restarted: it publishes them all again, and marks them.
        assert await one_round(engine, source, url) == (0, 7)
        stored = await rows(engine)
        assert all(r.published_at is not None for r in stored)
        by_position = [r.id for r in sorted(stored, key=lambda r: r.position)]

        received = await receive(sink, set(by_position))
        once = list(dict.fromkeys(e.id for e in received))  # deduplicated by id, first seen
        assert once == by_position  # every event, exactly once, in the feed's order
        if url.startswith("nats"):
            # JetStream itself dropped the second publications (same Nats-Msg-Id).
            assert len(received) == len(by_position)
        else:
            assert len(received) == 2 + 7 + 7  # RabbitMQ delivers each publication
        first = next(e for e in received if e.id == by_position[0])
        assert (first.source, first.type, first.subject.id) == (source, "record.changed", "a")
        assert first.payload == {"record": {"id": "a", "version": 1}}

        # Nothing left to publish: a round publishes nothing more.
        assert await one_round(engine, source, url) == (0, 0)


@pytest.mark.parametrize("scheme", ["nats", "amqp"])
async def test_a_broker_away_is_retried_with_a_back_off_and_events_are_still_sequenced(
    scheme: str,
) -> None:
    url = f"{scheme}://127.0.0.1:{free_port()}"  # nothing listens there
    metrics = Metrics("probe")
    async with outbox_database(f"events_away_{scheme}") as engine:
        await commit_changes(engine, "a", 3)
        relay = Relay(
            engine,
            source="probe",
            publisher=publisher_for(url),
            metrics=metrics,
            interval_seconds=0.01,
            max_backoff_seconds=0.05,
        )

        async def sequenced() -> bool:
            return all(r.position is not None for r in await rows(engine))

        relay.start()
        try:
            await eventually(lambda: relay.failures >= 3, within=15)
            # Writes go on while the broker is away, and are sequenced for the feed.
            await commit_changes(engine, "a", 1)
            await eventually(sequenced, within=5)
            # The backlog's gauge grows while the broker is away: 4 events wait.
            backlog = metrics.events_unpublished.labels("probe")
            await eventually(lambda: backlog._value.get() == 4, within=5)
            assert metrics.events_unpublished_age.labels("probe")._value.get() >= 0
        finally:
            await relay.stop()
        assert all(r.published_at is None for r in await rows(engine))
        errors = metrics.events_relay_errors.labels("probe", "publish")._value.get()
        assert errors >= 3
        assert metrics.events_published_total.labels("probe")._value.get() == 0


async def test_without_a_broker_the_relay_sequences_and_marks_nothing_published() -> None:
    async with outbox_database("events_no_broker") as engine:
        await commit_changes(engine, "a", 2)
        assert await Relay(engine, source="probe").round() == (2, 0)
        assert [(r.position, r.published_at) for r in await rows(engine)] == [(1, None), (2, None)]


async def test_the_backlog_gauge_empties_once_the_broker_has_the_events() -> None:
    broker_or_skip(4222, "NATS JetStream")
    metrics = Metrics("probe")
    source = f"backlog{uuid.uuid4().hex[:8]}"
    async with outbox_database("events_backlog") as engine, consumer(NATS_URL, source):
        await commit_changes(engine, "a", 3)
        relay = Relay(engine, source=source, publisher=publisher_for(NATS_URL), metrics=metrics)
        assert (await relay.sequence(), await relay.backlog()) == (3, (3, pytest.approx(0, abs=60)))
        relay.start()
        try:
            published = metrics.events_published_total.labels("probe")
            await eventually(lambda: published._value.get() == 3, within=15)
            await eventually(
                lambda: metrics.events_unpublished.labels("probe")._value.get() == 0, within=5
            )
        finally:
            await relay.stop()
        assert await relay.backlog() == (0, 0.0)
        assert metrics.events_unpublished_age.labels("probe")._value.get() == 0


async def test_a_relay_round_reads_the_backlog_through_its_index() -> None:
    """The relay's read of what to publish uses `ix_events_unpublished`: a round reads the
    backlog, not the service's whole history of published events."""
    from sqlalchemy import text

    from tdi_kit.events.outbox import TABLE

    async with outbox_database("events_unpublished_plan") as engine:
        await commit_changes(engine, "a", 3)
        relay = Relay(engine, source="probe")
        await relay.sequence()
        async with engine.connect() as connection:
            statement = relay._next_statement().compile(
                connection.sync_connection, compile_kwargs={"literal_binds": True}
            )
            if engine.dialect.name == "postgresql":
                await connection.execute(text("SET enable_seqscan = off"))
                plan = (await connection.execute(text(f"EXPLAIN {statement}"))).scalars().all()
            else:
                plan = [
                    row[-1]
                    for row in await connection.execute(text(f"EXPLAIN QUERY PLAN {statement}"))
                ]
        assert any("ix_events_unpublished" in line for line in plan), (TABLE, plan)
