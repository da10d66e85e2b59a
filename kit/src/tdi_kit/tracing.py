"""OpenTelemetry traces across gateway → services → database, when an endpoint is configured.

Off (no endpoint): nothing of OpenTelemetry is imported or wrapped, and a request pays for no
span. On: the server span of each request (ASGI), a client span for each call to another app
(aiohttp in the gateway, httpx in the services), a span for each statement (SQLAlchemy, and
asyncpg for the driver-level reader), exported by OTLP over HTTP in batches. The W3C
`traceparent` ties them into one trace across processes.

`install(provider)` hands a provider of one's own (tests: an in-memory exporter) to the apps
built after it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from tdi_kit import observability

if TYPE_CHECKING:
    import httpx
    from opentelemetry.sdk.trace import TracerProvider
    from sqlalchemy.ext.asyncio import AsyncEngine
    from starlette.types import ASGIApp

T = TypeVar("T")

_installed: TracerProvider | None = None
_providers: dict[tuple[str, str], TracerProvider] = {}
_asyncpg_done = False


def install(provider: TracerProvider | None) -> None:
    """Trace the apps built from now on with `provider` (None: back to the settings)."""
    global _installed, _asyncpg_done
    _installed = provider
    if provider is not None:
        _enable()
    elif _asyncpg_done:
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

        AsyncPGInstrumentor().uninstrument()  # type: ignore[no-untyped-call]
        _asyncpg_done = False


def provider_for(service: str, endpoint: str | None) -> TracerProvider | None:
    """The provider an app traces with: the installed one, else one exporting to `endpoint`
    (one per process and endpoint, shared by the apps of the process), else None (off)."""
    if _installed is not None:
        return _installed
    if not endpoint:
        return None
    key = (service, endpoint)
    if key not in _providers:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider = TracerProvider(resource=Resource.create({"service.name": service}))
        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces"))
        )
        _providers[key] = provider
        _enable()
    return _providers[key]


def _enable() -> None:
    from opentelemetry import trace

    def span_ids() -> tuple[str, str] | None:
        context = trace.get_current_span().get_span_context()
        if not context.is_valid:
            return None
        return f"{context.trace_id:032x}", f"{context.span_id:016x}"

    observability.span_ids = span_ids


def server(app: ASGIApp, provider: TracerProvider) -> ASGIApp:
    """The server span around everything the app does (outermost, so that logs carry it)."""
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    return OpenTelemetryMiddleware(
        app,
        tracer_provider=provider,
        # Named by method here; by route template once routed (name_server_span), never by
        # the raw path, which would make one span name per record.
        default_span_details=lambda scope: (scope.get("method", "HTTP"), {}),
        exclude_spans=["receive", "send"],
    )


def name_server_span(method: str, route: str) -> None:
    from opentelemetry import trace

    span = trace.get_current_span()
    if span.is_recording():
        span.update_name(f"{method} {route}")
        span.set_attribute("http.route", route)


def database(engine: AsyncEngine, provider: TracerProvider) -> None:
    """A span per statement of the engine, and of asyncpg's own connections (the reader)."""
    global _asyncpg_done
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    # Its declared range stops below SQLAlchemy 2.1, which it instruments by the same events
    # (tests/gateway/test_gateway_tracing.py shows the statements' spans).
    SQLAlchemyInstrumentor().instrument(
        engine=engine.sync_engine, tracer_provider=provider, skip_dep_check=True
    )
    if engine.dialect.name == "postgresql" and not _asyncpg_done:
        # asyncpg is instrumented by patching the driver: once per process.
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

        AsyncPGInstrumentor().instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]
        _asyncpg_done = True


def httpx_client(client: httpx.AsyncClient, provider: TracerProvider) -> None:
    """A client span per call of `client`, whose `traceparent` it sends."""
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    HTTPXClientInstrumentor.instrument_client(client, tracer_provider=provider)


async def untraced(work: Callable[..., Awaitable[T]], *args: Any) -> T:
    """`work(*args)` (a background loop: the events relay, the webhooks dispatcher, a purge)
    outside every trace: its polls, several a second, are no request's, and would otherwise
    flood the traces with spans of their own. The task's context carries the suppression to
    every statement and call the loop makes. (The coroutine is made here, not by the caller:
    a task cancelled before it starts leaves no coroutine never awaited.)"""
    from opentelemetry.instrumentation.utils import suppress_instrumentation

    with suppress_instrumentation():
        return await work(*args)
