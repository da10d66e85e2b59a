"""What the webhook tests share: a registry of their own, a real HTTP receiver, event makers.

The webhook tests write from several sessions at once (the dispatcher's attempts), so they run
on a registry database of their own, emptied of subscriptions and deliveries after each test,
rather than inside one rolled-back transaction.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiohttp import web
from sqlalchemy import MetaData, delete

from registry.main import MIGRATIONS, create_app
from registry.models import (
    Organisation,
    WebhookDelivery,
    WebhookFeedCursor,
    WebhookSubscription,
)
from registry.settings import RegistrySettings
from tdi_kit import migrations
from tdi_kit.app import ServiceApp
from tdi_kit.db import create_sessionmaker
from tdi_kit.events import events_table
from tdi_kit.events.schema import EventRead, EventSubject
from tdi_kit.testing import asgi_client, bearer, test_database

API = "/api/v1"
EVENT_TYPES = {
    "allocation.proposed": "An allocation was proposed.",
    "allocation.committed": "An allocation was committed.",
    "territory.changed": "A territory changed.",
    "webhook.disabled": "A webhook subscription was disabled.",
}
ORGANISATIONS = ("bpifrance", "banque-des-territoires")


class Names:
    """A resolver the tests set: what each name resolves to (DNS rebinding included)."""

    def __init__(self) -> None:
        self.table: dict[str, list[str]] = {
            "hooks.test": ["127.0.0.1"],
            "loopback.test": ["127.0.0.1"],
            "public.test": ["93.184.215.14"],
        }

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        if host not in self.table:
            raise OSError(f"unknown host {host}")
        return self.table[host]


@dataclass
class Suite:
    url: str
    app: ServiceApp  # private targets allowed: the receiver is on 127.0.0.1
    strict: ServiceApp  # private targets refused, as in production
    names: Names


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 answering each POST with the next planned status."""

    plan: list[int] = field(default_factory=list)
    delay: float = 0.0
    received: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    port: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.received.append((body, dict(request.headers)))
        if self.delay:
            await asyncio.sleep(self.delay)
        status = self.plan.pop(0) if self.plan else 204
        return web.Response(status=status, text="" if status < 300 else "receiver says no")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"


def settings(url: str, **overrides: Any) -> RegistrySettings:
    values: dict[str, Any] = {
        "database_url": url,
        "environment": "test",
        "log_json": False,
        "webhooks_dispatcher": "external",
        "webhook_allow_private_targets": True,
        "webhook_timeout_seconds": 2.0,
        "webhook_retry_schedule_seconds": [5, 300, 1800],
        "webhook_max_consecutive_failures": 2,
    }
    return RegistrySettings(**{**values, **overrides})


@pytest.fixture(scope="session")
async def webhook_suite() -> AsyncIterator[Suite]:
    async with test_database("registry_webhooks") as url:
        await migrations.migrate_and_seed(url, MIGRATIONS)
        names = Names()
        app = create_app(settings(url), event_types=EVENT_TYPES, webhook_resolver=names)
        strict = create_app(
            settings(url, webhook_allow_private_targets=False),
            event_types=EVENT_TYPES,
            webhook_resolver=names,
        )
        async with app.state.engine.begin() as connection:
            # The events table comes with the events branch's migration (registry 0004); until
            # both are merged, the tests make it themselves (`webhook.disabled` is written there).
            await connection.run_sync(events_table(MetaData()).create, checkfirst=True)
        async with create_sessionmaker(app.state.engine)() as session:
            for code in ORGANISATIONS:
                session.add(Organisation(code=code, name=code, kind="operator", search_text=code))
            await session.commit()
        yield Suite(url, app, strict, names)
        for each in (app, strict):
            await each.state.engine.dispose()


@pytest.fixture
async def suite(webhook_suite: Suite) -> AsyncIterator[Suite]:
    yield webhook_suite
    webhook_suite.names.__init__()  # type: ignore[misc]
    async with create_sessionmaker(webhook_suite.app.state.engine)() as session:
        for table in (WebhookDelivery, WebhookSubscription, WebhookFeedCursor):
            await session.execute(delete(table))
        await session.execute(events_table(MetaData()).delete())
        await session.commit()


@pytest.fixture
async def client(suite: Suite) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(suite.app) as c:
        yield c


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = web.Application()
    app.router.add_post("/hooks", found.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    found.port = runner.addresses[0][1]
    yield found
    await runner.cleanup()


def org_token(org: str = "bpifrance") -> dict[str, str]:
    return bearer("webhooks:write", org=org, sub=f"{org}-integrator")


def admin_token() -> dict[str, str]:
    return bearer("admin", sub="ops")


async def subscribe(
    client: httpx.AsyncClient, url: str, types: list[str], org: str = "bpifrance"
) -> dict[str, Any]:
    r = await client.post(
        f"{API}/webhooks", json={"url": url, "event_types": types}, headers=org_token(org)
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def event(
    type_: str = "allocation.committed",
    *,
    audience: list[str] | None = None,
    position: int = 1,
    source: str = "funding",
) -> EventRead:
    return EventRead(
        id=uuid.uuid4(),
        type=type_,
        source=source,
        occurred_at=dt.datetime(2026, 12, 2, 9, 30, tzinfo=dt.UTC),
        subject=EventSubject(kind=type_.split(".")[0], id=str(uuid.uuid4())),
        actor_org="bpifrance",
        version=2,
        position=position,
        payload={"record": {"status": "committed"}, "changed": ["status"]},
        audience=audience,
    )
