"""The app factory every service uses: same middleware, errors, health and metrics everywhere."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import gc
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp

from tdi_kit import tracing
from tdi_kit.auth import Caller, TokenVerifier
from tdi_kit.bodylimit import BodyLimitMiddleware
from tdi_kit.clients import ServiceClient
from tdi_kit.compression import CompressionMiddleware
from tdi_kit.conditional import ConditionalGetMiddleware
from tdi_kit.db import create_engine, create_sessionmaker
from tdi_kit.deadline import DeadlineMiddleware
from tdi_kit.draining import on_exit_signal
from tdi_kit.errors import Problem, install_error_handlers
from tdi_kit.events.brokers import publisher_for
from tdi_kit.events.feed import Wakeup, events_router, wake_on_events
from tdi_kit.events.relay import Relay
from tdi_kit.head import HeadMiddleware
from tdi_kit.idempotency import (
    IdempotencyMiddleware,
    purge_expired,
    purge_periodically,
)
from tdi_kit.keylocks import key_locks
from tdi_kit.lineage import schema_state
from tdi_kit.metrics import Metrics
from tdi_kit.observability import RequestContextMiddleware, configure_logging
from tdi_kit.openapi import PROBLEM_RESPONSES, SuiteAPI
from tdi_kit.openapi import problem_responses as problem_responses  # services import it here
from tdi_kit.records import count_rows
from tdi_kit.rowreader import DriverRowReader
from tdi_kit.settings import ServiceSettings

log = logging.getLogger("tdi.app")
API_PREFIX = "/api/v1"
EXPOSED_HEADERS = [
    "ETag",
    "Link",
    "Location",
    "X-Request-ID",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "RateLimit-Policy",
    "Content-Disposition",
    "Idempotent-Replayed",
]


class ServiceApp(SuiteAPI):
    """The suite's FastAPI (`tdi_kit.openapi`) whose outermost layer gives every request, even a
    crashing one, its id (inside the request's server span when tracing is on)."""

    def build_middleware_stack(self) -> ASGIApp:
        app: ASGIApp = RequestContextMiddleware(
            super().build_middleware_stack(), self.state.metrics
        )
        if self.state.tracer_provider is not None:
            app = tracing.server(app, self.state.tracer_provider)
        return app


def create_service_app(
    *,
    settings: ServiceSettings,
    title: str,
    description: str,
    version: str,
    routers: Sequence[APIRouter],
    migrations: str,
    idempotency: Table,
    openapi_tags: list[dict[str, Any]] | None = None,
    clients: Sequence[ServiceClient] = (),
    counted: Sequence[str] = (),
    events: Table | None = None,
    event_types: Mapping[str, str] | None = None,
) -> ServiceApp:
    """Assemble a service: routers under /api/v1, plus /livez, /readyz and /metrics.

    Each of `clients` (the sibling services it checks references with) is `app.state.<name>`.
    The rows committed to each table of `counted` (the record: funding's ledger) are counted in
    `db_rows_written_total`, by their `kind`.
    With its outbox (`events`, `tdi_kit.events.events_table`) the service serves its feed,
    `GET /api/v1/events`, whose `type` parameter documents `event_types`.
    """
    configure_logging(settings.service_name, level=settings.log_level, as_json=settings.log_json)
    budget = settings.connection_budget
    # Every pool of the process names itself the same, so pg_stat_activity counts the budget.
    connection_options: dict[str, Any] = {
        "connect_timeout": settings.database_connect_timeout_seconds,
        "statement_timeout": settings.database_statement_timeout_seconds,
        "statement_cache_size": settings.database_statement_cache_size,
        "application_name": settings.database_application_name,
    }
    engine = create_engine(
        settings.database_url,
        pool_size=budget.engine_pool,
        max_overflow=budget.engine_overflow,
        echo=settings.database_echo,
        **connection_options,
    )
    read_engine: AsyncEngine = (
        create_engine(
            settings.database_url,
            pool_size=budget.read_pool,
            max_overflow=budget.read_overflow,
            echo=settings.database_echo,
            read_only=True,
            **connection_options,
        )
        if budget.read_pool
        else engine
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # What is loaded at startup lives as long as the process: keeping it out of the
        # collector's generations removes most of the collection pauses behind the p99 tail.
        gc.freeze()
        purger = None
        if settings.idempotency_purge_interval_seconds > 0:
            purger = asyncio.create_task(
                tracing.untraced(
                    functools.partial(
                        purge_periodically,
                        lambda: purge_expired(
                            app.state.sessionmaker,
                            idempotency,
                            retention=dt.timedelta(hours=settings.idempotency_retention_hours),
                        ),
                        interval=settings.idempotency_purge_interval_seconds,
                    )
                )
            )
        app.state.metrics.start()
        # Long polls and event streams end as soon as uvicorn is told to stop (not after its
        # graceful timeout, with an error): see tdi_kit.draining.
        undo_drain = on_exit_signal(app.state.wakeup.close) if app.state.wakeup else None
        relay = app.state.relay = _relay(settings, engine, metrics)
        if relay is not None:
            relay.start()
        yield
        if undo_drain is not None:
            undo_drain()
        if relay is not None:
            await relay.stop()
        if purger is not None:
            purger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await purger
        # Graceful shutdown: uvicorn has drained in-flight requests before this runs.
        app.state.metrics.stop()
        for client in clients:
            await client.aclose()
        await app.state.rows.close()
        await app.state.idempotency_locks.aclose()
        await app.state.engine.dispose()
        await read_engine.dispose()

    app = ServiceApp(
        title=title,
        description=description,
        version=version,
        lifespan=lifespan,
        openapi_tags=openapi_tags,
        responses=PROBLEM_RESPONSES,
    )
    app.state.settings = settings
    app.state.relay = None  # the events relay, once the lifespan has started it
    app.state.engine = engine
    app.state.read_engine = read_engine
    app.state.sessionmaker = create_sessionmaker(engine)
    # GET's sessions (tdi_kit.db.get_session), for the reads not yet served by `rows`.
    app.state.read_sessionmaker = create_sessionmaker(read_engine)
    app.state.rows = DriverRowReader(engine, pool_size=budget.reader, **connection_options)
    app.state.idempotency_locks = key_locks(engine, pool_size=budget.locks, **connection_options)
    app.state.verifier = TokenVerifier(settings)
    metrics = app.state.metrics = Metrics(settings.service_name)
    metrics.samplers.append(lambda: _sample_pools(app))
    count_rows(counted, metrics)
    provider = app.state.tracer_provider = tracing.provider_for(
        settings.service_name, settings.otlp_endpoint
    )
    if provider is not None:
        tracing.database(engine, provider)
        for client in clients:
            tracing.httpx_client(client.http, provider)
    app.state.migrations = migrations
    for client in clients:
        setattr(app.state, client.name, client)
    install_error_handlers(app)
    for router in routers:
        app.include_router(router, prefix=API_PREFIX)
    long_polls: frozenset[str] = frozenset()
    app.state.wakeup = None
    if events is not None:
        wakeup = app.state.wakeup = Wakeup()
        # Events this process commits wake its long polls: served without the poll's delay.
        wake_on_events(engine, wakeup)
        app.include_router(
            events_router(
                events,
                source=settings.service_name,
                event_types=event_types or {},
                wakeup=wakeup,
            ),
            prefix=API_PREFIX,
        )
        long_polls = frozenset({API_PREFIX + "/events"})
    app.include_router(_operations_router())

    def caller(headers: dict[bytes, bytes]) -> Caller | None:
        auth = headers.get(b"authorization", b"").decode("latin-1")
        if not auth.lower().startswith("bearer "):
            return None
        try:
            verified: Caller = app.state.verifier.verify(auth[7:].strip())
            return verified
        except Problem:
            return None

    # Added innermost first: the body limit guards what idempotency buffers.
    app.add_middleware(ConditionalGetMiddleware)
    app.add_middleware(
        IdempotencyMiddleware,
        sessions=lambda: app.state.sessionmaker,
        locks=lambda: app.state.idempotency_locks,
        table=idempotency,
        caller=caller,
        outcome=metrics.idempotency_outcome,
    )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    # Outside idempotency, so that a request past its deadline gives back its key's lock too.
    app.add_middleware(
        DeadlineMiddleware, max_seconds=settings.request_timeout_seconds, long_polls=long_polls
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=EXPOSED_HEADERS,
        )
    # Outermost: it compresses what every other layer answered (replays and problems too) and
    # hands them back the identity ETags they compare.
    app.add_middleware(CompressionMiddleware)
    # HEAD outside compression: a HEAD is answered as the GET would be, length included.
    app.add_middleware(HeadMiddleware)
    return app


def _relay(settings: ServiceSettings, engine: AsyncEngine, metrics: Metrics) -> Relay | None:
    """The events relay this process runs (`EVENTS_RELAY`), publishing to the configured broker."""
    if settings.events_relay == "off":
        return None
    publisher = publisher_for(settings.events_broker_url) if settings.events_broker_url else None
    return Relay(
        engine,
        source=settings.service_name,
        publisher=publisher,
        metrics=metrics,
        interval_seconds=settings.events_relay_interval_seconds,
    )


def _sample_pools(app: FastAPI) -> None:
    """Every pool of the connection budget, each under its `pool` label."""
    state = app.state
    metrics: Metrics = state.metrics
    metrics.engine_pool("engine", state.engine.pool)
    if state.read_engine is not state.engine:  # SQLite's reads share the writes' engine
        metrics.engine_pool("read_engine", state.read_engine.pool)
    if (locks := state.idempotency_locks.engine) is not None:  # SQLite's lock a file
        metrics.engine_pool("idempotency_locks", locks.pool)
    if (reader := state.rows.pool_stats()) is not None:
        size, checked_out = reader
        metrics.pool("reader", size=size, checked_out=checked_out, overflow=0)


def _operations_router() -> APIRouter:
    router = APIRouter(tags=["operations"], include_in_schema=False)

    @router.get("/livez")
    async def livez() -> dict[str, str]:
        """The process answers."""
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(request: Request) -> Response:
        """Its own database answers, with a schema at the code's head or ahead of it by
        revisions that descend from it (the expand step of a rolling upgrade)."""
        state = request.app.state
        try:
            schema = await schema_state(state.engine, state.migrations)
        except Exception:
            # Any failure means "not ready". Why goes to the log, never into the answer: a
            # driver's message names hosts, users and databases.
            log.exception("not ready: the database does not answer")
            return JSONResponse(
                {"status": "unavailable", "database": "unreachable"}, status_code=503
            )
        if schema.position == "at_head":
            return JSONResponse({"status": "ok", "migrations": sorted(schema.current)})
        body: dict[str, Any] = {
            "status": "ok" if schema.ready else "unavailable",
            "migrations": sorted(schema.current),
            "head": sorted(schema.head),
            "schema": schema.position,
        }
        if schema.position == "ahead":
            body["ahead_by"] = schema.ahead_by
        return JSONResponse(body, status_code=200 if schema.ready else 503)

    @router.get("/metrics")
    async def metrics(request: Request) -> Response:
        """Prometheus exposition."""
        body, content_type = request.app.state.metrics.exposition()
        return Response(body, media_type=content_type)

    return router
