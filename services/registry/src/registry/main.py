"""The registry service: territories, groupements, communes, organisations, governance."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping

from registry.events import EVENT_TYPES
from registry.geography.routes import router as geography
from registry.models import idempotency_keys, outbox
from registry.organisations.routes import router as organisations
from registry.programme.routes import router as programme
from registry.settings import RegistrySettings
from registry.territories.routes import router as territories
from registry.webhooks.dispatcher import Dispatcher, event_source, run_until_cancelled
from registry.webhooks.routes import router as webhooks
from registry.webhooks.types import suite_event_types
from tdi_kit.app import ServiceApp, create_service_app
from tdi_kit.events.webhooks.targets import Resolver, system_resolver
from tdi_kit.tracing import untraced

MIGRATIONS = "registry:migrations"

DESCRIPTION = """
The official lists of the Territoires d'industrie programme: the 148 territories of phase 1
(2019-2022) and the 183 of phase 2 (2023-2027), their member groupements (EPCI, EPT or commune),
the communes they cover, their governance (binôme élu-industriel, chef de projet, operators'
referents), their official Région and the Régions they touch, the organisations that take part,
and the programme itself: its phases with their dates, and the dated figures of the public record
(counts of territories, signatures, money announced or engaged), each with its source.

Reads are public. Writes need a bearer token with scope `registry:write` (or `admin`).
Webhooks (`/webhooks`) are an organisation's own: scope `webhooks:write`.
Errors are RFC 9457 problem documents.
"""


def create_app(
    settings: RegistrySettings | None = None,
    *,
    event_types: Mapping[str, str] | None = None,
    webhook_resolver: Resolver = system_resolver,
) -> ServiceApp:
    """The registry; `event_types` (the suite's, by default) are those webhooks may name."""
    settings = settings or RegistrySettings()
    app = create_service_app(
        settings=settings,
        title="Territoires d'industrie: registry",
        description=DESCRIPTION,
        version="1.0.0",
        routers=[territories, geography, organisations, programme, webhooks],
        migrations=MIGRATIONS,
        idempotency=idempotency_keys,
        events=outbox,
        event_types=EVENT_TYPES,
    )
    app.state.event_types = suite_event_types() if event_types is None else event_types
    app.state.webhook_resolver = webhook_resolver
    if settings.webhooks_dispatcher == "embedded":
        _embed_dispatcher(app, settings, webhook_resolver)
    return app


def _embed_dispatcher(app: ServiceApp, settings: RegistrySettings, resolver: Resolver) -> None:
    """The webhooks dispatcher as a task of this process, beside its requests (never in their
    way: it has its own HTTP client and waits on nothing they hold)."""
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app_: object) -> AsyncIterator[None]:
        async with inner(app):
            dispatcher = Dispatcher(
                sessionmaker=app.state.sessionmaker, settings=settings, resolver=resolver
            )
            source = event_source(settings, app.state.sessionmaker)
            task = asyncio.create_task(untraced(run_until_cancelled, dispatcher, source))
            app.state.webhooks_dispatcher = task
            try:
                yield
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app.router.lifespan_context = lifespan
