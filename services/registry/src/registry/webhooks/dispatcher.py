"""The dispatcher: events in, one delivery per (subscription, event), signed attempts out.

Two loops. Intake reads the suite's events from an `EventSource` (the services' feeds, or a
broker) and writes a delivery for each enabled subscription whose types match and whose
organisation may see the event (its `audience`), then acks the batch: a batch given again
finds its deliveries made (unique per subscription and event). Work claims the deliveries that
fell due (leased, so that dispatchers scaled out share them and one that dies gives them back),
attempts each in a bounded pool of slots with a time limit (a slow or dead receiver holds one
slot for at most `WEBHOOK_TIMEOUT_SECONDS`, never the registry's requests), and records what
came of it: delivered; due again after the next step of the backoff; or given up, which after
`WEBHOOK_MAX_CONSECUTIVE_FAILURES` in a row disables the subscription and emits
`webhook.disabled`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from registry.models import WebhookDelivery, WebhookSubscription
from registry.settings import RegistrySettings
from registry.webhooks import queries
from registry.webhooks.events import webhook_disabled
from registry.webhooks.types import matches
from tdi_kit import clock
from tdi_kit.auth import mint_token
from tdi_kit.db import WRITE_OPTIONS
from tdi_kit.events import emit
from tdi_kit.events.brokers import source_for
from tdi_kit.events.schema import EventRead
from tdi_kit.events.source import EventSource, FeedSource
from tdi_kit.events.webhooks.backoff import next_delay
from tdi_kit.events.webhooks.sender import Attempt, send
from tdi_kit.events.webhooks.targets import Resolver, system_resolver

log = logging.getLogger("tdi.webhooks")


@dataclass(frozen=True)
class _Job:
    delivery_id: uuid.UUID
    event_id: str
    body: str
    url: str
    secret: str


def visible_to(event: EventRead, organisation: str) -> bool:
    """A subscription sees what its organisation may see in the feed (EVENTS.md).

    Fails closed: an event that came without its `audience` at all (a source that strips it)
    is nobody's but the admins', never everyone's."""
    if "audience" not in event.model_fields_set:
        return False
    return event.audience is None or organisation in event.audience


