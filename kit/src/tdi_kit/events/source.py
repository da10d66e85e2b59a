"""Where a consumer of the suite's events reads them from: an `EventSource`.

Two kinds: the services' feeds over HTTP (`FeedSource`, the default: nothing to run besides the
services) and a broker's queue (`tdi_kit.events.brokers`, when one is configured). Either way
the consumer reads batches, processes them, then acks them: an event acked is never given again,
an event not acked (the consumer died) is given again. At least once: deduplicate by id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Protocol

import httpx

from tdi_kit.events.schema import EventRead

log = logging.getLogger("tdi.events.source")


class EventSource(Protocol):
    # `def`, not `async def`: an async generator (`async def ... yield`) is a plain function
    # returning an async iterator; `async def` here would type it as a coroutine returning one.
    def batches(self) -> AsyncIterator[list[EventRead]]: ...  # waits for new events
    async def ack(self, events: list[EventRead]) -> None: ...  # processed: never again


class CursorStore(Protocol):
    """Where a `FeedSource` keeps how far it has read each service's feed (its own database)."""

    async def load(self, source: str) -> str | None: ...
    async def save(self, source: str, cursor: str) -> None: ...


class FeedSource:
    """The services' `GET /api/v1/events` feeds, long-polled, one reader per service.

    Each service's reader asks for the page after its cursor (waiting up to `wait` seconds when
    there is none), hands the page over, and asks for the next one only once the page is acked,
    whose cursor it then stores: a consumer that dies before its ack reads the page again. A
    service that does not answer is retried with a growing pause; the others go on.
    """

    def __init__(
        self,
        feeds: Mapping[str, httpx.AsyncClient],
        *,
        cursors: CursorStore,
        token: Callable[[], str],
        wait: float = 25.0,
        limit: int = 200,
        pause_max: float = 30.0,
    ) -> None:
        self.feeds = dict(feeds)
        self.cursors = cursors
        self.token = token
        self.wait = wait
        self.limit = limit
        self.pause_max = pause_max
        self._pages: asyncio.Queue[tuple[str, list[EventRead], str]] = asyncio.Queue()
        self._acked: dict[str, asyncio.Event] = {name: asyncio.Event() for name in self.feeds}
        self._pending: dict[str, str] = {}

    async def batches(self) -> AsyncIterator[list[EventRead]]:
        readers = [asyncio.create_task(self._read(name)) for name in self.feeds]
        try:
            while True:
                name, events, cursor = await self._pages.get()
                self._pending[name] = cursor
                yield events
        finally:
            for reader in readers:
                reader.cancel()
            for reader in readers:
                with contextlib.suppress(asyncio.CancelledError):
                    await reader

    async def ack(self, events: list[EventRead]) -> None:
        for name in {event.source for event in events}:
            cursor = self._pending.get(name)
            if cursor is not None:
                # Forgotten only once stored: an ack that failed can be made again.
                await self.cursors.save(name, cursor)
                del self._pending[name]
                self._acked[name].set()

    async def page(self, name: str, cursor: str | None) -> tuple[list[EventRead], str]:
        """One page of service `name`'s feed after `cursor`, and the cursor after it."""
        params: dict[str, str | int | float] = {"limit": self.limit, "wait": self.wait}
        if cursor:
            params["cursor"] = cursor
        response = await self.feeds[name].get(
            "/api/v1/events",
            params=params,
            headers={"Authorization": f"Bearer {self.token()}"},
            timeout=self.wait + 10,
        )
        response.raise_for_status()
        body = response.json()
        events = [EventRead.model_validate(item) for item in body["items"]]
        return events, body["next_cursor"] or cursor or ""

    async def _read(self, name: str) -> None:
        pause = 1.0
        while True:
            try:
                cursor = await self.cursors.load(name)
                break
            except Exception as exc:  # the consumer's own database is away: wait for it
                log.warning("events: cannot load the cursor of %s (%s)", name, exc)
                await asyncio.sleep(pause)
                pause = min(pause * 2, self.pause_max)
        pause = 1.0
        while True:
            try:
                events, after = await self.page(name, cursor)
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                log.warning(
                    "events feed of %s unavailable (%s): retrying in %.0f s", name, exc, pause
                )
                await asyncio.sleep(pause)
                pause = min(pause * 2, self.pause_max)
                continue
            pause = 1.0
            if not events:
                cursor = after or cursor
                continue
            self._acked[name].clear()
            await self._pages.put((name, events, after))
            await self._acked[name].wait()
            cursor = after
