"""The app factory every service uses: same middleware, errors, health and metrics everywhere."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp

from tdi_kit.auth import Caller, TokenVerifier
from tdi_kit.bodylimit import BodyLimitMiddleware
from tdi_kit.clients import ServiceClient
from tdi_kit.conditional import ConditionalGetMiddleware
from tdi_kit.db import create_engine, create_sessionmaker
from tdi_kit.errors import Problem, ProblemRead, install_error_handlers
from tdi_kit.head import HeadMiddleware
from tdi_kit.idempotency import IdempotencyMiddleware, key_locks
from tdi_kit.migrations import current_revisions, heads
from tdi_kit.observability import Metrics, RequestContextMiddleware, configure_logging
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
]

_PROBLEMS = {
    304: "Not modified (`If-None-Match` names the current ETag).",
    400: "Bad request (a malformed cursor, say).",
    401: "No valid bearer token (`WWW-Authenticate: Bearer`).",
    403: "The token lacks the scope this operation needs.",
    404: "No record with this code.",
    409: "In conflict with the current state of the record; `detail` says how.",
    412: "`If-Match` names a version that is no longer the current one.",
    413: "The request body is over the limit.",
    415: "The body's media type is not one this operation takes.",
    422: "Invalid input; `errors` names each field.",
    428: "`If-Match` is required: send the ETag of the record as last read.",
    502: "A service this request needs answered badly; `service` names it.",
    503: "A service this request needs is unavailable; `service` names it.",
    504: "A service this request needs did not answer in time; `service` names it.",
}


def problem_responses(
    *statuses: int, descriptions: Mapping[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for error statuses, each a problem document (`model` registers it).

    The one way every service documents its problems: `descriptions` gives a service's own
    wording of a status (what a 409 means there), the kit's general one otherwise. 304 is no
    problem: it is documented with its description only.
    """
    schema = {"schema": {"$ref": "#/components/schemas/ProblemRead"}}
    described = {**_PROBLEMS, **(descriptions or {})}
    docs: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        if status == 304:
            docs[status] = {"description": described[status]}
        else:
            docs[status] = {
                "model": ProblemRead,
                "content": {"application/problem+json": schema},
                "description": described[status],
            }
    return docs


# Documented once for every operation, so that clients generated from the OpenAPI document know
# the problem shape of each error status; routes add the statuses of their own.
PROBLEM_RESPONSES = problem_responses(400, 422)


class ServiceApp(FastAPI):
    """FastAPI whose outermost layer gives every request, even a crashing one, its id."""

    def build_middleware_stack(self) -> ASGIApp:
        return RequestContextMiddleware(super().build_middleware_stack(), self.state.metrics)


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
) -> ServiceApp:
    """Assemble a service: routers under /api/v1, plus /livez, /readyz and /metrics.

    Each of `clients` (the sibling services it checks references with) is `app.state.<name>`.
    """
    configure_logging(settings.service_name, level=settings.log_level, as_json=settings.log_json)

    def engine_of(*, read_only: bool = False) -> AsyncEngine:
        return create_engine(
            settings.database_url,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
            echo=settings.database_echo,
            connect_timeout=settings.database_connect_timeout_seconds,
            statement_timeout=settings.database_statement_timeout_seconds,
            read_only=read_only,
        )

    engine = engine_of()
    # SQLite's sessions have no pre-ping, and their BEGIN is the one thing that makes a read
    # see one snapshot: its reads keep the one engine.
    read_engine = engine if engine.dialect.name == "sqlite" else engine_of(read_only=True)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # What is loaded at startup lives as long as the process: keeping it out of the
        # collector's generations removes most of the collection pauses behind the p99 tail.
        gc.freeze()
        yield
        # Graceful shutdown: uvicorn has drained in-flight requests before this runs.
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
    app.state.engine = engine
    app.state.sessionmaker = create_sessionmaker(engine)
    # GET's sessions (tdi_kit.db.get_session), for the reads not yet served by `rows`.
    app.state.read_sessionmaker = create_sessionmaker(read_engine)
    app.state.rows = DriverRowReader(
        engine,
        pool_size=settings.database_read_pool_size,
        connect_timeout=settings.database_connect_timeout_seconds,
        statement_timeout=settings.database_statement_timeout_seconds,
    )
    app.state.idempotency_locks = key_locks(engine, pool_size=settings.database_pool_size)
    app.state.verifier = TokenVerifier(settings)
    app.state.metrics = Metrics(settings.service_name)
    app.state.migrations = migrations
    for client in clients:
        setattr(app.state, client.name, client)
    install_error_handlers(app)
    for router in routers:
        app.include_router(router, prefix=API_PREFIX)
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
    app.add_middleware(HeadMiddleware)
    app.add_middleware(
        IdempotencyMiddleware,
        sessions=lambda: app.state.sessionmaker,
        locks=lambda: app.state.idempotency_locks,
        table=idempotency,
        caller=caller,
    )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=EXPOSED_HEADERS,
        )
    return app


def _operations_router() -> APIRouter:
    router = APIRouter(tags=["operations"], include_in_schema=False)

    @router.get("/livez")
    async def livez() -> dict[str, str]:
        """The process answers."""
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(request: Request) -> Response:
        """The database answers and its schema is at the migrations' head."""
        state = request.app.state
        try:
            async with state.sessionmaker() as session:
                await session.execute(text("SELECT 1"))
            current = await current_revisions(state.engine)
        except Exception:
            # Any failure means "not ready". Why goes to the log, never into the answer: a
            # driver's message names hosts, users and databases.
            log.exception("not ready: the database does not answer")
            return JSONResponse(
                {"status": "unavailable", "database": "unreachable"}, status_code=503
            )
        expected = heads(state.migrations)
        if current != expected:
            return JSONResponse(
                {"status": "unavailable", "migrations": sorted(current), "head": sorted(expected)},
                status_code=503,
            )
        return JSONResponse({"status": "ok", "migrations": sorted(current)})

    @router.get("/metrics")
    async def metrics(request: Request) -> Response:
        """Prometheus exposition."""
        body, content_type = request.app.state.metrics.exposition()
        return Response(body, media_type=content_type)

    return router
