"""The dispatcher reading from the broker (issue 14): events a service emits and its relay
publishes to a real NATS JetStream or RabbitMQ reach a subscription's receiver, signed, once,
and the broker giving them again (a replay) makes no second delivery. A broker away never
stops the dispatcher. The broker tests skip, saying why, when the broker does not answer on
127.0.0.1, and fail instead with `TDI_REQUIRE_BROKERS=1` (as tests/kit/test_events_relay.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
from sqlalchemy import func, select
from standardwebhooks import Webhook
from webhooks_testing import Receiver, Suite, client, receiver, subscribe, suite, webhook_suite

from registry.models import WebhookDelivery
from registry.webhooks.dispatcher import Dispatcher, event_source, run_until_cancelled
from tdi_kit.events import Event, emit
from tdi_kit.events.brokers import (
    STREAM,
    SUBJECT_PREFIX,
    NatsSource,
    RabbitPublisher,
    RabbitSource,
    publisher_for,
    subject,
)
from tdi_kit.events.relay import Relay
from tdi_kit.events.schema import EventRead
from tdi_kit.events.source import FeedSource
from tdi_kit.testing import free_port

__all__ = ["client", "receiver", "suite", "webhook_suite"]  # fixtures

NATS_URL = "nats://127.0.0.1:4222"
RABBIT_URL = "amqp://guest:guest@127.0.0.1:5672/"
BROKERS = [
    pytest.param(NATS_URL, 4222, "NATS JetStream", id="nats"),
    pytest.param(RABBIT_URL, 5672, "RabbitMQ", id="rabbitmq"),
]


def broker_or_skip(port: int, what: str) -> None:
    """Skip, saying why, when the broker does not answer on 127.0.0.1 (fail in CI). The same
    rule as tests/kit/outbox_testing.py, which this folder cannot import."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return
    except OSError:
        reason = f"{what} is not reachable on 127.0.0.1:{port}"
        if os.environ.get("TDI_REQUIRE_BROKERS") == "1":
            pytest.fail(f"{reason} and TDI_REQUIRE_BROKERS=1")
        pytest.skip(f"{reason} (set TDI_REQUIRE_BROKERS=1 to make this a failure)")


class Counting:
    """The dispatcher's source, counting what it gave (to know a replay was read)."""

    def __init__(self, inner: NatsSource | RabbitSource) -> None:
        self.inner = inner
        self.given: list[uuid.UUID] = []

    async def batches(self) -> AsyncIterator[list[EventRead]]:
        async for events in self.inner.batches():
            self.given.extend(e.id for e in events)
            yield events

    async def ack(self, events: list[EventRead]) -> None:
        await self.inner.ack(events)

    async def close(self) -> None:
        await self.inner.close()


def consumer(url: str, name: str, service: str) -> NatsSource | RabbitSource:
    """The webhooks' consumer, as `event_source` makes it, narrowed on NATS to the test's own
    service (the stream keeps every other test's events; a RabbitMQ queue made now has none)."""
    if url.startswith("nats"):
        return NatsSource(
            url, durable=name, subjects=f"{SUBJECT_PREFIX}.{service}.>", wait_seconds=0.5
        )
    return RabbitSource(url, queue=name)


async def replay(url: str, events: list[EventRead]) -> None:
    """The broker gives the events again: republished past JetStream's duplicate window (a new
    message id), or plainly to RabbitMQ's exchange (which keeps no ids)."""
    if url.startswith("nats"):
        import nats

        nc = await nats.connect(url)
        try:
            js = nc.jetstream()
            for e in events:
                body = e.model_dump_json().encode()
                await js.publish(subject(e), body, headers={"Nats-Msg-Id": f"{e.id}-again"})
        finally:
            await nc.close()
    else:
        publisher = RabbitPublisher(url)
        try:
            await publisher.publish(events)
        finally:
            await publisher.close()


async def until(check: object, within: float = 20.0) -> None:
    for _ in range(int(within / 0.05)):
        result = check()  # type: ignore[operator]
        if await result if asyncio.iscoroutine(result) else result:
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"not within {within} s")


async def count_deliveries(suite: Suite) -> int:
    async with suite.app.state.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(WebhookDelivery)) or 0)


