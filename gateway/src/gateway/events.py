"""`GET /api/v1/events`: the three services' feeds as one, by the time the changes were made.

The cursor is composite: each service's position, in one opaque token. A page asks each
service for `limit` events after its position (concurrently, the caller's token passed on:
each service shows what that caller may see), merges the three lists by `occurred_at` (ties:
source, then position) keeping each service's own order, and cuts at `limit`. The next cursor
moves each service only past what was served: what the cut left out comes on the next page.

A service that fails leaves the page whole but partial (the aggregates' rule, `aggregates`):
`"partial": true`, one problem per missing service in `problems`, `X-Partial` naming it, and its
position unchanged, so that none of its events is lost: they come once it is back. When every
service fails, the request fails with the first one's problem.

A long poll (`wait`) asks the services to wait too, and answers as soon as one of them has an
event; a stream (`Accept: text/event-stream`) is a long poll after another, each event sent
with the composite cursor after it as its `id`.
"""

# No `from __future__ import annotations`: FastAPI reads the route's parameters at import.

import asyncio
import base64
import binascii
import dataclasses
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Request
from pydantic import AwareDatetime, BaseModel, Field
from starlette.responses import Response, StreamingResponse

from gateway.aggregates import PARTIAL_HEADER, PartProblem, part_problem
from gateway.clients import ServiceClient, Services
from gateway.settings import GatewaySettings
from tdi_kit.errors import BadRequest, FieldError, Problem
from tdi_kit.events import feed as kit_feed
from tdi_kit.events.feed import (
    KIND_PATTERN,
    MAX_LIMIT,
    MAX_WAIT_SECONDS,
    SSE_MEDIA_TYPE,
    SUBJECT_PATTERN,
    checked_types,
)
from tdi_kit.events.reading import HEARTBEAT, FeedFilters, decode_cursor, encode_cursor, frame
from tdi_kit.events.schema import EventRead
from tdi_kit.pagination import next_link

router = APIRouter(tags=["events"])
SOURCES = ("registry", "funding", "contracts")
FEED_PATH = "/api/v1/events"
STREAM_BATCH = 100
# A stream whose every service fails waits this long before asking again.
RETRY_SECONDS = 1.0

Positions = dict[str, int]


def encode_positions(positions: Positions) -> str:
    raw = orjson.dumps({name: positions.get(name, 0) for name in SOURCES})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_positions(cursor: str, *, field: str = "cursor", location: str = "query") -> Positions:
    try:
        document = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(document, dict) or set(document) - set(SOURCES):
            raise ValueError(cursor)
        positions = {name: document.get(name, 0) for name in SOURCES}
        if not all(type(p) is int and 0 <= p < 2**63 for p in positions.values()):
            raise ValueError(cursor)
        return positions
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        message = "not a cursor this feed gave out; start again without it"
        raise BadRequest(
            f"{field}: {message}.",
            errors=[FieldError(location=location, field=field, message=message)],
        ) from None


class MergedPage(BaseModel):
    """A page of the merged feed; continue from `next_cursor`, always present."""

    items: list[EventRead]
    next_cursor: str = Field(description="Pass as `cursor` for what follows; always present.")
    total: int = Field(description="How many events match after the cursor, every service's.")
    partial: bool = Field(description="True when a service did not answer; see `problems`.")
    problems: list[PartProblem] = Field(
        description="One per service that did not answer: its events come once it is back."
    )


@dataclasses.dataclass
class ServicePage:
    events: list[EventRead]
    next_position: int
    total: int


@dataclasses.dataclass
class Merged:
    """Events in the merged order, each with the composite cursor after it."""

    served: list[tuple[EventRead, str]]
    positions: Positions
    total: int
    problems: list[dict[str, Any]]


