"""`GET /api/v1/events`: the three feeds merged by when the changes were made, one cursor for
all three, the caller's token passed on, and no event lost when a service is down."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import orjson
import pytest
from events_testing import FEED, event, feed_app, feed_database, stream, write
from gateway_testing import running_gateway

from tdi_kit.testing import LiveServer, bearer

SOURCES = ("registry", "funding", "contracts")
T0 = dt.datetime(2026, 5, 1, 9, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
async def feeds() -> AsyncIterator[dict[str, str]]:
    """Each service's database (a feed of its own), by name."""
    async with AsyncExitStack() as stack:
        yield {name: await stack.enter_async_context(feed_database(name)) for name in SOURCES}


@pytest.fixture(scope="module")
def servers(feeds: dict[str, str]) -> Iterator[dict[str, str]]:
    """The three feeds served over HTTP: their URLs, as the gateway's settings name them."""
    apps = {name: feed_app(url, name, request_timeout_seconds=10.0) for name, url in feeds.items()}
    with (
        LiveServer(apps["registry"]) as r,
        LiveServer(apps["funding"]) as f,
        LiveServer(apps["contracts"]) as c,
    ):
        yield {"registry_url": r.url, "funding_url": f.url, "contracts_url": c.url}


@pytest.fixture
async def gateway(servers: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with running_gateway(**servers) as (_app, client):
        yield client


async def end_of(client: httpx.AsyncClient, headers: dict[str, str] | None = None) -> str:
    """The cursor past every event so far: each test reads only what it writes."""
    cursor = None
    while True:
        query = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(FEED, params=query, headers=headers)).json()
        cursor = page["next_cursor"]
        if not page["items"]:
            return str(cursor)


def served(page: dict[str, Any]) -> list[str]:
    return [f"{e['source']}:{e['subject']['id']}" for e in page["items"]]


