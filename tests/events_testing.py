"""Feeds to test: a service app with its outbox and nothing else, on a database of its own.

The services add their `events` table in their own migrations; the feed's tests (kit, gateway,
CLI) need only the table, so each builds it from the kit's definition and serves it through
`create_service_app`, as a service does.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import MetaData, Table, insert

from tdi_kit.app import ServiceApp, create_service_app
from tdi_kit.db import create_engine
from tdi_kit.events import Event, emit, events_table
from tdi_kit.idempotency import idempotency_table
from tdi_kit.settings import ServiceSettings
from tdi_kit.testing import test_database

FEED = "/api/v1/events"
EVENT_TYPES = {
    "allocation.committed": "An allocation was committed on a tranche.",
    "allocation.updated": "An allocation's fields changed.",
    "territory.updated": "A territory's fields changed.",
}

metadata = MetaData()
events: Table = events_table(metadata)
idempotency: Table = idempotency_table(metadata)


def feed_app(url: str, source: str, **settings: Any) -> ServiceApp:
    """A service serving only its feed (its name is the events' `source`)."""
    values: dict[str, Any] = {
        "database_url": url,
        "service_name": source,
        "environment": "test",
        "log_json": False,
        **settings,
    }
    return create_service_app(
        settings=ServiceSettings(**values),
        title=source,
        description="A feed under test.",
        version="0",
        routers=[],
        migrations="",
        idempotency=idempotency,
        events=events,
        event_types=EVENT_TYPES,
    )


@asynccontextmanager
async def feed_database(name: str) -> AsyncIterator[str]:
    """A new database holding the outbox."""
    async with test_database(name) as url:
        engine = create_engine(url)
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        await engine.dispose()
        yield url


def event(
    type: str = "allocation.committed",
    subject_id: str = "a1",
    *,
    audience: tuple[str, ...] | None = None,
    occurred_at: dt.datetime | None = None,
    **payload: Any,
) -> Event:
    extra = {"occurred_at": occurred_at} if occurred_at else {}
    return Event(
        type=type,
        subject_kind=type.split(".")[0],
        subject_id=subject_id,
        payload={"record": {"id": subject_id, **payload}},
        audience=audience,
        **extra,
    )


async def commit(app: ServiceApp, emitted: Iterable[Event]) -> None:
    """Write events as a service does: in a session of the app, committed (which wakes the
    app's long polls)."""
    async with app.state.sessionmaker() as session, session.begin():
        await emit(session, list(emitted))


async def write(url: str, emitted: Iterable[Event]) -> None:
    """Write events to a feed's database from the test's own event loop (the app may be served
    from another thread's)."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(insert(events), [e.row() for e in emitted])
    finally:
        await engine.dispose()


async def stream(
    app: Any,
    *,
    events: int,
    path: str = FEED,
    headers: dict[str, str] | None = None,
    query: str = "",
) -> list[dict[str, str]]:
    """Read an SSE answer until `events` came (comments kept as `comment`), then leave."""
    body = b""
    left = asyncio.Event()
    sent = False
    frames: list[dict[str, str]] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await left.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal body
        if message["type"] == "http.response.start":
            assert message["status"] == 200
            found = dict(message["headers"])
            assert found[b"content-type"].startswith(b"text/event-stream")
            return
        body += message.get("body", b"")
        *complete, body = body.split(b"\n\n")
        for chunk in complete:
            fields: dict[str, str] = {}
            for line in chunk.decode().split("\n"):
                name, _, value = line.partition(": ")
                fields[name or "comment"] = value
            frames.append(fields)
        if sum("id" in f for f in frames) >= events:
            left.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [
            (b"host", b"testserver"),
            (b"accept", b"text/event-stream"),
            *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    # The app returns once the client left: the stream ends cleanly.
    await asyncio.wait_for(app(scope, receive, send), timeout=10)
    return frames
