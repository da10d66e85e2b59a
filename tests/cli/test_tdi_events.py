"""`tdi events tail`: the merged feed in a terminal, from the gateway, resumable by cursor."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import httpx
import orjson
import pytest
from events_testing import event, feed_app, feed_database, write

from gateway.main import create_app as create_gateway
from gateway.settings import GatewaySettings
from tdi_cli import events as cli_events
from tdi_cli.main import parser
from tdi_kit.testing import LiveServer

SOURCES = ("registry", "funding", "contracts")
T0 = dt.datetime(2026, 5, 1, 9, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
async def suite() -> AsyncIterator[tuple[dict[str, str], httpx.ASGITransport]]:
    """Three feeds over HTTP behind a gateway (reached in process): their databases, and the
    transport to the gateway."""
    async with AsyncExitStack() as stack:
        urls = {name: await stack.enter_async_context(feed_database(name)) for name in SOURCES}
        servers = {
            f"{name}_url": stack.enter_context(LiveServer(feed_app(url, name))).url
            for name, url in urls.items()
        }
        gateway = create_gateway(
            GatewaySettings(environment="test", log_json=False, rate_limit="", **servers)
        )
        yield urls, httpx.ASGITransport(app=gateway)  # type: ignore[arg-type]
        await gateway.services.close()


async def test_tail_prints_a_line_per_event_and_resumes_from_its_cursor(suite) -> None:
    urls, transport = suite
    await write(urls["funding"], [event(subject_id="a1", occurred_at=T0)])
    await write(
        urls["registry"],
        [event("territory.updated", "T01", occurred_at=T0 + dt.timedelta(minutes=1))],
    )
    await write(urls["contracts"], [event("allocation.updated", "a1")])
    out = io.StringIO()
    cursor = await cli_events.tail(
        "http://gateway", filters=[], count=2, out=out, transport=transport
    )
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("2026-05-01T09:00:00Z funding ")
    assert "allocation.committed" in lines[0] and "allocation/a1" in lines[0]
    assert "territory/T01" in lines[1]
    raw = io.StringIO()
    await cli_events.tail(
        "http://gateway", filters=[], cursor=cursor, raw=True, count=1, out=raw, transport=transport
    )
    served = orjson.loads(raw.getvalue())
    assert (served["source"], served["type"]) == ("contracts", "allocation.updated")


async def test_tail_passes_its_filters_on(suite) -> None:
    urls, transport = suite
    await write(urls["registry"], [event("territory.updated", "T99")])
    out = io.StringIO()
    await cli_events.tail(
        "http://gateway",
        filters=[("type", "territory.*"), ("subject_id", "T99")],
        count=1,
        out=out,
        transport=transport,
    )
    assert "territory/T99" in out.getvalue()


def test_the_command_line_takes_the_feeds_filters() -> None:
    args = parser().parse_args(
        ["events", "tail", "--type", "allocation.*", "--type", "contract.signed", "--json"]
    )
    assert args.func is cli_events.cmd_tail
    assert args.type == ["allocation.*", "contract.signed"] and args.json