class Dispatcher:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: RegistrySettings,
        http: httpx.AsyncClient | None = None,
        resolver: Resolver = system_resolver,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.resolver = resolver
        self.draw = draw
        self.http = http or httpx.AsyncClient(
            follow_redirects=False,
            timeout=settings.webhook_timeout_seconds,
            limits=httpx.Limits(max_connections=settings.webhook_concurrency),
        )
        self._wake = asyncio.Event()

    async def aclose(self) -> None:
        await self.http.aclose()

    # -- intake ----------------------------------------------------------------------------

    async def take(self, events: list[EventRead]) -> int:
        """Deliveries for `events` (those already made are skipped); how many were written."""
        async with self.sessionmaker() as session, session.begin():
            await session.connection(execution_options=WRITE_OPTIONS)
            subscriptions = await queries.enabled_subscriptions(session)
            now = clock.now()
            rows = [
                {
                    "id": uuid.uuid4(),
                    "subscription_id": subscription.id,
                    "event_id": event.id,
                    "event_type": event.type,
                    "body": event.model_dump_json(),
                    "status": "pending",
                    "attempts": 0,
                    "round_start": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for event in events
                for subscription in subscriptions
                if matches(subscription.event_types, event.type)
                and visible_to(event, subscription.organisation_code)
            ]
            await queries.add_deliveries(session, rows)
        if rows:
            self._wake.set()
        return len(rows)

    async def _intake(self, source: EventSource) -> None:
        pause = 1.0
        while True:
            try:
                async with contextlib.aclosing(source.batches()) as batches:  # type: ignore[type-var]
                    async for events in batches:
                        await self._take_until_written(events)
                        await source.ack(events)
                        pause = 1.0
                return
            except Exception as exc:
                # A broker away or a connection lost: read again, on a new connection, after a
                # growing pause. What was taken but not acked comes again: `take` skips it.
                log.warning(
                    "webhooks: cannot read the events (%s); reading again in %.0f s", exc, pause
                )
                await _close(source)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 30.0)

    async def _take_until_written(self, events: list[EventRead]) -> None:
        pause = 1.0
        while True:
            try:
                await self.take(events)
                return
            except Exception as exc:
                # Not acked until written: the batch is retried, never skipped.
                log.warning("webhooks: cannot record deliveries (%s); retrying", exc)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 30.0)

    # -- attempts --------------------------------------------------------------------------

    async def _claim(self, limit: int) -> list[_Job]:
        now = clock.now()
        lease = now + dt.timedelta(seconds=2 * self.settings.webhook_timeout_seconds + 30)
        async with self.sessionmaker() as session, session.begin():
            await session.connection(execution_options=WRITE_OPTIONS)
            claimed = await queries.claim_due(session, now=now, lease_until=lease, limit=limit)
            if not claimed:
                return []
            ids = {d.subscription_id for d in claimed}
            subscriptions = {
                s.id: s
                for s in await session.scalars(
                    select(WebhookSubscription).where(WebhookSubscription.id.in_(ids))
                )
            }
            return [
                _Job(
                    d.id,
                    str(d.event_id),
                    d.body,
                    subscriptions[d.subscription_id].url,
                    subscriptions[d.subscription_id].secret,
                )
                for d in claimed
            ]

    async def _attempt(self, job: _Job) -> Attempt:
        attempt = await send(
            self.http,
            url=job.url,
            secret=job.secret,
            message_id=job.event_id,
            body=job.body,
            time_limit=self.settings.webhook_timeout_seconds,
            require_https=self.settings.webhook_require_https,
            allow_private=self.settings.webhook_allow_private_targets,
            resolver=self.resolver,
        )
        await self._record(job, attempt)
        return attempt

    async def _attempt_logged(self, job: _Job) -> Attempt | None:
        try:
            return await self._attempt(job)
        except Exception:
            # Its lease runs out and the delivery falls due again: at least once.
            log.warning("webhooks: attempt of delivery %s not recorded", job.delivery_id)
            return None

    async def _record(self, job: _Job, attempt: Attempt) -> None:
        async with self.sessionmaker() as session, session.begin():
            await session.connection(execution_options=WRITE_OPTIONS)
            delivery = await session.get(WebhookDelivery, job.delivery_id, with_for_update=True)
            if delivery is None:  # its subscription was deleted meanwhile
                return
            subscription = await session.get(
                WebhookSubscription, delivery.subscription_id, with_for_update=True
            )
            assert subscription is not None
            now = clock.now()
            delivery.attempts += 1
            delivery.last_attempt_at = now
            delivery.response_code = attempt.status_code
            delivery.latency_ms = attempt.latency_ms
            delivery.error = attempt.error
            if attempt.delivered:
                delivery.status, delivery.delivered_at, delivery.next_attempt_at = (
                    "delivered",
                    now,
                    None,
                )
                if subscription.consecutive_failures:
                    subscription.consecutive_failures = 0
                return
            delay = next_delay(
                delivery.attempts - delivery.round_start,
                schedule=self.settings.webhook_retry_schedule_seconds,
                draw=self.draw,
            )
            if delay is not None:
                delivery.next_attempt_at = now + dt.timedelta(seconds=delay)
                return
            delivery.status, delivery.next_attempt_at = "failed", None
            subscription.consecutive_failures += 1
            if (
                subscription.enabled
                and subscription.consecutive_failures
                >= self.settings.webhook_max_consecutive_failures
            ):
                await self._disable(session, subscription, now)

    async def _disable(
        self, session: AsyncSession, subscription: WebhookSubscription, now: dt.datetime
    ) -> None:
        subscription.enabled = False
        subscription.disabled_reason = (
            f"{subscription.consecutive_failures} deliveries in a row failed after every retry"
        )
        subscription.updated_at = now
        await session.flush()
        await emit(session, webhook_disabled(subscription))
        log.warning("webhooks: subscription %s disabled after failures", subscription.id)

    async def attempt_due(self) -> list[Attempt]:
        """Attempt every delivery due now (up to the concurrency), together; what came of each."""
        jobs = await self._claim(self.settings.webhook_concurrency)
        return list(await asyncio.gather(*(self._attempt(job) for job in jobs)))

    async def _work(self) -> None:
        in_flight: set[asyncio.Task[Attempt | None]] = set()
        pause = self.settings.webhook_poll_seconds
        try:
            while True:
                free = self.settings.webhook_concurrency - len(in_flight)
                if free > 0:
                    try:
                        jobs = await self._claim(free)
                        pause = self.settings.webhook_poll_seconds
                    except Exception as exc:
                        # The database is away: one warning a pause, the pause growing; the
                        # registry's requests say so to their callers, not this loop.
                        log.warning("webhooks: cannot claim due deliveries (%s)", exc)
                        jobs = []
                        pause = min(pause * 2, 30.0)
                    for job in jobs:
                        task = asyncio.create_task(self._attempt_logged(job))
                        in_flight.add(task)
                        task.add_done_callback(in_flight.discard)
                    if len(jobs) == free:
                        await asyncio.sleep(0)
                        continue
                self._wake.clear()
                woken = asyncio.ensure_future(self._wake.wait())
                await asyncio.wait(
                    {woken, *in_flight},
                    timeout=pause,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                woken.cancel()
        finally:
            for task in in_flight:
                task.cancel()

    async def run(self, source: EventSource) -> None:
        """Both loops, until cancelled."""
        await asyncio.gather(self._intake(source), self._work())


class DatabaseCursors:
    """The `FeedSource`'s cursors, in the registry's database (`webhook_feed_cursors`)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def load(self, source: str) -> str | None:
        async with self.sessionmaker() as session:
            return await queries.cursor(session, source)

    async def save(self, source: str, cursor: str) -> None:
        async with self.sessionmaker() as session, session.begin():
            await session.connection(execution_options=WRITE_OPTIONS)
            await queries.save_cursor(session, source, cursor, clock.now())


def feed_token(settings: RegistrySettings) -> Callable[[], str]:
    """How the dispatcher authenticates to the feeds: the configured token, or a short-lived
    admin one minted with the suite's secret."""
    if settings.webhook_feed_token is not None:
        token = settings.webhook_feed_token.get_secret_value()
        return lambda: token
    if settings.jwt_secret is None:
        raise RuntimeError("REGISTRY_WEBHOOK_FEED_TOKEN is needed without a JWT secret")
    secret = settings.jwt_secret.get_secret_value()
    return lambda: mint_token(
        secret=secret,
        sub="webhooks-dispatcher",
        scopes=["admin"],
        ttl_seconds=300,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )


def feed_source(
    settings: RegistrySettings,
    sessionmaker: async_sessionmaker[AsyncSession],
    transports: dict[str, httpx.AsyncBaseTransport] | None = None,
) -> FeedSource:
    feeds = {
        name: httpx.AsyncClient(base_url=url, transport=(transports or {}).get(name))
        for name, url in settings.webhook_feed_urls.items()
    }
    return FeedSource(
        feeds,
        cursors=DatabaseCursors(sessionmaker),
        token=feed_token(settings),
        wait=settings.webhook_feed_wait_seconds,
    )


def event_source(
    settings: RegistrySettings, sessionmaker: async_sessionmaker[AsyncSession]
) -> EventSource:
    """Where the dispatcher reads the events: the broker the services publish to when
    `EVENTS_BROKER_URL` is set (the durable consumer or queue `WEBHOOK_BROKER_CONSUMER`, shared
    by every dispatcher), the services' feeds otherwise."""
    if settings.events_broker_url:
        return source_for(settings.events_broker_url, name=settings.webhook_broker_consumer)
    return feed_source(settings, sessionmaker)


async def _close(source: EventSource) -> None:
    """Drop a broker consumer's connection (the next read makes a new one); a feed has none."""
    close = getattr(source, "close", None)
    if close is not None:
        with contextlib.suppress(Exception):
            await close()


async def run_until_cancelled(dispatcher: Dispatcher, source: EventSource) -> None:
    try:
        await dispatcher.run(source)
    finally:
        if isinstance(source, FeedSource):
            for client in source.feeds.values():
                await client.aclose()
        await _close(source)
        await dispatcher.aclose()
