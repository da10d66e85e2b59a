"""`GET /events`: a service's feed from any cursor, filtered, long polled or streamed (SSE),
each caller seeing what the records would show them."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from events_testing import commit, event, feed_app, feed_database, stream

from tdi_kit.app import ServiceApp
from tdi_kit.events import emit, feed
from tdi_kit.events.reading import encode_cursor
from tdi_kit.testing import asgi_client, bearer, rolled_back

FEED = "/api/v1/events"


@pytest.fixture
async def app() -> AsyncIterator[ServiceApp]:
    async with feed_database("feed") as url:
        service = feed_app(url, "funding")
        yield service
        await service.state.engine.dispose()


@pytest.fixture
async def client(app: ServiceApp) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as c:
        yield c


def ids(page: dict[str, Any]) -> list[str]:
    return [e["subject"]["id"] for e in page["items"]]


async def test_feed_serves_events_in_order_from_any_cursor(app, client) -> None:
    await commit(app, [event(subject_id=f"a{i}") for i in range(5)])
    first = (await client.get(FEED, params={"limit": 2})).json()
    assert ids(first) == ["a0", "a1"]
    assert first["total"] == 5
    assert first["items"][0]["source"] == "funding"
    second = await client.get(FEED, params={"limit": 2, "cursor": first["next_cursor"]})
    assert ids(second.json()) == ["a2", "a3"]
    assert 'rel="next"' in second.headers["link"]
    # From the middle again: the same events, whatever was read before.
    again = (await client.get(FEED, params={"cursor": first["next_cursor"]})).json()
    assert ids(again) == ["a2", "a3", "a4"]
    # The end: no event, and still a cursor to continue from, which serves what comes next.
    end = (await client.get(FEED, params={"cursor": again["next_cursor"]})).json()
    assert end["items"] == [] and end["next_cursor"] == again["next_cursor"]
    await commit(app, [event(subject_id="a5")])
    assert ids((await client.get(FEED, params={"cursor": end["next_cursor"]})).json()) == ["a5"]


async def test_a_cursor_that_the_feed_did_not_give_is_a_400_naming_it(client) -> None:
    for bad in ("nonsense", encode_cursor(2**64), "cDE5YQ"):
        answer = await client.get(FEED, params={"cursor": bad})
        assert answer.status_code == 400, bad
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["errors"][0]["field"] == "cursor"
    answer = await client.get(FEED, headers={"Last-Event-ID": "nonsense"})
    assert answer.status_code == 400
    assert answer.json()["errors"][0] == {
        "location": "header",
        "field": "Last-Event-ID",
        "message": "not a cursor this feed gave out; start again without it",
        "type": "invalid",
    }


async def test_every_filter_narrows_the_feed_and_its_cursor_passes_what_it_left_out(
    app, client
) -> None:
    day = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    await commit(
        app,
        [
            event("allocation.committed", "a1", occurred_at=day),
            event("allocation.updated", "a1", occurred_at=day + dt.timedelta(days=1)),
            event("territory.updated", "T01", occurred_at=day + dt.timedelta(days=2)),
            event("allocation.committed", "a2", occurred_at=day + dt.timedelta(days=3)),
        ],
    )

    async def subjects(**params: Any) -> list[str]:
        answer = await client.get(FEED, params=params)
        assert answer.status_code == 200, answer.text
        return [f"{e['type']}:{e['subject']['id']}" for e in answer.json()["items"]]

    assert await subjects(type="allocation.committed") == [
        "allocation.committed:a1",
        "allocation.committed:a2",
    ]
    assert await subjects(type=["territory.updated", "allocation.updated"]) == [
        "allocation.updated:a1",
        "territory.updated:T01",
    ]
    assert len(await subjects(type="allocation.*")) == 3
    assert await subjects(subject_kind="territory") == ["territory.updated:T01"]
    assert await subjects(subject_id="a2") == ["allocation.committed:a2"]
    window = {
        "since": (day + dt.timedelta(days=1)).isoformat(),
        "until": (day + dt.timedelta(days=3)).isoformat(),
    }
    assert await subjects(**window) == ["allocation.updated:a1", "territory.updated:T01"]
    # Nothing matched: the cursor still moves past the events looked at.
    page = (await client.get(FEED, params={"subject_id": "nobody"})).json()
    assert page["items"] == [] and page["total"] == 0
    assert page["next_cursor"] == encode_cursor(4)
    assert (await client.get(FEED, params={"type": "allocation"})).status_code == 422
    # Nothing that the database would refuse with a 500 (PostgreSQL: NUL in text).
    assert (await client.get(FEED, params={"subject_id": "a\x00"})).status_code == 422
    assert (await client.get(FEED, params={"since": "2026-03-01T00:00:00"})).status_code == 422


async def test_each_caller_sees_public_events_and_those_of_its_organisation(app, client) -> None:
    await commit(
        app,
        [
            event(subject_id="public"),
            event(subject_id="op-only", audience=("OP1", "EXAM")),
            event(subject_id="other", audience=("OP2",)),
            event(subject_id="under_score", audience=("OP_1",)),
        ],
    )

    async def seen(headers: dict[str, str]) -> list[str]:
        return ids((await client.get(FEED, headers=headers)).json())

    assert await seen({}) == ["public"]
    assert await seen(bearer(org="OP1")) == ["public", "op-only"]
    assert await seen(bearer(org="EXAM")) == ["public", "op-only"]
    assert await seen(bearer(org="OP2")) == ["public", "other"]
    # A code is matched whole: `OP_1` is not a pattern that `OP1` (or `OPX1`) would match.
    assert await seen(bearer(org="OPX1")) == ["public"]
    assert await seen(bearer()) == ["public"]  # a token with no organisation
    assert await seen(bearer("admin")) == ["public", "op-only", "other", "under_score"]


async def test_a_long_poll_returns_as_soon_as_an_event_comes(app, client) -> None:
    end = (await client.get(FEED)).json()["next_cursor"]

    async def later() -> None:
        await asyncio.sleep(0.4)
        await commit(app, [event(subject_id="late")])

    started = time.monotonic()
    writer = asyncio.create_task(later())
    answer = await client.get(FEED, params={"cursor": end, "wait": 20})
    await writer
    assert ids(answer.json()) == ["late"]
    assert time.monotonic() - started < 5


async def test_a_long_poll_with_nothing_coming_answers_empty_after_its_wait(client) -> None:
    started = time.monotonic()
    answer = await client.get(FEED, params={"wait": 0.6})
    assert answer.status_code == 200 and answer.json()["items"] == []
    assert 0.55 <= time.monotonic() - started < 5
    assert (await client.get(FEED, params={"wait": 31})).status_code == 422


async def test_a_long_poll_outlives_the_request_deadline() -> None:
    async with feed_database("deadline") as url:
        app = feed_app(
            url, "registry", request_timeout_seconds=0.5, database_statement_timeout_seconds=0.5
        )
        async with asgi_client(app) as client:
            # Its deadline is its wait plus the usual one (else a 503 at 0.5 s).
            answer = await client.get(FEED, params={"wait": 1})
            assert answer.status_code == 200
        await app.state.engine.dispose()


async def test_a_stream_yields_events_and_resumes_from_last_event_id(app, monkeypatch) -> None:
    monkeypatch.setattr(feed, "HEARTBEAT_SECONDS", 0.3)
    await commit(app, [event(subject_id="a1"), event("allocation.updated", "a1")])

    async def later() -> None:
        # Past a heartbeat once the stream is open (on a loaded machine that takes a while).
        await asyncio.sleep(2.5)
        await commit(app, [event(subject_id="a2")])

    writer = asyncio.create_task(later())
    frames = await stream(app, events=3)
    await writer
    served = [f for f in frames if "id" in f]
    assert [f["event"] for f in served] == [
        "allocation.committed",
        "allocation.updated",
        "allocation.committed",
    ]
    assert [orjson.loads(f["data"])["subject"]["id"] for f in served] == ["a1", "a1", "a2"]
    assert served[0]["id"] == encode_cursor(1)
    assert {"comment": "heartbeat"} in frames
    # A reconnecting EventSource sends the last id it saw (and its first URL, cursor included).
    resumed = await stream(
        app, events=1, headers={"Last-Event-ID": served[1]["id"]}, query="cursor=" + served[0]["id"]
    )
    assert [orjson.loads(f["data"])["subject"]["id"] for f in resumed if "id" in f] == ["a2"]


async def test_the_feed_is_documented_with_its_event_types(client) -> None:
    document = (await client.get("/openapi.json")).json()
    operation = document["paths"][FEED]["get"]
    assert operation["operationId"] == "listEvents"
    assert "EventRead" in document["components"]["schemas"]
    kinds = next(p for p in operation["parameters"] if p["name"] == "type")
    assert "`allocation.committed`: An allocation was committed" in kinds["description"]
    assert set(operation["responses"]["200"]["content"]) == {
        "application/json",
        "text/event-stream",
    }


async def test_the_feed_reads_through_the_apps_sessions(app, client) -> None:
    # A service's tests run the app in a transaction rolled back at the end: its feed reads
    # the events the test wrote, and they are gone afterwards.
    async with rolled_back(app, app.state.engine):
        await commit(app, [event(subject_id="in-test")])
        assert ids((await client.get(FEED)).json()) == ["in-test"]
    assert (await client.get(FEED)).json()["items"] == []


async def test_an_event_committed_by_the_process_wakes_its_long_polls(
    app, client, monkeypatch
) -> None:
    # The table is read again only every 20 s: the answer comes from the wakeup.
    monkeypatch.setattr(feed, "POLL_SECONDS", 20.0)
    end = (await client.get(FEED)).json()["next_cursor"]

    async def later() -> None:
        await asyncio.sleep(0.3)
        await commit(app, [event(subject_id="woken")])

    started = time.monotonic()
    writer = asyncio.create_task(later())
    answer = await client.get(FEED, params={"cursor": end, "wait": 25})
    await writer
    assert ids(answer.json()) == ["woken"]
    assert time.monotonic() - started < 10


@pytest.mark.postgres_only
async def test_an_event_whose_transaction_commits_late_comes_after_the_cursor(app, client) -> None:
    sessions = app.state.sessionmaker
    async with sessions() as slow:
        await slow.begin()
        await emit(slow, event(subject_id="slow"))  # written first, committed last
        await commit(app, [event(subject_id="quick")])
        page = (await client.get(FEED)).json()
        assert ids(page) == ["quick"]
        await slow.commit()
    assert ids((await client.get(FEED, params={"cursor": page["next_cursor"]})).json()) == ["slow"]
