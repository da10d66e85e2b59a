"""The brokers the relay publishes to, and their consumers (`EventSource`s) for the webhooks
dispatcher: NATS JetStream (`nats://`) and RabbitMQ (`amqp://`).

Every message is one `EventRead` as JSON, its id the event's id: NATS's `Nats-Msg-Id` header
(JetStream drops a second publication within the stream's duplicate window) and RabbitMQ's
`message_id`. Delivery is at least once all the same: consumers deduplicate by id.

- NATS: stream `TDI_EVENTS` on the subjects `tdi.events.<service>.<type>`, created by the first
  publisher (or consumer) that finds it missing; consumers are durable pull consumers.
- RabbitMQ: the durable topic exchange `tdi.events`, routing key `<service>.<type>`, persistent
  messages with publisher confirms. An exchange keeps nothing: a consumer's durable queue
  (declared and bound by `RabbitSource`) receives the events published after it first existed;
  what came before is in the feeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol

from tdi_kit.events.schema import EventRead

STREAM = "TDI_EVENTS"
SUBJECT_PREFIX = "tdi.events"
EXCHANGE = "tdi.events"
# JetStream's deduplication window: a relay that died after the broker took a batch but before
# it recorded so republishes it on restart, well within this.
DUPLICATE_WINDOW = dt.timedelta(hours=2)
CONNECT_TIMEOUT_SECONDS = 2.0
PUBLISH_TIMEOUT_SECONDS = 5.0


class Publisher(Protocol):
    """A broker the relay publishes to: `publish` returns once the broker has taken them all."""

    async def publish(self, events: Sequence[EventRead]) -> None: ...
    async def close(self) -> None: ...


def publisher_for(url: str) -> Publisher:
    """The publisher of a broker URL (`nats://...` or `amqp://...`)."""
    scheme = url.split("://", 1)[0].lower()
    if scheme in ("nats", "tls"):
        return NatsPublisher(url)
    if scheme in ("amqp", "amqps"):
        return RabbitPublisher(url)
    raise ValueError(f"unknown broker scheme {scheme!r} (expected nats:// or amqp://)")


def source_for(url: str, *, name: str, batch: int = 100) -> NatsSource | RabbitSource:
    """The consumer of a broker URL: a durable consumer (NATS) or queue (RabbitMQ) `name`."""
    scheme = url.split("://", 1)[0].lower()
    if scheme in ("nats", "tls"):
        return NatsSource(url, durable=name, batch=batch)
    if scheme in ("amqp", "amqps"):
        return RabbitSource(url, queue=name, batch=batch)
    raise ValueError(f"unknown broker scheme {scheme!r} (expected nats:// or amqp://)")


def subject(event: EventRead) -> str:
    return f"{SUBJECT_PREFIX}.{event.source}.{event.type}"


def routing_key(event: EventRead) -> str:
    return f"{event.source}.{event.type}"


def _body(event: EventRead) -> bytes:
    return event.model_dump_json().encode()


# NATS JetStream ---------------------------------------------------------------------------------


async def _nats(url: str) -> Any:
    import nats

    async def quiet(_error: Exception) -> None:
        pass  # the caller logs the failure once (the client would print each attempt)

    # No reconnection behind the caller's back: a broker away fails the call, and the relay's
    # (or the dispatcher's) own back-off decides when to try again. (With 0 attempts, the
    # client would retry the first connection forever.)
    async with asyncio.timeout(3 * CONNECT_TIMEOUT_SECONDS):
        return await nats.connect(
            url,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            allow_reconnect=False,
            max_reconnect_attempts=1,
            reconnect_time_wait=0.1,
            error_cb=quiet,
        )


async def _ensure_stream(js: Any) -> None:
    from nats.js.api import StreamConfig
    from nats.js.errors import NotFoundError

    try:
        await js.stream_info(STREAM)
    except NotFoundError:
        await js.add_stream(
            StreamConfig(
                name=STREAM,
                subjects=[f"{SUBJECT_PREFIX}.>"],
                duplicate_window=DUPLICATE_WINDOW.total_seconds(),
            )
        )


class NatsPublisher:
    def __init__(self, url: str) -> None:
        self.url = url
        self._nc: Any = None
        self._js: Any = None

    async def _connect(self) -> Any:
        if self._nc is None or self._nc.is_closed:
            self._nc = await _nats(self.url)
            self._js = self._nc.jetstream(timeout=PUBLISH_TIMEOUT_SECONDS)
            await _ensure_stream(self._js)
        return self._js

    async def publish(self, events: Sequence[EventRead]) -> None:
        js = await self._connect()
        # One at a time, each acknowledged: the stream keeps the feed's order.
        for event in events:
            await js.publish(
                subject(event),
                _body(event),
                headers={"Nats-Msg-Id": str(event.id)},
                timeout=PUBLISH_TIMEOUT_SECONDS,
            )

    async def close(self) -> None:
        nc, self._nc = self._nc, None
        if nc is not None and not nc.is_closed:
            with contextlib.suppress(Exception):
                await nc.close()


class _Acks:
    """A consumer's messages received and not yet acked, by event id: `ack` settles those of
    the events the dispatcher has written its deliveries for (NATS and RabbitMQ alike)."""

    _pending: dict[str, Any]

    async def ack(self, events: list[EventRead]) -> None:
        for event in events:
            message = self._pending.pop(str(event.id), None)
            if message is not None:
                await message.ack()


class NatsSource(_Acks):
    """The events of every service (or those of `subjects`) from JetStream, through the durable
    pull consumer `durable`: what is not acknowledged is delivered again (after `ack_wait`)."""

    def __init__(
        self,
        url: str,
        *,
        durable: str,
        batch: int = 100,
        wait_seconds: float = 5.0,
        subjects: str = f"{SUBJECT_PREFIX}.>",
    ) -> None:
        self.url, self.durable, self.batch, self.wait_seconds = url, durable, batch, wait_seconds
        self.subjects = subjects
        self._nc: Any = None
        self._js: Any = None
        self._sub: Any = None
        self._pending: dict[str, Any] = {}

    async def declare(self) -> None:
        """Connect and create the stream and the durable consumer if they are missing."""
        await self._subscription()

    async def _subscription(self) -> Any:
        if self._sub is None:
            self._nc = await _nats(self.url)
            self._js = self._nc.jetstream()
            await _ensure_stream(self._js)
            self._sub = await self._js.pull_subscribe(
                self.subjects, durable=self.durable, stream=STREAM
            )
        return self._sub

    async def delete(self) -> None:
        """Withdraw the durable consumer (a subscription that ends), then close."""
        if self._js is not None:
            with contextlib.suppress(Exception):
                await self._js.delete_consumer(STREAM, self.durable)
        await self.close()

    async def batches(self) -> AsyncIterator[list[EventRead]]:
        import nats.errors

        while True:
            sub = await self._subscription()
            try:
                messages = await sub.fetch(self.batch, timeout=self.wait_seconds)
            except nats.errors.TimeoutError:
                continue
            events = []
            for message in messages:
                event = EventRead.model_validate_json(message.data)
                self._pending[str(event.id)] = message
                events.append(event)
            if events:
                yield events

    async def close(self) -> None:
        # What was not acked is the broker's again (redelivered after `ack_wait`).
        self._pending = {}
        nc, self._nc, self._sub, self._js = self._nc, None, None, None
        if nc is not None:
            with contextlib.suppress(Exception):
                await nc.close()


# RabbitMQ ---------------------------------------------------------------------------------------


async def _exchange(channel: Any) -> Any:
    import aio_pika

    return await channel.declare_exchange(EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)


class RabbitPublisher:
    def __init__(self, url: str) -> None:
        self.url = url
        self._connection: Any = None
        self._exchange: Any = None

    async def _connect(self) -> Any:
        import aio_pika

        if self._connection is None or self._connection.is_closed:
            self._connection = await aio_pika.connect(self.url, timeout=CONNECT_TIMEOUT_SECONDS)
            channel = await self._connection.channel(publisher_confirms=True)
            self._exchange = await _exchange(channel)
        return self._exchange

    async def publish(self, events: Sequence[EventRead]) -> None:
        import aio_pika

        exchange = await self._connect()
        for event in events:
            # With publisher confirms, each publish returns once the broker has taken it.
            await exchange.publish(
                aio_pika.Message(
                    _body(event),
                    message_id=str(event.id),
                    type=event.type,
                    content_type="application/json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=routing_key(event),
                timeout=PUBLISH_TIMEOUT_SECONDS,
            )

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()


class RabbitSource(_Acks):
    """The events of every service from RabbitMQ, through the durable queue `queue` bound to the
    exchange for every routing key (or those of `bindings`): what is not acknowledged is
    delivered again when the consumer reconnects."""

    def __init__(
        self,
        url: str,
        *,
        queue: str,
        batch: int = 100,
        bindings: Sequence[str] = ("#",),
        linger_seconds: float = 0.05,
    ) -> None:
        self.url, self.queue_name, self.batch = url, queue, batch
        self.bindings, self.linger_seconds = tuple(bindings), linger_seconds
        self._connection: Any = None
        self._queue: Any = None
        self._inbox: asyncio.Queue[Any] = asyncio.Queue()
        self._pending: dict[str, Any] = {}

    async def declare(self) -> None:
        """Connect, declare the queue and its bindings, and start receiving."""
        import aio_pika

        if self._connection is not None:
            return
        self._connection = await aio_pika.connect(self.url, timeout=CONNECT_TIMEOUT_SECONDS)
        # A connection lost ends `batches` (with an error) rather than leaving it waiting for
        # messages that will never come; bound to this connection's inbox, so that closing it
        # on purpose after a new inbox is made tells nothing to the new one.
        inbox = self._inbox
        self._connection.close_callbacks.add(lambda *_: inbox.put_nowait(None))
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=self.batch)
        exchange = await _exchange(channel)
        queue = self._queue = await channel.declare_queue(self.queue_name, durable=True)
        for key in self.bindings:
            await queue.bind(exchange, routing_key=key)
        await queue.consume(self._inbox.put)

    async def delete(self) -> None:
        """Delete the durable queue (a subscription that ends), then close."""
        if self._queue is not None:
            with contextlib.suppress(Exception):
                await self._queue.delete(if_unused=False, if_empty=False)
        await self.close()

    async def batches(self) -> AsyncIterator[list[EventRead]]:
        await self.declare()
        while True:
            messages = [await self._inbox.get()]
            # A moment for the rest of a burst, so that a batch is more than one event.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.linger_seconds):
                    while len(messages) < self.batch and messages[-1] is not None:
                        messages.append(await self._inbox.get())
            if any(message is None for message in messages):
                raise ConnectionError("the connection to RabbitMQ was closed")
            events = []
            for message in messages:
                event = EventRead.model_validate_json(message.body)
                self._pending[str(event.id)] = message
                events.append(event)
            yield events

    async def close(self) -> None:
        # The messages received and not acked are the broker's again once the channel closes.
        self._inbox, self._pending = asyncio.Queue(), {}
        connection, self._connection, self._queue = self._connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()