class Feeds:
    """One caller's reads of the three feeds."""

    def __init__(self, request: Request, filters: FeedFilters) -> None:
        self.services: Services = request.app.state.services
        self.settings: GatewaySettings = request.app.state.settings
        self.instance = request.url.path
        self.filters = filters
        # Set when uvicorn is told to stop (tdi_kit.draining): long polls answer what they have.
        self.draining: asyncio.Event = (
            getattr(request.app.state, "draining", None) or asyncio.Event()
        )
        authorization = request.headers.get("authorization")
        self.headers = {"Authorization": authorization} if authorization else {}

    async def one(self, name: str, position: int, limit: int, wait: float) -> ServicePage:
        client: ServiceClient = self.services[name]
        params = [("cursor", encode_cursor(position)), ("limit", str(limit))]
        params += self.filters.query()
        if wait > 0:
            params.append(("wait", f"{wait:g}"))
        timeout = self.settings.call_timeout_seconds + wait
        answer = await client.get_json(
            FEED_PATH,
            deadline=time.monotonic() + self.settings.budget_seconds + wait,
            params=params,
            headers=self.headers,
            call_timeout=timeout,
        )
        body = answer.body
        try:
            events = [EventRead.model_validate(item) for item in body["items"]]
            next_position = decode_cursor(body["next_cursor"])
            return ServicePage(events, next_position, int(body["total"]))
        except (KeyError, TypeError, ValueError, Problem):
            raise client.bad_answer(f"answered {FEED_PATH} with no feed page") from None

    async def page(self, positions: Positions, limit: int, wait: float) -> Merged:
        """A merged page; with `wait`, the first service to have an event answers it."""
        results = await self._ask(positions, limit, 0.0)
        if wait > 0 and not any(isinstance(r, ServicePage) and r.events for r in results.values()):
            results = await self._ask(positions, limit, wait, first=True)
        return self._merge(positions, limit, results)

    async def _ask(
        self, positions: Positions, limit: int, wait: float, *, first: bool = False
    ) -> dict[str, ServicePage | Problem]:
        tasks: dict[asyncio.Future[Any], str] = {
            asyncio.create_task(self.one(name, positions[name], limit, wait)): name
            for name in SOURCES
        }
        results: dict[str, ServicePage | Problem] = {}
        pending = set(tasks)
        # A long poll also ends when the gateway is told to stop (what came so far is answered).
        drained: asyncio.Future[Any] = asyncio.ensure_future(self.draining.wait())
        watched = {drained} if first else set()
        try:
            while pending and not (first and drained.done()):
                done, _ = await asyncio.wait(pending | watched, return_when=asyncio.FIRST_COMPLETED)
                for task in done - watched:
                    pending.discard(task)
                    error = task.exception()
                    if error is not None and not isinstance(error, Problem):
                        raise error
                    results[tasks[task]] = error if isinstance(error, Problem) else task.result()
                if first and any(isinstance(r, ServicePage) and r.events for r in results.values()):
                    break
        finally:
            drained.cancel()
            # A long poll cut short: its service's position stays where it was.
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        return results

    def _merge(
        self, positions: Positions, limit: int, results: dict[str, ServicePage | Problem]
    ) -> Merged:
        problems = [
            part_problem(name, result, self.instance)
            for name, result in results.items()
            if isinstance(result, Problem)
        ]
        if len(problems) == len(SOURCES):
            first = results[SOURCES[0]]
            assert isinstance(first, Problem)
            raise first
        pages = {n: r for n, r in results.items() if isinstance(r, ServicePage)}
        taken = dict.fromkeys(pages, 0)
        moving = dict(positions)
        served: list[tuple[EventRead, str]] = []
        while len(served) < limit:
            heads = [
                (pages[n].events[taken[n]], n) for n in pages if taken[n] < len(pages[n].events)
            ]
            if not heads:
                break
            event, name = min(heads, key=lambda h: (h[0].occurred_at, h[1], h[0].position))
            taken[name] += 1
            moving[name] = event.position
            served.append((event, encode_positions(moving)))
        for name, found in pages.items():
            # Every event it sent was served: it may move past what its filters left out.
            if taken[name] == len(found.events):
                moving[name] = max(moving[name], found.next_position)
        total = sum(found.total for found in pages.values())
        return Merged(served, moving, total, problems)