async def test_pages_merge_the_services_by_time_and_the_cursor_keeps_what_was_cut(
    feeds, gateway
) -> None:
    start = await end_of(gateway)
    at = [T0 + dt.timedelta(minutes=m) for m in range(6)]
    await write(feeds["registry"], [event("territory.updated", "r1", occurred_at=at[0])])
    await write(feeds["registry"], [event("territory.updated", "r2", occurred_at=at[4])])
    await write(feeds["funding"], [event(subject_id="f1", occurred_at=at[1])])
    await write(feeds["funding"], [event(subject_id="f2", occurred_at=at[3])])
    await write(feeds["contracts"], [event("allocation.updated", "c1", occurred_at=at[2])])
    # The same instant in two services: by source.
    await write(feeds["contracts"], [event("allocation.updated", "c2", occurred_at=at[4])])

    first = (await gateway.get(FEED, params={"cursor": start, "limit": 4})).json()
    assert served(first) == ["registry:r1", "funding:f1", "contracts:c1", "funding:f2"]
    assert first["partial"] is False and first["problems"] == []
    assert first["total"] == 6
    rest = await gateway.get(FEED, params={"cursor": first["next_cursor"], "limit": 4})
    assert served(rest.json()) == ["contracts:c2", "registry:r2"]
    assert 'rel="next"' in rest.headers["link"]
    # From the end: nothing, and a cursor to continue from.
    end = (await gateway.get(FEED, params={"cursor": rest.json()["next_cursor"]})).json()
    assert end["items"] == [] and end["next_cursor"]
    bad = await gateway.get(FEED, params={"cursor": "nonsense"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "cursor"


async def test_filters_and_the_callers_token_reach_every_service(feeds, gateway) -> None:
    start = await end_of(gateway, bearer("admin"))
    await write(feeds["registry"], [event("territory.updated", "T1", occurred_at=T0)])
    await write(
        feeds["funding"],
        [
            event(subject_id="mine", audience=("OP1",), occurred_at=T0),
            event(subject_id="theirs", audience=("OP2",), occurred_at=T0),
            event("allocation.updated", "mine", audience=("OP1",), occurred_at=T0),
        ],
    )
    await write(feeds["contracts"], [event(subject_id="public", occurred_at=T0)])

    async def seen(headers: dict[str, str] | None = None, **params: Any) -> list[str]:
        answer = await gateway.get(FEED, params={"cursor": start, **params}, headers=headers)
        assert answer.status_code == 200, answer.text
        return served(answer.json())

    assert await seen() == ["contracts:public", "registry:T1"]
    assert await seen(bearer(org="OP1")) == [
        "contracts:public",
        "funding:mine",
        "funding:mine",
        "registry:T1",
    ]
    assert await seen(bearer(org="OP1"), type="allocation.committed") == [
        "contracts:public",
        "funding:mine",
    ]
    assert await seen(bearer("admin"), subject_kind="territory") == ["registry:T1"]
    assert await seen(bearer("admin"), type="allocation.*", subject_id="theirs") == [
        "funding:theirs"
    ]
    assert await seen(bearer("admin"), since=T0.isoformat(), until=T0.isoformat()) == []


async def test_a_service_down_marks_the_page_partial_and_loses_none_of_its_events(
    feeds, servers, closed_url
) -> None:
    async with running_gateway(**servers) as (_app, gateway):
        start = await end_of(gateway)
    await write(feeds["funding"], [event(subject_id="f-during", occurred_at=T0)])
    await write(feeds["contracts"], [event(subject_id="c-during", occurred_at=T0)])
    down = {**servers, "contracts_url": closed_url}
    async with running_gateway(**down) as (_app, gateway):
        answer = await gateway.get(FEED, params={"cursor": start})
        page = answer.json()
        assert answer.status_code == 200
        assert served(page) == ["funding:f-during"]
        assert page["partial"] is True
        assert [(p["service"], p["part"], p["status"]) for p in page["problems"]] == [
            ("contracts", "contracts", 503)
        ]
        assert answer.headers["x-partial"] == "contracts"
    async with running_gateway(**servers) as (_app, gateway):
        back = (await gateway.get(FEED, params={"cursor": page["next_cursor"]})).json()
        assert served(back) == ["contracts:c-during"] and back["partial"] is False
    every = dict.fromkeys(servers, closed_url)
    async with running_gateway(**every) as (_app, gateway):
        assert (await gateway.get(FEED)).status_code == 503


async def test_a_long_poll_answers_when_any_service_has_an_event(feeds, gateway) -> None:
    start = await end_of(gateway)

    async def later() -> None:
        await asyncio.sleep(0.5)
        await write(feeds["contracts"], [event(subject_id="late")])

    began = time.monotonic()
    writer = asyncio.create_task(later())
    answer = await gateway.get(FEED, params={"cursor": start, "wait": 20})
    await writer
    assert answer.status_code == 200, answer.text
    assert served(answer.json()) == ["contracts:late"]
    assert time.monotonic() - began < 10


async def test_the_merged_stream_yields_events_and_resumes_from_last_event_id(
    feeds, servers
) -> None:
    async with running_gateway(**servers) as (app, gateway):
        start = await end_of(gateway)
        await write(feeds["registry"], [event("territory.updated", "r", occurred_at=T0)])
        await write(
            feeds["funding"], [event(subject_id="f", occurred_at=T0 + dt.timedelta(seconds=1))]
        )
        frames = await stream(app, events=2, query="cursor=" + start)
        events = [f for f in frames if "id" in f]
        assert [orjson.loads(f["data"])["source"] for f in events] == ["registry", "funding"]
        assert events[0]["event"] == "territory.updated"
        await write(feeds["contracts"], [event(subject_id="c")])
        resumed = await stream(app, events=2, headers={"Last-Event-ID": events[0]["id"]})
        # After the registry's event: the funding one again, then the newer contracts one.
        assert [orjson.loads(f["data"])["subject"]["id"] for f in resumed if "id" in f] == [
            "f",
            "c",
        ]


async def test_a_long_poll_answers_at_once_when_the_gateway_is_told_to_stop(feeds, servers) -> None:
    """uvicorn told to stop (tdi_kit.draining sets the event): the merged long poll answers what
    it has, its cursor where it was, instead of holding the drain for its whole wait."""
    async with running_gateway(**servers) as (app, gateway):
        start = await end_of(gateway)
        draining = app.api.state.draining  # set by the lifespan

        async def stop_later() -> None:
            await asyncio.sleep(0.5)
            draining.set()

        began = time.monotonic()
        stopper = asyncio.create_task(stop_later())
        answer = await gateway.get(FEED, params={"cursor": start, "wait": 20})
        await stopper
        assert answer.status_code == 200, answer.text
        assert answer.json()["items"] == [] and answer.json()["next_cursor"] == start
        assert time.monotonic() - began < 5
