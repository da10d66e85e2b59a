"""The dispatcher: signed deliveries to a real receiver, retries on a clock the test moves,
one delivery per event however often it comes, visibility, auto-disabling, DNS rebinding, a
slow receiver beside a fast one, and the feeds read end to end."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import orjson
import pytest
from aiohttp import web
from sqlalchemy import MetaData, select
from standardwebhooks import Webhook
from webhooks_testing import (
    API,
    Receiver,
    Suite,
    client,
    event,
    org_token,
    receiver,
    subscribe,
    suite,
    webhook_suite,
)

from registry.models import WebhookDelivery, WebhookFeedCursor
from registry.webhooks.dispatcher import DatabaseCursors, Dispatcher
from tdi_kit import clock
from tdi_kit.events import events_table
from tdi_kit.events.schema import EventRead
from tdi_kit.events.source import FeedSource
from tdi_kit.testing import asgi_client

__all__ = ["client", "receiver", "suite", "webhook_suite"]  # fixtures

START = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
async def dispatcher(suite: Suite) -> AsyncIterator[Dispatcher]:
    # The longest wait of each step (full jitter drawn at its top): the test knows when it is due.
    found = Dispatcher(
        sessionmaker=suite.app.state.sessionmaker,
        settings=suite.app.state.settings,
        resolver=suite.names,
        draw=lambda: 1.0,
    )
    yield found
    await found.aclose()


async def deliveries(suite: Suite) -> list[WebhookDelivery]:
    async with suite.app.state.sessionmaker() as session:
        return list((await session.scalars(select(WebhookDelivery))).all())


async def test_a_receiver_failing_three_times_then_up_gets_the_event_validly_signed(
    client: httpx.AsyncClient, dispatcher: Dispatcher, receiver: Receiver, suite: Suite
) -> None:
    created = await subscribe(client, receiver.url, ["allocation.*"])
    receiver.plan = [500, 503, 404]
    sent = event()
    with clock.frozen(START) as advance:
        await dispatcher.take([sent])
        outcomes = [a.delivered for a in await dispatcher.attempt_due()]
        for step in (5, 300, 1800):
            advance(dt.timedelta(seconds=step - 1))
            assert await dispatcher.attempt_due() == []  # not due yet: nobody sleeps
            advance(dt.timedelta(seconds=1))
            outcomes += [a.delivered for a in await dispatcher.attempt_due()]
    assert outcomes == [False, False, False, True]
    assert len(receiver.received) == 4
    body, headers = receiver.received[-1]
    assert headers["webhook-id"] == str(sent.id)
    verified = Webhook(created["secret"]).verify(body, headers)
    assert EventRead.model_validate(verified) == sent
    [delivery] = await deliveries(suite)
    assert delivery.status == "delivered" and delivery.attempts == 4


async def test_the_old_secret_no_longer_verifies_after_rotation(
    client: httpx.AsyncClient, dispatcher: Dispatcher, receiver: Receiver
) -> None:
    created = await subscribe(client, receiver.url, ["allocation.*"])
    rotated = (
        await client.post(f"{API}/webhooks/{created['id']}/secret", headers=org_token())
    ).json()
    await dispatcher.take([event()])
    await dispatcher.attempt_due()
    body, headers = receiver.received[0]
    Webhook(rotated["secret"]).verify(body, headers)
    with pytest.raises(Exception, match="signature"):
        Webhook(created["secret"]).verify(body, headers)


async def test_an_event_given_again_makes_no_second_delivery(
    client: httpx.AsyncClient, dispatcher: Dispatcher, receiver: Receiver, suite: Suite
) -> None:
    await subscribe(client, receiver.url, ["allocation.committed"])
    sent = event()
    assert await dispatcher.take([sent]) == 1
    await dispatcher.attempt_due()
    await dispatcher.take([sent])  # replayed by the source (at least once)
    await dispatcher.attempt_due()
    assert len(await deliveries(suite)) == 1
    assert len(receiver.received) == 1


async def test_a_subscription_gets_the_types_it_chose_and_what_its_organisation_may_see(
    client: httpx.AsyncClient, dispatcher: Dispatcher, receiver: Receiver
) -> None:
    await subscribe(client, receiver.url, ["allocation.*"], org="bpifrance")
    public = event("allocation.committed")
    its_own = event("allocation.proposed", audience=["bpifrance", "region-27"])
    anothers = event("allocation.proposed", audience=["banque-des-territoires"])
    other_kind = event("territory.changed")
    await dispatcher.take([public, its_own, anothers, other_kind])
    await dispatcher.attempt_due()
    got = {orjson.loads(body)["id"] for body, _ in receiver.received}
    assert got == {str(public.id), str(its_own.id)}


async def test_an_event_that_came_without_its_audience_is_not_taken_for_a_public_one(
    client: httpx.AsyncClient, dispatcher: Dispatcher, receiver: Receiver
) -> None:
    await subscribe(client, receiver.url, ["allocation.*"])
    stripped = orjson.loads(event().model_dump_json())
    del stripped["audience"]
    assert await dispatcher.take([EventRead.model_validate(stripped)]) == 0


async def test_a_subscription_is_disabled_after_deliveries_fail_in_a_row_and_says_so(
    client: httpx.AsyncClient, dispatcher: Dispatcher, receiver: Receiver, suite: Suite
) -> None:
    created = await subscribe(client, receiver.url, ["allocation.*"])
    receiver.plan = [500] * 100
    with clock.frozen(START) as advance:
        await dispatcher.take([event(), event()])  # N = 2 (the tests' setting)
        for _ in range(4):  # every attempt of the schedule (5 s, 300 s, 1800 s)
            await dispatcher.attempt_due()
            advance(dt.timedelta(hours=1))
        await dispatcher.take([event()])
        assert await dispatcher.attempt_due() == []  # disabled: nothing more is attempted
    assert len(receiver.received) == 8
    r = await client.get(f"{API}/webhooks/{created['id']}", headers=org_token())
    assert r.json()["enabled"] is False and "in a row" in r.json()["disabled_reason"]
    async with suite.app.state.engine.connect() as connection:
        [row] = (await connection.execute(events_table(MetaData()).select())).all()
    assert row.type == "webhook.disabled" and row.subject_id == created["id"]
    assert orjson.loads(row.audience) == ["bpifrance"]

    # Enabled again by its owner, it starts afresh.
    receiver.plan = []
    r = await client.patch(
        f"{API}/webhooks/{created['id']}", json={"enabled": True}, headers=org_token()
    )
    assert r.json()["enabled"] is True and r.json()["disabled_reason"] is None
    await dispatcher.take([event()])
    assert [a.delivered for a in await dispatcher.attempt_due()] == [True]


async def test_a_name_rebound_to_loopback_after_creation_is_refused_at_delivery(
    suite: Suite, receiver: Receiver
) -> None:
    url = f"http://public.test:{receiver.port}/hooks"
    async with asgi_client(suite.strict) as strict:
        r = await strict.post(
            f"{API}/webhooks",
            json={"url": url, "event_types": ["allocation.*"]},
            headers=org_token(),
        )
    assert r.status_code == 201, r.text
    suite.names.table["public.test"] = ["127.0.0.1"]  # DNS rebinding
    strict = Dispatcher(
        sessionmaker=suite.strict.state.sessionmaker,
        settings=suite.strict.state.settings,
        resolver=suite.names,
    )
    try:
        await strict.take([event()])
        [attempt] = await strict.attempt_due()
    finally:
        await strict.aclose()
    assert not attempt.delivered and attempt.error is not None
    assert "target refused" in attempt.error and "127.0.0.1" in attempt.error
    assert receiver.received == []


async def test_a_slow_receiver_does_not_hold_a_fast_one(
    client: httpx.AsyncClient, suite: Suite, receiver: Receiver
) -> None:
    slow = Receiver(delay=5.0)
    app = web.Application()
    app.router.add_post("/hooks", slow.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    slow.port = runner.addresses[0][1]
    await subscribe(client, slow.url, ["allocation.*"])
    await subscribe(client, receiver.url, ["allocation.*"])
    settings = suite.app.state.settings.model_copy(update={"webhook_timeout_seconds": 0.5})
    dispatcher = Dispatcher(
        sessionmaker=suite.app.state.sessionmaker, settings=settings, resolver=suite.names
    )
    try:
        await dispatcher.take([event()])
        started = asyncio.get_running_loop().time()
        attempts = await dispatcher.attempt_due()
        took = asyncio.get_running_loop().time() - started
    finally:
        await dispatcher.aclose()
        await runner.cleanup()
    by_outcome = sorted(attempts, key=lambda a: a.delivered)
    assert [a.delivered for a in by_outcome] == [False, True]
    assert by_outcome[0].error == "no answer within 0.5 s"
    assert by_outcome[1].latency_ms < 500
    assert took < 2.0


async def test_the_dispatcher_reads_the_feeds_delivers_and_resumes_after_its_cursor(
    client: httpx.AsyncClient, suite: Suite, receiver: Receiver
) -> None:
    """The embedded loops end to end: a feed served over HTTP (the feed's contract: `items`,
    `next_cursor` always present, `cursor`, `wait`), read, delivered, and its cursor kept."""
    await subscribe(client, receiver.url, ["allocation.*"])
    published = [event(position=1), event(position=2)]
    asked: list[dict[str, str]] = []

    async def feed(request: web.Request) -> web.Response:
        asked.append(dict(request.query))
        after = int(request.query.get("cursor", "0"))
        items = [e for e in published if e.position > after]
        if not items:
            await asyncio.sleep(min(float(request.query.get("wait", "0")), 0.2))
        body = {
            "items": [orjson.loads(e.model_dump_json()) for e in items],
            "next_cursor": str(max([after, *(e.position for e in items)])),
        }
        return web.json_response(body)

    app = web.Application()
    app.router.add_get("/api/v1/events", feed)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    settings = suite.app.state.settings.model_copy(update={"webhook_poll_seconds": 0.05})

    async def run_until(done: Callable[[], Awaitable[bool]]) -> None:
        feeds = {"funding": httpx.AsyncClient(base_url=base)}
        source = FeedSource(
            feeds,
            cursors=DatabaseCursors(suite.app.state.sessionmaker),
            token=lambda: "t",
            wait=1.0,
        )
        dispatcher = Dispatcher(
            sessionmaker=suite.app.state.sessionmaker, settings=settings, resolver=suite.names
        )
        task = asyncio.create_task(dispatcher.run(source))
        try:
            for _ in range(100):
                if await done():
                    break
                await asyncio.sleep(0.05)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await feeds["funding"].aclose()
            await dispatcher.aclose()

    async def delivered_and_kept() -> bool:
        return len(receiver.received) >= 2 and await _cursor(suite) == "2"

    async def asked_again() -> bool:
        return len(asked) >= 2

    try:
        await run_until(delivered_and_kept)
        assert sorted(orjson.loads(b)["position"] for b, _ in receiver.received) == [1, 2]
        assert await _cursor(suite) == "2"
        asked.clear()
        await run_until(asked_again)  # a restart reads on from its cursor: nothing is sent twice
        assert asked and all(q.get("cursor") == "2" for q in asked)
        assert len(receiver.received) == 2
    finally:
        await runner.cleanup()


async def _cursor(suite: Suite) -> Any:
    async with suite.app.state.sessionmaker() as session:
        row = await session.get(WebhookFeedCursor, "funding")
        return None if row is None else row.cursor


async def test_the_embedded_dispatcher_runs_with_the_registry_and_stops_with_it(
    suite: Suite,
) -> None:
    from webhooks_testing import EVENT_TYPES, settings

    from registry.main import create_app

    app = create_app(
        settings(suite.url, webhooks_dispatcher="embedded", webhook_feed_urls={}),
        event_types=EVENT_TYPES,
    )
    async with app.router.lifespan_context(app):
        task = app.state.webhooks_dispatcher
        await asyncio.sleep(0.05)
        assert not task.done()
    assert task.cancelled()


async def test_dispatchers_scaled_out_never_attempt_the_same_delivery_twice(
    client: httpx.AsyncClient, suite: Suite, receiver: Receiver
) -> None:
    await subscribe(client, receiver.url, ["allocation.*"])
    receiver.delay = 0.05
    settings = suite.app.state.settings.model_copy(update={"webhook_concurrency": 4})
    replicas = [
        Dispatcher(
            sessionmaker=suite.app.state.sessionmaker, settings=settings, resolver=suite.names
        )
        for _ in range(3)
    ]
    sent = [event() for _ in range(12)]
    try:
        await replicas[0].take(sent)
        while True:
            rounds = await asyncio.gather(*(r.attempt_due() for r in replicas))
            if not any(rounds):
                break
    finally:
        for replica in replicas:
            await replica.aclose()
    ids = [orjson.loads(body)["id"] for body, _ in receiver.received]
    assert sorted(ids) == sorted(str(e.id) for e in sent)
