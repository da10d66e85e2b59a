"""What the gateway's tests share besides fixtures: the failing fake, budgets, a gateway to run,
and a clock the tests move by hand."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from gateway.main import GatewayApp, create_app
from gateway.settings import GatewaySettings
from tdi_kit.testing import asgi_client

API = "/api/v1"


class FakeService:
    """A service that answers as told: `mode` is ok, slow, error, garbage, stream, closed,
    huge-header (a header over the gateway's parser limits), hop (a `Connection` header naming
    another) or created (a 201 with a relative `Location`)."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.delay = 5.0
        self.calls = 0
        self.seen: list[dict[str, Any]] = []
        self.app = Starlette(routes=[Route("/{path:path}", self.answer, methods=_METHODS)])

    async def answer(self, request: Request) -> Response:
        self.calls += 1
        body = await request.body()
        seen = {
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "headers": dict(request.headers.items()),
            "body": body.decode(),
        }
        self.seen.append(seen)
        if self.mode == "slow":
            await asyncio.sleep(self.delay)
        if self.mode == "error":
            return Response(b'{"title":"boom"}', status_code=500, media_type="application/json")
        if self.mode == "garbage":
            return Response(b'{"items": [1, 2', media_type="application/json")
        if self.mode == "stream":
            return StreamingResponse(_chunks(), media_type="text/csv")
        if self.mode == "huge-header":
            return Response(b"{}", media_type="application/json", headers={"X-Big": "x" * 20_000})
        if self.mode == "hop":
            headers = {"Connection": "X-Hop-Note", "X-Hop-Note": "for the next hop only"}
            return Response(b"{}", media_type="application/json", headers=headers)
        if self.mode == "created":
            headers = {
                "Location": f"{request.url.path}/1",
                "Link": '</api/v1/x?page=2>; rel="next"',
            }
            return Response(b"{}", status_code=201, media_type="application/json", headers=headers)
        if request.url.path in ("/readyz", "/openapi.json"):
            return Response(b'{"status":"ok"}', media_type="application/json")
        return Response(
            orjson.dumps(seen),
            media_type="application/json",
            headers={"ETag": '"fake"', "Link": '<http://x/next>; rel="next"', "X-Custom": "1"},
        )

    def reset(self) -> None:
        self.mode = "ok"
        self.calls = 0
        self.seen.clear()


_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


async def _chunks() -> AsyncIterator[bytes]:
    for i in range(200):
        yield f"{i},{'x' * 2000}\n".encode()
        if i % 50 == 0:
            await asyncio.sleep(0)


# The services behind a gateway under test: their own request deadline above the gateway's
# generous budget, so that the gateway's X-Request-Budget-Ms decides (as in production, where
# the services' 3.5 s sits under the gateway's 4 s), not a busy test machine.
SERVICE_SETTINGS: dict[str, Any] = {
    "environment": "test",
    "log_json": False,
    "request_timeout_seconds": 10.0,
}

# Budgets of the failure tests: FAST where only fakes answer, TIGHT where real services must
# still answer in time beside the one that fails.
FAST: dict[str, Any] = {
    "budget_seconds": 1.0,
    "call_timeout_seconds": 0.6,
    "connect_timeout_seconds": 0.3,
}
TIGHT: dict[str, Any] = {
    "budget_seconds": 2.0,
    "call_timeout_seconds": 1.5,
    "connect_timeout_seconds": 0.5,
}


def gateway_settings(**overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "environment": "test",
        "log_json": False,
        "log_level": "WARNING",
        "rate_limit": "",
        # Generous by default, so that a whole answer is whole on a busy machine; the failure
        # tests pass FAST or TIGHT.
        "budget_seconds": 6.0,
        "call_timeout_seconds": 5.0,
        "connect_timeout_seconds": 1.0,
        "readiness_probe_seconds": 5.0,
        "breaker_failures": 3,
        "breaker_reset_seconds": 0.5,
    }
    values.update(overrides)
    return GatewaySettings(**values)


@asynccontextmanager
async def running_gateway(**overrides: Any) -> AsyncIterator[tuple[GatewayApp, httpx.AsyncClient]]:
    app = create_app(gateway_settings(**overrides))
    try:
        async with asgi_client(app) as client:  # type: ignore[arg-type]
            yield app, client
    finally:
        await app.services.close()


class Clock:
    """A clock that stands still until a test moves it: breakers and rate-limit windows read it
    instead of the real one, so that a test skips a wait instead of sleeping through it."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def set_clock(app: GatewayApp, clock: Clock) -> None:
    """Every breaker and the rate limiter of `app` read `clock` (before its first request)."""
    for client in app.services.by_name.values():
        client.breaker.clock = clock
    if app.limiter is not None:
        app.limiter.clock = clock
