"""A deadline on every request: the service gives up before its caller does.

The gateway gives a whole request `GATEWAY_BUDGET_SECONDS` (4 s) and tells the service what is
left of it in `X-Request-Budget-Ms` (whole milliseconds) on each call. The service runs the
request for at most that long, and never longer than its own `REQUEST_TIMEOUT_SECONDS` (3.5 s,
so below the gateway's budget even without the header; a caller cannot lengthen it). Past the
deadline the request is cancelled: its session rolls back, its connections (engine, reader,
idempotency key lock) go back to their pools, and the caller gets a 503 problem with
`Retry-After`, instead of the service holding a connection for an answer nobody waits for.

An answer whose head has already gone out cannot be turned into a problem: it is cut short
(the client sees the body end early) and the log says so.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tdi_kit.errors import ServiceUnavailable, problem_response

log = logging.getLogger("tdi.deadline")

BUDGET_HEADER = "X-Request-Budget-Ms"
_BUDGET_KEY = BUDGET_HEADER.lower().encode("latin-1")


class DeadlineExceeded(ServiceUnavailable):
    slug = "deadline"

    def __init__(self, seconds: float, **extra: Any) -> None:
        super().__init__(
            f"The request did not finish within its deadline ({seconds:g} s); retry shortly.",
            headers={"Retry-After": "1"},
            **extra,
        )


def budget_of(headers: list[tuple[bytes, bytes]]) -> float | None:
    """The seconds the caller has left (`X-Request-Budget-Ms`), or None when absent or invalid."""
    for name, value in headers:
        if name == _BUDGET_KEY:
            try:
                return int(value) / 1000
            except ValueError:
                return None
    return None


def budget_header(seconds: float) -> tuple[str, str]:
    """The header a caller sends with `seconds` left (rounded down, at least 1 ms)."""
    return BUDGET_HEADER, str(max(1, int(seconds * 1000)))


def _long_poll_seconds(scope: Scope) -> float | None:
    """What a long poll adds to its deadline (its `wait`, at most 30 s), or None for a stream
    (`Accept: text/event-stream`), which runs as long as its client stays."""
    for name, value in scope["headers"]:
        if name == b"accept" and b"text/event-stream" in value:
            return None
    for pair in scope.get("query_string", b"").decode("latin-1").split("&"):
        name, _, value = pair.partition("=")
        if name == "wait":
            try:
                return min(max(float(value), 0.0), 30.0)
            except ValueError:
                return 0.0  # the route refuses it
    return 0.0


class DeadlineMiddleware:
    """`long_polls`: paths (the events feed) whose deadline grows by the `wait` they ask for,
    and that have none when they stream."""

    def __init__(
        self, app: ASGIApp, *, max_seconds: float, long_polls: frozenset[str] = frozenset()
    ) -> None:
        self.app = app
        self.max_seconds = max_seconds
        self.long_polls = long_polls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        seconds = self.max_seconds
        if scope["path"] in self.long_polls:
            extra = _long_poll_seconds(scope)
            if extra is None:
                await self.app(scope, receive, send)
                return
            seconds += extra
        budget = budget_of(scope["headers"])
        if budget is not None:
            seconds = min(seconds, budget)
        if seconds <= 0:
            await problem_response(DeadlineExceeded(0), scope["path"])(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            async with asyncio.timeout(seconds) as deadline:
                await self.app(scope, receive, watched)
        except TimeoutError:
            if not deadline.expired():
                raise  # the app's own timeout, not the deadline: its handlers' business
            if started:
                log.warning("deadline of %g s passed after the answer started: cut short", seconds)
                return
            log.warning("deadline of %g s passed: answered 503", seconds)
            await problem_response(DeadlineExceeded(seconds), scope["path"])(scope, receive, send)
