"""A service that is down, slow or broken: problems naming it, in time, and a breaker."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from gateway_testing import API, FAST, Clock, FakeService, running_gateway, set_clock

from tdi_kit.testing import bearer

BUDGET = FAST["budget_seconds"]
MARGIN = 0.5


async def test_a_refused_connection_is_503_naming_the_service(closed_url: str) -> None:
    async with running_gateway(funding_url=closed_url, **FAST) as (_, client):
        started = time.monotonic()
        r = await client.get(f"{API}/envelopes")
        assert time.monotonic() - started < BUDGET
        assert r.status_code == 503
        assert r.headers["content-type"] == "application/problem+json"
        problem = r.json()
        assert problem["service"] == "funding"
        assert problem["type"] == "urn:tdi:problem:unavailable"
        assert problem["instance"] == f"{API}/envelopes"
        assert r.headers["retry-after"]


async def test_a_silent_service_is_504_within_the_budget(fake: FakeService, fake_url: str) -> None:
    fake.mode = "slow"
    async with running_gateway(contracts_url=fake_url, **FAST) as (_, client):
        started = time.monotonic()
        r = await client.get(f"{API}/contracts")
        elapsed = time.monotonic() - started
        assert r.status_code == 504
        assert r.json()["service"] == "contracts"
        assert BUDGET * 0.9 < elapsed < BUDGET + MARGIN


async def test_a_services_500_and_malformed_json_pass_through_as_they_are(
    fake: FakeService, fake_url: str
) -> None:
    async with running_gateway(registry_url=fake_url, **FAST) as (_, client):
        fake.mode = "error"
        r = await client.get(f"{API}/regions")
        assert (r.status_code, r.content) == (500, b'{"title":"boom"}')
        # The pass-through never parses bodies: a malformed one reaches the caller as it is.
        fake.mode = "garbage"
        r = await client.get(f"{API}/regions")
        assert (r.status_code, r.content) == (200, b'{"items": [1, 2')


async def test_the_breaker_opens_after_repeated_failures_then_tries_again(
    fake: FakeService, fake_url: str
) -> None:
    async with running_gateway(registry_url=fake_url, **FAST) as (app, client):
        set_clock(app, clock := Clock())
        fake.mode = "error"
        for _ in range(3):  # breaker_failures
            assert (await client.get(f"{API}/regions")).status_code == 500
        assert app.services.registry.breaker.state == "open"

        stopped = await client.get(f"{API}/regions")
        assert stopped.status_code == 503
        assert stopped.json()["service"] == "registry"
        assert "circuit breaker" in stopped.json()["detail"]
        assert int(stopped.headers["retry-after"]) >= 1
        assert fake.calls == 3  # the open breaker did not call it

        clock.advance(0.4)  # not yet breaker_reset_seconds (0.5)
        assert (await client.get(f"{API}/regions")).status_code == 503
        clock.advance(0.2)
        fake.mode = "ok"
        assert (await client.get(f"{API}/regions")).status_code == 200
        assert app.services.registry.breaker.state == "closed"
        assert fake.calls == 4


async def test_the_breaker_says_when_it_opens_and_closes_in_the_log_and_metrics(
    fake: FakeService, fake_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_gateway(registry_url=fake_url, **FAST) as (app, client):
        set_clock(app, clock := Clock())
        fake.mode = "error"
        logging.getLogger().addHandler(caplog.handler)  # the app replaced the root's handlers
        with caplog.at_level(logging.INFO, logger="tdi.gateway.clients"):
            for _ in range(4):  # three failures open it; the fourth is refused unsent
                await client.get(f"{API}/regions")
            metrics = (await client.get("/metrics")).text
            assert 'gateway_breaker_state{service="gateway",upstream="registry"} 2.0' in metrics
            for outcome, count in (("error", 3), ("breaker_open", 1)):
                series = f'outcome="{outcome}",service="gateway",upstream="registry"'
                assert f"gateway_upstream_requests_total{{{series}}} {count}.0" in metrics
            clock.advance(0.6)
            fake.mode = "ok"
            assert (await client.get(f"{API}/regions")).status_code == 200
        metrics = (await client.get("/metrics")).text
        assert 'gateway_breaker_state{service="gateway",upstream="registry"} 0.0' in metrics
        for state in ("open", "half-open", "closed"):
            series = f'service="gateway",state="{state}",upstream="registry"'
            assert f"gateway_breaker_transitions_total{{{series}}} 1.0" in metrics
    lines = [r for r in caplog.records if r.name == "tdi.gateway.clients"]
    assert [(r.levelname, r.breaker) for r in lines] == [  # type: ignore[attr-defined]
        ("WARNING", "open"),
        ("INFO", "half-open"),
        ("INFO", "closed"),
    ]
    assert "registry" in lines[0].getMessage()


async def test_a_failed_trial_opens_the_breaker_again(fake: FakeService, fake_url: str) -> None:
    async with running_gateway(registry_url=fake_url, **FAST) as (app, client):
        set_clock(app, clock := Clock())
        fake.mode = "error"
        for _ in range(3):
            await client.get(f"{API}/regions")
        clock.advance(0.6)
        assert (await client.get(f"{API}/regions")).status_code == 500  # the trial
        assert app.services.registry.breaker.state == "open"
        assert (await client.get(f"{API}/regions")).status_code == 503
        assert fake.calls == 4


@asynccontextmanager
async def dropping_first_connection() -> AsyncIterator[tuple[str, list[str]]]:
    """A server that closes its first connection unanswered, then answers every request."""
    connections: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append("dropped" if not connections else "served")
        if connections[-1] == "dropped":
            await reader.readuntil(b"\r\n\r\n")
            writer.close()
            return
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                if length:
                    await reader.readexactly(length)
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    b'content-length: 11\r\n\r\n{"ok":true}'
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", connections
    finally:
        server.close()


async def test_a_read_is_sent_again_once_when_its_connection_fails() -> None:
    async with (
        dropping_first_connection() as (url, connections),
        running_gateway(registry_url=url, **FAST) as (_, client),
    ):
        r = await client.get(f"{API}/regions")
        assert r.status_code == 200
        assert r.json() == {"ok": True}
        assert connections == ["dropped", "served"]


async def test_a_write_is_never_sent_twice() -> None:
    async with (
        dropping_first_connection() as (url, connections),
        running_gateway(registry_url=url, **FAST) as (_, client),
    ):
        r = await client.post(f"{API}/territories", json={}, headers=bearer("admin"))
        assert r.status_code == 503
        assert r.json()["service"] == "registry"
        assert connections == ["dropped"]


async def test_the_service_hears_what_is_left_of_the_budget(
    fake: FakeService, fake_url: str
) -> None:
    """`X-Request-Budget-Ms` on every call (tdi_kit.deadline): the service gives up when the
    gateway would, and a caller cannot hand it a budget of its own."""
    async with running_gateway(registry_url=fake_url, **FAST) as (_, client):
        r = await client.get(f"{API}/territories", headers={"X-Request-Budget-Ms": "600000"})
        assert r.status_code == 200
        (seen,) = fake.seen
        budget = int(seen["headers"]["x-request-budget-ms"])
        assert 0 < budget <= BUDGET * 1000
        fake.seen.clear()
        # An aggregate's call: its own timeout, cut short by what is left of the whole.
        await client.get("/readyz")
        await client.get(f"{API}/territories/ti-2708/dossier")
        calls = [s for s in fake.seen if s["path"].startswith(f"{API}/territories/")]
        assert calls, fake.seen
        for call in calls:
            assert (
                0
                < int(call["headers"]["x-request-budget-ms"])
                <= FAST["call_timeout_seconds"] * 1000
            )
