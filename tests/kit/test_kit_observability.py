"""The request context's last word on errors, and the JSON lines it logs."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from starlette.types import Receive, Scope, Send

from tdi_kit.metrics import Metrics
from tdi_kit.observability import JsonFormatter, RequestContextMiddleware
from tdi_kit.testing import asgi_client


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("probe"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _events(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


async def _crashes(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("boom")


async def _answers_500_then_raises(scope: Scope, receive: Receive, send: Send) -> None:
    # What Starlette's ServerErrorMiddleware does after its handler answered (and logged).
    await send({"type": "http.response.start", "status": 500, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})
    raise RuntimeError("already answered")


async def test_an_error_nothing_answered_is_one_logged_event_and_a_500_problem(
    lines: io.StringIO,
) -> None:
    app = RequestContextMiddleware(_crashes, Metrics("probe"))
    async with asgi_client(app) as client:  # type: ignore[arg-type]
        r = await client.get("/x", headers={"X-Request-ID": "req-1"})
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["request_id"] == "req-1" and "boom" not in r.text
    [error] = [e for e in _events(lines) if e["level"] == "error"]
    assert error["request_id"] == "req-1" and len(error["trace_id"]) == 32
    assert error["error"] == "RuntimeError"
    assert error["exception"].startswith("Traceback") and "boom" in error["exception"]


async def test_an_error_already_answered_is_not_logged_twice(lines: io.StringIO) -> None:
    app = RequestContextMiddleware(_answers_500_then_raises, Metrics("probe"))
    async with asgi_client(app) as client:  # type: ignore[arg-type]
        r = await client.get("/x")
    assert r.status_code == 500
    assert [e for e in _events(lines) if e["level"] == "error"] == []
    [access] = [e for e in _events(lines) if e["logger"] == "tdi.access"]
    assert access["status"] == 500 and access["route"] == "unmatched"
