"""The gateway app: edge checks, then the pass-through or the gateway's own FastAPI routes.

    RequestContextMiddleware     request id in and out, metrics, JSON access log   (kit)
      CORS                       reads open to any origin, tokens from the allow-list,
                                 preflights answered                               (cors)
        CompressionMiddleware    br or gzip over 1 KB; forwarded answers as sent   (kit)
          Gateway                canonical path, real client, bearer token, rate limit, then:
            Proxy                → a service: bytes over the shared aiohttp session
            FastAPI              → dossier, dashboard, /openapi.json, /docs, /redoc, health,
                                   metrics, the public page (/) and its files (/static/)

Only the gateway's own routes pay for FastAPI; a forwarded request never enters it.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.aggregates import PARTIAL_HEADER
from gateway.clients import SAFE_METHODS, Services
from gateway.cors import CORS, with_headers
from gateway.dashboard import router as dashboard_router
from gateway.dossier import router as dossier_router
from gateway.edge import ClientAddress, EdgeAuth, RateLimiter, RequestTarget
from gateway.events import router as events_router
from gateway.metrics import GatewayMetrics
from gateway.openapi import OpenAPIMerger
from gateway.openapi import router as openapi_router
from gateway.proxy import GATEWAY, ROUTES, Proxy, RouteTable, send_problem
from gateway.settings import GatewaySettings
from gateway.vocabularies import router as vocabularies_router
from gateway.web import install as install_page
from tdi_kit import tracing
from tdi_kit.app import EXPOSED_HEADERS
from tdi_kit.compression import CompressionMiddleware
from tdi_kit.draining import on_exit_signal
from tdi_kit.errors import Problem, Unauthorized, install_error_handlers
from tdi_kit.head import HeadMiddleware
from tdi_kit.observability import RequestContextMiddleware, configure_logging
from tdi_kit.openapi import PROBLEM_RESPONSES, SuiteAPI

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

VERSION = "1.0.0"
DESCRIPTION = """
The public API of the Territoires d'industrie programme, in one namespace: every path of the
registry, funding and contracts services under `/api/v1`, passed through unchanged (status,
headers, body), plus the views that no single service can serve: a territory's full dossier
and the national or regional dashboard.