@pytest.mark.parametrize(("url", "port", "what"), BROKERS)
async def test_events_relayed_to_the_broker_reach_the_receiver_signed_once_a_replay_ignored(
    client: httpx.AsyncClient,
    suite: Suite,
    receiver: Receiver,
    url: str,
    port: int,
    what: str,
) -> None:
    broker_or_skip(port, what)
    service = f"wh{uuid.uuid4().hex[:10]}"  # the emitting service: subjects of its own
    created = await subscribe(client, receiver.url, ["territory.*"])
    settings = suite.app.state.settings.model_copy(
        update={
            "webhook_poll_seconds": 0.05,
            "events_broker_url": url,
            "webhook_broker_consumer": f"test-{service}",
        }
    )
    source = Counting(consumer(url, settings.webhook_broker_consumer, service))
    await source.inner.declare()  # before anything is published (RabbitMQ keeps nothing else)
    dispatcher = Dispatcher(
        sessionmaker=suite.app.state.sessionmaker, settings=settings, resolver=suite.names
    )
    task = asyncio.create_task(run_until_cancelled(dispatcher, source))
    try:
        # A service changes three records; its relay sequences and publishes their events.
        made = [
            Event(
                type="territory.changed",
                subject_kind="territory",
                subject_id=f"T{i}",
                payload={"record": {"code": f"T{i}"}, "changed": ["name"]},
            )
            for i in range(3)
        ]
        async with suite.app.state.sessionmaker() as session, session.begin():
            await emit(session, made)
        relay = Relay(suite.app.state.engine, source=service, publisher=publisher_for(url))
        try:
            await relay.round()
        finally:
            await relay.stop()

        await until(lambda: len(receiver.received) >= 3)
        webhook = Webhook(created["secret"])
        sent = [EventRead.model_validate(webhook.verify(b, h)) for b, h in receiver.received]
        assert sorted(str(e.id) for e in sent) == sorted(str(e.id) for e in made)
        assert all(h["webhook-id"] == orjson.loads(b)["id"] for b, h in receiver.received)
        assert {e.source for e in sent} == {service}

        await replay(url, sent)
        await until(lambda: len(source.given) >= 6)  # the dispatcher read every copy...
        await asyncio.sleep(0.5)  # ...and had the time to (not) send them
        assert len(receiver.received) == 3
        assert await count_deliveries(suite) == 3
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        withdrawn = consumer(url, settings.webhook_broker_consumer, service)
        await withdrawn.declare()
        if isinstance(withdrawn, NatsSource) and withdrawn._js is not None:
            with contextlib.suppress(Exception):
                await withdrawn._js.purge_stream(STREAM, subject=f"{SUBJECT_PREFIX}.{service}.>")
        await withdrawn.delete()


async def emit_and_relay(suite: Suite, url: str, service: str, codes: list[str]) -> list[Event]:
    """A service's changes, each with its event, then a round of its relay to the broker."""
    made = [
        Event(
            type="territory.changed",
            subject_kind="territory",
            subject_id=code,
            payload={"record": {"code": code}, "changed": ["name"]},
        )
        for code in codes
    ]
    async with suite.app.state.sessionmaker() as session, session.begin():
        await emit(session, made)
    relay = Relay(suite.app.state.engine, source=service, publisher=publisher_for(url))
    try:
        await relay.round()
    finally:
        await relay.stop()
    return made


@pytest.mark.parametrize(("url", "port", "what"), BROKERS)
async def test_a_connection_to_the_broker_lost_is_made_again_and_nothing_is_missed(
    client: httpx.AsyncClient,
    suite: Suite,
    receiver: Receiver,
    url: str,
    port: int,
    what: str,
) -> None:
    broker_or_skip(port, what)
    service = f"wh{uuid.uuid4().hex[:10]}"
    await subscribe(client, receiver.url, ["territory.*"])
    settings = suite.app.state.settings.model_copy(update={"webhook_poll_seconds": 0.05})
    inner = consumer(url, f"test-{service}", service)
    await inner.declare()
    dispatcher = Dispatcher(
        sessionmaker=suite.app.state.sessionmaker, settings=settings, resolver=suite.names
    )
    task = asyncio.create_task(run_until_cancelled(dispatcher, inner))
    try:
        first = await emit_and_relay(suite, url, service, ["A1"])
        await until(lambda: len(receiver.received) >= 1)
        # The connection goes, under the consumer's feet (a broker restarted, a network cut).
        if isinstance(inner, NatsSource):
            await inner._nc.close()
        else:
            await inner._connection.close()
        later = await emit_and_relay(suite, url, service, ["B1", "B2"])
        await until(lambda: len(receiver.received) >= 3)
        await asyncio.sleep(0.3)
        ids = sorted(orjson.loads(body)["id"] for body, _ in receiver.received)
        assert ids == sorted(str(e.id) for e in first + later)
        assert not task.done()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        withdrawn = consumer(url, f"test-{service}", service)
        await withdrawn.declare()
        if isinstance(withdrawn, NatsSource) and withdrawn._js is not None:
            with contextlib.suppress(Exception):
                await withdrawn._js.purge_stream(STREAM, subject=f"{SUBJECT_PREFIX}.{service}.>")
        await withdrawn.delete()


async def test_a_broker_away_never_stops_the_dispatcher(
    suite: Suite, caplog: pytest.LogCaptureFixture
) -> None:
    settings = suite.app.state.settings.model_copy(
        update={"events_broker_url": f"nats://127.0.0.1:{free_port()}"}
    )
    source = event_source(settings, suite.app.state.sessionmaker)
    dispatcher = Dispatcher(sessionmaker=suite.app.state.sessionmaker, settings=settings)
    with caplog.at_level(logging.WARNING, logger="tdi.webhooks"):
        task = asyncio.create_task(run_until_cancelled(dispatcher, source))
        try:
            await until(lambda: "cannot read the events" in caplog.text, within=10)
            assert not task.done()
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def test_the_source_is_the_broker_when_one_is_set_else_the_feeds(suite: Suite) -> None:
    sessionmaker = suite.app.state.sessionmaker
    plain = suite.app.state.settings
    feeds = event_source(plain, sessionmaker)
    assert isinstance(feeds, FeedSource)
    for feed in feeds.feeds.values():
        await feed.aclose()
    nats_ = event_source(plain.model_copy(update={"events_broker_url": NATS_URL}), sessionmaker)
    assert isinstance(nats_, NatsSource) and nats_.durable == "tdi-webhooks"
    rabbit = event_source(
        plain.model_copy(
            update={"events_broker_url": RABBIT_URL, "webhook_broker_consumer": "hooks-eu"}
        ),
        sessionmaker,
    )
    assert isinstance(rabbit, RabbitSource) and rabbit.queue_name == "hooks-eu"