@router.get(
    "/events",
    response_model=MergedPage,
    responses={
        200: {"content": {SSE_MEDIA_TYPE: {"schema": {"type": "string"}}}},
        503: {"description": "Every service failed."},
    },
)
async def list_events(
    request: Request,
    cursor: Annotated[
        str | None,
        Query(max_length=512, description="`next_cursor` of a page, or an SSE event's `id`."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Events per page.")] = 100,
    types: Annotated[
        list[str] | None,
        Query(
            alias="type",
            description="Only these types (repeatable); `allocation.*` for a kind's. The types "
            "are listed in each service's `type` parameter and in the `event_types` vocabulary.",
        ),
    ] = None,
    subject_kind: Annotated[str | None, Query(max_length=32, pattern=KIND_PATTERN)] = None,
    subject_id: Annotated[str | None, Query(max_length=64, pattern=SUBJECT_PATTERN)] = None,
    since: Annotated[AwareDatetime | None, Query(description="At or after (RFC 3339).")] = None,
    until: Annotated[AwareDatetime | None, Query(description="Before (RFC 3339).")] = None,
    wait: Annotated[
        float,
        Query(ge=0, le=MAX_WAIT_SECONDS, description="Seconds to wait when nothing is new."),
    ] = 0,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=512)] = None,
) -> Response:
    """Every service's events, merged by when they happened: a page, a long poll (`wait`) or a
    stream (`Accept: text/event-stream`). A service that fails marks the page partial; its
    events are not lost (the cursor keeps its place)."""
    filters = FeedFilters(checked_types(types), subject_kind, subject_id, since, until)
    if last_event_id:
        positions = decode_positions(last_event_id, field="Last-Event-ID", location="header")
    elif cursor:
        positions = decode_positions(cursor)
    else:
        positions = dict.fromkeys(SOURCES, 0)
    feeds = Feeds(request, filters)
    if SSE_MEDIA_TYPE in request.headers.get("accept", ""):
        return StreamingResponse(
            _stream(feeds, positions),
            media_type=SSE_MEDIA_TYPE,
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    merged = await feeds.page(positions, limit, wait)
    next_cursor = encode_positions(merged.positions)
    body = {
        "items": [orjson.loads(event.model_dump_json()) for event, _ in merged.served],
        "next_cursor": next_cursor,
        "total": merged.total,
        "partial": bool(merged.problems),
        "problems": merged.problems,
    }
    headers = {"Cache-Control": "no-store", "Vary": "Authorization"}
    if merged.problems:
        headers[PARTIAL_HEADER] = ", ".join(p["part"] for p in merged.problems)
    response = Response(orjson.dumps(body), media_type="application/json", headers=headers)
    next_link(request, response, next_cursor)
    return response


async def _stream(feeds: Feeds, positions: Positions) -> AsyncIterator[bytes]:
    quiet_since = time.monotonic()
    while True:
        beat = kit_feed.HEARTBEAT_SECONDS
        try:
            merged = await feeds.page(positions, STREAM_BATCH, max(0.1, beat / 2))
        except Problem as failed:  # every service failed: say so, and ask again shortly
            yield b"event: problem\ndata: %s\n\n" % orjson.dumps(failed.body(feeds.instance))
            await asyncio.sleep(RETRY_SECONDS)
            continue
        for event, cursor in merged.served:
            yield frame(event, cursor)
        positions = merged.positions
        for part in merged.problems:
            yield b"event: problem\ndata: %s\n\n" % orjson.dumps(part)
        if merged.served:
            quiet_since = time.monotonic()
            continue
        if feeds.draining.is_set():
            return  # the gateway is stopping: the client resumes with Last-Event-ID elsewhere
        if time.monotonic() - quiet_since >= beat:
            yield HEARTBEAT
            quiet_since = time.monotonic()
        if merged.problems:
            await asyncio.sleep(RETRY_SECONDS)
