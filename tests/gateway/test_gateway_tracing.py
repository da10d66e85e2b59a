"""Traces across gateway → service → database, caught by an in-memory exporter; and the
trace context the edge starts when tracing is off."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gateway_testing import FakeService, running_gateway
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from registry.main import create_app as create_registry
from registry.settings import RegistrySettings
from tdi_kit import tracing
from tdi_kit.observability import valid_traceparent
from tdi_kit.testing import LiveServer


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    try:
        yield exporter
    finally:
        tracing.install(None)


def _scope(span: ReadableSpan) -> str:
    return span.instrumentation_scope.name if span.instrumentation_scope else ""


async def test_one_gateway_request_is_one_trace_from_the_edge_to_the_database(
    exporter: InMemorySpanExporter, registry_url: str
) -> None:
    registry = create_registry(
        RegistrySettings(database_url=registry_url, environment="test", log_json=False)
    )
    with LiveServer(registry) as server:
        async with running_gateway(registry_url=server.url) as (_app, client):
            response = await client.get("/api/v1/regions/84")
    assert response.status_code == 200
    spans = exporter.get_finished_spans()
    routes = {s.attributes.get("http.route"): s for s in spans if s.kind == SpanKind.SERVER}
    assert "/api/v1/* (registry)" in routes, [(s.name, s.kind, _scope(s)) for s in spans]
    edge = routes["/api/v1/* (registry)"]
    service = routes["/api/v1/regions/{code}"]
    [upstream] = [s for s in spans if s.kind == SpanKind.CLIENT and "aiohttp" in _scope(s)]
    statements = [s for s in spans if "sqlalchemy" in _scope(s) or "asyncpg" in _scope(s)]
    assert statements, [(s.name, _scope(s)) for s in spans]
    trace_id = edge.context.trace_id
    for span in (upstream, service, *statements):
        assert span.context.trace_id == trace_id, span.name
    # Each hop is the child of the one before: edge → its call → the service → its statements.
    assert upstream.parent.span_id == edge.context.span_id
    assert service.parent.span_id == upstream.context.span_id
    assert edge.name == "GET /api/v1/* (registry)"  # the route, never the raw path
    assert service.name == "GET /api/v1/regions/{code}"
    assert any(s.parent and s.parent.span_id == service.context.span_id for s in statements)


async def test_tracing_is_off_without_an_endpoint() -> None:
    async with running_gateway() as (app, _client):
        assert app.app is not None
        assert type(app.app).__name__ == "RequestContextMiddleware"
        assert app.services.pool.trace_configs == []


async def test_the_edge_starts_a_trace_when_the_caller_sends_none(
    fake: FakeService, fake_url: str
) -> None:
    async with running_gateway(registry_url=fake_url) as (_app, client):
        await client.get("/api/v1/regions")
        given = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        await client.get("/api/v1/regions", headers={"traceparent": given})
        await client.get("/api/v1/regions", headers={"traceparent": "00-zz-nonsense"})
    made, passed, replaced = (seen["headers"]["traceparent"] for seen in fake.seen)
    assert valid_traceparent(made) and made.endswith("-01")
    assert passed == given
    assert valid_traceparent(replaced) and replaced != made