Reads are public; writes need a bearer token whose scope the owning service checks. Requests
are rate-limited per caller (`RateLimit-*` headers; 429 with `Retry-After` past the limit).
When a service fails, the answer names it: 502 for a bad answer, 503 when it is unavailable,
504 when it is too slow; an aggregate whose optional part failed is answered whole but marked
`"partial": true`, with one problem per missing part and the `X-Partial` header.
"""


class Gateway:
    """The edge: checks the caller, counts it against its limit, hands the request on."""

    def __init__(
        self,
        settings: GatewaySettings,
        api: ASGIApp,
        services: Services,
        auth: EdgeAuth,
        limiter: RateLimiter | None,
        metrics: GatewayMetrics,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.api = api
        self.services = services
        self.auth = auth
        self.limiter = limiter
        self.routes = RouteTable(ROUTES)
        self.proxy = Proxy(services, settings)
        self.target = RequestTarget(settings.max_url_bytes)
        self.client_address = (
            ClientAddress(settings.trusted_proxies) if settings.trusted_proxies else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.api(scope, receive, send)  # lifespan
            return
        # The request line first: the edge and the routing must see the path the service will.
        try:
            self.target.check(scope)
        except Problem as problem:
            await send_problem(problem, scope, send)
            return
        if self.client_address is not None:
            scope["client"] = (self.client_address(scope), 0)
        path: str = scope["path"]
        target = self.routes.resolve(path) or GATEWAY
        extra: list[tuple[bytes, bytes]] = []
        if target != GATEWAY or path.startswith("/api/"):
            authorization = None
            for name, value in scope["headers"]:
                if name == b"authorization":
                    authorization = value.decode("latin-1")
                    break
            caller = None
            refused: Problem | None = None
            try:
                caller = await self.auth.caller(authorization)
                if caller is None and scope["method"] not in SAFE_METHODS:
                    raise Unauthorized("Every write needs a bearer token with the right scope.")
            except Problem as problem:
                refused = problem
            if self.limiter is not None:
                # A token that does not verify names nobody: it counts against the address it
                # came from, like any anonymous request (else forged tokens would be free).
                if caller is not None:
                    key = "sub:" + caller.sub
                else:
                    client = scope.get("client")
                    key = "addr:" + (client[0] if client else "unknown")
                quota = await self.limiter.hit(key)
                if quota is None:
                    self.metrics.rate_limit_store_errors.labels(self.metrics.service).inc()
                else:
                    extra = quota.headers()
                    if not quota.allowed:
                        self.metrics.rate_limited.labels(
                            self.metrics.service, "token" if caller is not None else "address"
                        ).inc()
                        await send_problem(quota.problem(), scope, send, extra)
                        return
            if refused is not None:
                await send_problem(refused, scope, send, extra)
                return
        if target != GATEWAY:
            await self.proxy(scope, receive, send, self.services[target], extra)
        elif extra:
            await self.api(scope, receive, with_headers(send, extra))
        else:
            await self.api(scope, receive, send)


class GatewayApp:
    """The ASGI app uvicorn serves, with the pieces tests and benchmarks reach for."""

    def __init__(self, settings: GatewaySettings) -> None:
        configure_logging(
            settings.service_name, level=settings.log_level, as_json=settings.log_json
        )
        self.settings = settings
        self.metrics = GatewayMetrics(settings.service_name)
        provider = tracing.provider_for(settings.service_name, settings.otlp_endpoint)
        self.services = Services(settings, self.metrics, aiohttp_trace_configs(provider))
        self.limiter = RateLimiter(settings) if settings.rate_limit.strip() else None
        self.api = _api(self)
        # HEAD on the gateway's own GET routes; passed-through HEADs are the services' to answer.
        own = HeadMiddleware(self.api)
        self.gateway = Gateway(
            settings, own, self.services, EdgeAuth(settings), self.limiter, self.metrics
        )
        # Forwarded answers come compressed by their service when the caller asked (the proxy
        # passes `Accept-Encoding` on) and pass as they are; the gateway compresses its own.
        app: ASGIApp = CompressionMiddleware(self.gateway)
        app = CORS(
            app,
            allow_origins=settings.cors_origins,
            expose_headers=[*EXPOSED_HEADERS, PARTIAL_HEADER],
        )
        app = RequestContextMiddleware(app, self.metrics)
        # The edge's server span, outermost: every log line of the request carries its trace.
        self.app = tracing.server(app, provider) if provider is not None else app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def create_app(settings: GatewaySettings | None = None) -> GatewayApp:
    """The gateway (`uvicorn --factory gateway.main:create_app`)."""
    return GatewayApp(settings or GatewaySettings())


def _api(gateway: GatewayApp) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Everything imported and built so far lives as long as the process: out of the
        # collector's sight, so that a full collection does not walk it in the middle of
        # requests (the tail latency under load).
        gc.collect()
        gc.freeze()
        gateway.metrics.start()
        # The merged feed's long polls and streams end as soon as uvicorn is told to stop.
        undo_drain = on_exit_signal(api.state.draining.set)
        yield
        undo_drain()
        # Graceful shutdown: uvicorn has drained in-flight requests before this runs.
        gateway.metrics.stop()
        await gateway.services.close()

    api = SuiteAPI(
        title="Territoires d'industrie: public API",
        description=DESCRIPTION,
        version=VERSION,
        lifespan=lifespan,
        openapi_url=None,  # /openapi.json is the merged document, served by `openapi`
        responses=PROBLEM_RESPONSES,
    )
    api.state.settings = gateway.settings
    api.state.draining = asyncio.Event()  # set when uvicorn is told to stop
    api.state.services = gateway.services
    api.state.metrics = gateway.metrics
    api.state.openapi = OpenAPIMerger(api, gateway.services, gateway.settings)
    install_error_handlers(api)
    api.include_router(dossier_router, prefix="/api/v1")
    api.include_router(dashboard_router, prefix="/api/v1")
    api.include_router(vocabularies_router, prefix="/api/v1")
    api.include_router(events_router, prefix="/api/v1")
    api.include_router(openapi_router)
    install_page(api)

    @api.get("/livez", include_in_schema=False)
    async def livez() -> dict[str, str]:
        """The process answers."""
        return {"status": "ok"}

    @api.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> Response:
        """The gateway can serve: 200 whatever the services' state, each reported in the body.

        A service that is down answers its own paths with 503 through the gateway, while the
        others keep their traffic: an orchestrator that took every gateway out of rotation for
        one service would turn one fault into a full outage."""
        return JSONResponse({"status": "ok", "services": await _service_states(request)})

    @api.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        """Prometheus exposition; each service's state probed first (`gateway_upstream_up`)."""
        await _service_states(request)
        body, content_type = request.app.state.metrics.exposition()
        return Response(body, media_type=content_type)

    async def _service_states(request: Request) -> dict[str, dict[str, str | None]]:
        """Each service's state, probed concurrently within the readiness probe's bound, and
        recorded in the metrics as it is reported."""
        services: Services = request.app.state.services
        names = list(services.by_name)
        settings: GatewaySettings = request.app.state.settings
        probes = (services[name].probe(settings.readiness_probe_seconds) for name in names)
        states = dict(zip(names, await asyncio.gather(*probes), strict=True))
        for name, state in states.items():
            request.app.state.metrics.upstream_state(name, str(state["state"]))
        return states

    return api


def aiohttp_trace_configs(provider: TracerProvider | None) -> list[Any]:
    """aiohttp's client span per call to a service (none when tracing is off)."""
    if provider is None:
        return []
    from opentelemetry.instrumentation.aiohttp_client import create_trace_config

    return [create_trace_config(tracer_provider=provider)]
