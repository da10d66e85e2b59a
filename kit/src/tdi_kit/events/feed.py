"""`GET /events`: a service's feed, as a page, a long poll or Server-Sent Events.

Each service serves its own outbox (`events_router`, included by `create_service_app` when the
service passes its `events` table); the gateway merges the three as `/api/v1/events`.

- A page: the suite's list envelope, whose `next_cursor` is always there: at the end of the
  feed it is where to continue from once more events come (the feed never ends).
- A long poll (`wait`): when nothing is after the cursor, the answer waits for the first event,
  up to `wait` seconds: the table is read again every `POLL_SECONDS`, or at once when this
  process commits (`Wakeup`: an event written here is served without the poll's delay).
- Server-Sent Events (`Accept: text/event-stream`): every event as it comes, its `id` the cursor
  after it, so that a reconnecting `EventSource` resumes where it was (`Last-Event-ID`); a
  comment every `heartbeat_seconds` keeps proxies from closing an idle stream. Starlette stops
  the stream when the client leaves.
"""

# No `from __future__ import annotations`: the route's parameters are built in the factory,
# from its arguments, which FastAPI could not resolve from annotations kept as strings.

import asyncio
import re
import time
from collections.abc import AsyncIterator, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import Table
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.responses import Response, StreamingResponse

from tdi_kit.auth import OPTIONAL_BEARER, CallerDep
from tdi_kit.errors import Unprocessable
from tdi_kit.events.outbox import TABLE
from tdi_kit.events.reading import (
    HEARTBEAT,
    FeedFilters,
    decode_cursor,
    encode_cursor,
    frame,
    read_page,
)
from tdi_kit.events.schema import EventRead
from tdi_kit.pagination import next_link

SSE_MEDIA_TYPE = "text/event-stream"
MAX_WAIT_SECONDS = 30.0
MAX_LIMIT = 500
TYPE_PATTERN = r"^[a-z][a-z0-9_]*\.(\*|[a-z][a-z0-9_]*)$"
KIND_PATTERN = r"^[a-z][a-z0-9_]*$"
# Ids and codes (UUIDs, `ti-2708`, SIRENs): nothing a database would refuse (NUL) as a 500.
SUBJECT_PATTERN = r"^[A-Za-z0-9._:-]+$"
# Events read at a time by a stream.
STREAM_BATCH = 100
# How often a waiting long poll or stream reads the table again when nothing wakes it.
POLL_SECONDS = 0.25
# A comment this often on an idle stream, so that proxies keep it open (tests shorten it).
HEARTBEAT_SECONDS = 15.0


class EventsPage(BaseModel):
    """A page of the feed. Continue from `next_cursor`, present even on the last page."""

    items: list[EventRead]
    next_cursor: str = Field(
        description=(
            "Pass as `cursor` for the events after this page; always present: at the end of the "
            "feed, it is where the next events will be."
        )
    )
    total: int = Field(
        description="How many events match between the cursor and the end of the feed."
    )


class Wakeup:
    """Wakes the long polls of this process when it commits (any commit: they read again).

    Closed when the server is told to stop (`tdi_kit.draining`): every wait returns at once, and
    long polls and streams answer what they have instead of holding the drain."""

    def __init__(self) -> None:
        self.waiting: set[asyncio.Future[None]] = set()
        self.closed = False

    def close(self) -> None:
        self.closed = True
        self.notify()

    def notify(self, *_: Any) -> None:
        for future in list(self.waiting):
            # Commits may happen on another thread's loop (a test's server): hand it over.
            future.get_loop().call_soon_threadsafe(_settle, future)

    async def wait(self, seconds: float) -> None:
        if self.closed:
            return
        future = asyncio.get_running_loop().create_future()
        self.waiting.add(future)
        try:
            await asyncio.wait_for(future, timeout=max(0.0, seconds))
        except TimeoutError:
            pass
        finally:
            self.waiting.discard(future)


def wake_on_events(engine: AsyncEngine, wakeup: Wakeup) -> None:
    """Wake `wakeup` when a transaction of `engine` that wrote events commits (only those: the
    feed's own reads commit too, and must not wake the feed)."""
    sync = engine.sync_engine

    def written(connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith(_EMITTED):
            connection.info[_WRITTEN] = True

    def committed(connection: Any) -> None:
        if connection.info.pop(_WRITTEN, False):
            wakeup.notify()

    def rolled_back(connection: Any) -> None:
        connection.info.pop(_WRITTEN, None)

    sqlalchemy_event.listen(sync, "after_cursor_execute", written)
    sqlalchemy_event.listen(sync, "commit", committed)
    sqlalchemy_event.listen(sync, "rollback", rolled_back)


_EMITTED = f"INSERT INTO {TABLE} "
_WRITTEN = "tdi_events_written"


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def type_description(event_types: Mapping[str, str]) -> str:
    lines = "\n".join(f"- `{name}`: {text}" for name, text in sorted(event_types.items()))
    return "Only events of these types (repeatable); `allocation.*` for every type of a kind." + (
        f" This service's types:\n\n{lines}" if lines else ""
    )


def checked_types(types: list[str] | None) -> tuple[str, ...]:
    for value in types or ():
        if not re.match(TYPE_PATTERN, value):
            raise Unprocessable.field("query", "type", f"{value!r} is not `kind.what` nor `kind.*`")
    return tuple(types or ())


def events_router(
    table: Table,
    *,
    source: str,
    event_types: Mapping[str, str],
    wakeup: Wakeup | None = None,
    poll_seconds: float | None = None,
    heartbeat_seconds: float | None = None,
) -> APIRouter:
    """The router of `GET /events` over `table` (the service's outbox), its events marked as
    coming from `source`; `event_types` (the service's `EVENT_TYPES`) documents `type`."""
    router = APIRouter(tags=["events"])
    wake = wakeup or Wakeup()

    @router.get(
        "/events",
        response_model=EventsPage,
        openapi_extra=OPTIONAL_BEARER,
        responses={
            200: {
                "content": {
                    SSE_MEDIA_TYPE: {
                        "schema": {"type": "string"},
                        "description": "With `Accept: text/event-stream`: `id` the cursor, "
                        "`event` the type, `data` the event's JSON.",
                    }
                }
            }
        },
    )
    async def list_events(
        request: Request,
        caller: CallerDep,
        cursor: Annotated[
            str | None,
            Query(max_length=64, description="`next_cursor` of a page, or an SSE event's `id`."),
        ] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Events per page.")] = 100,
        types: Annotated[
            list[str] | None, Query(alias="type", description=type_description(event_types))
        ] = None,
        subject_kind: Annotated[
            str | None,
            Query(
                max_length=32, pattern=KIND_PATTERN, description="Events of records of this kind."
            ),
        ] = None,
        subject_id: Annotated[
            str | None,
            Query(
                max_length=64,
                pattern=SUBJECT_PATTERN,
                description="Events of this record (id or code).",
            ),
        ] = None,
        since: Annotated[
            AwareDatetime | None, Query(description="Events that occurred at or after (RFC 3339).")
        ] = None,
        until: Annotated[
            AwareDatetime | None, Query(description="Events that occurred before (RFC 3339).")
        ] = None,
        wait: Annotated[
            float,
            Query(
                ge=0,
                le=MAX_WAIT_SECONDS,
                description="Seconds to wait for an event when none is after the cursor.",
            ),
        ] = 0,
        last_event_id: Annotated[
            str | None,
            Header(
                alias="Last-Event-ID",
                max_length=64,
                description="Resumes a stream (sent by a reconnecting `EventSource`).",
            ),
        ] = None,
    ) -> Response:
        """The service's events after a cursor, in the order they committed: a page, a long
        poll (`wait`) or a stream (`Accept: text/event-stream`). Visibility follows the records:
        public events to all, an organisation's to its token, every event to an admin."""
        filters = FeedFilters(checked_types(types), subject_kind, subject_id, since, until)
        if last_event_id:
            after = decode_cursor(last_event_id, field="Last-Event-ID", location="header")
        else:
            after = decode_cursor(cursor) if cursor else 0

        async def page(position: int, size: int) -> Any:
            return await read_page(
                request.app.state.sessionmaker,
                table,
                source=source,
                after=position,
                limit=size,
                filters=filters,
                caller=caller,
            )

        if SSE_MEDIA_TYPE in request.headers.get("accept", ""):
            return StreamingResponse(
                _stream(page, after, wake, poll_seconds, heartbeat_seconds),
                media_type=SSE_MEDIA_TYPE,
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        found = await page(after, limit)
        deadline = time.monotonic() + wait
        while not found.events and not wake.closed and (left := deadline - time.monotonic()) > 0:
            await wake.wait(min(POLL_SECONDS if poll_seconds is None else poll_seconds, left))
            found = await page(found.next_position, limit)
        next_cursor = encode_cursor(found.next_position)
        body = EventsPage(items=found.events, next_cursor=next_cursor, total=found.total)
        response = Response(body.model_dump_json(), media_type="application/json")
        next_link(request, response, next_cursor)
        response.headers["Cache-Control"] = "no-store"
        return response

    router.wakeup = wake  # type: ignore[attr-defined]
    return router


async def _stream(
    page: Any,
    after: int,
    wake: Wakeup,
    poll_seconds: float | None,
    heartbeat_seconds: float | None,
) -> AsyncIterator[bytes]:
    beat = HEARTBEAT_SECONDS if heartbeat_seconds is None else heartbeat_seconds
    poll = POLL_SECONDS if poll_seconds is None else poll_seconds
    quiet_since = time.monotonic()
    while True:
        found = await page(after, STREAM_BATCH)
        for event in found.events:
            yield frame(event, encode_cursor(event.position))
        after = found.next_position
        if found.events:
            quiet_since = time.monotonic()
            continue
        if wake.closed:
            return  # the server is stopping: the client resumes with Last-Event-ID elsewhere
        if time.monotonic() - quiet_since >= beat:
            yield HEARTBEAT
            quiet_since = time.monotonic()
        await wake.wait(poll)


__all__ = ["EventsPage", "Wakeup", "events_router"]
