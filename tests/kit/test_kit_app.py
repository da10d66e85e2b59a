"""What every app built by the kit has: request ids, problems, health, readiness and metrics."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from alembic.script import ScriptDirectory
from fastapi import APIRouter
from sqlalchemy import insert, text

from registry.main import MIGRATIONS, create_app
from registry.models import idempotency_keys
from registry.settings import RegistrySettings
from tdi_kit import migrations, testing
from tdi_kit.app import ServiceApp, create_service_app
from tdi_kit.settings import ServiceSettings
from tdi_kit.testing import asgi_client

GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")


async def test_a_valid_request_id_is_returned_as_given(client: httpx.AsyncClient) -> None:
    for given in ["req-42", "0af7651916cd43dd8448eb211c80319c", "gateway:abc.def_1"]:
        r = await client.get("/api/v1/regions/27", headers={"X-Request-ID": given})
        assert r.headers["x-request-id"] == given


async def test_a_missing_request_id_is_generated_anew_for_each_request(
    client: httpx.AsyncClient,
) -> None:
    first = (await client.get("/api/v1/regions/27")).headers["x-request-id"]
    second = (await client.get("/api/v1/regions/27")).headers["x-request-id"]
    assert GENERATED_ID.match(first) and GENERATED_ID.match(second)
    assert first != second


@pytest.mark.parametrize("given", ["has spaces", "x" * 129, "semi;colon", "é", "a\tb", ""])
async def test_an_unsafe_request_id_is_replaced(client: httpx.AsyncClient, given: str) -> None:
    r = await client.get("/api/v1/regions/27", headers={"X-Request-ID": given.encode("latin-1")})
    assert GENERATED_ID.match(r.headers["x-request-id"])


async def test_a_problem_carries_the_request_id(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/territories/ti-9999", headers={"X-Request-ID": "trace-me-1"})
    assert r.status_code == 404
    assert r.headers["x-request-id"] == "trace-me-1"
    assert r.json()["request_id"] == "trace-me-1"
    r = await client.get("/api/v1/territories/bad", headers={"X-Request-ID": "trace-me-2"})
    assert r.status_code == 422
    assert r.json()["request_id"] == "trace-me-2"
    generated = await client.get("/api/v1/groupements/123456782")
    assert generated.json()["request_id"] == generated.headers["x-request-id"]


async def test_livez_answers_while_the_process_runs(client: httpx.AsyncClient) -> None:
    r = await client.get("/livez")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


async def test_readyz_is_200_on_a_database_at_the_migrations_head(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "migrations": sorted(migrations.heads(MIGRATIONS))}


@pytest.fixture
async def unmigrated_app() -> AsyncIterator[ServiceApp]:
    async with testing.test_database("unmigrated") as url:
        app = create_app(RegistrySettings(database_url=url, environment="test", log_json=False))
        yield app
        await app.state.engine.dispose()


async def test_readyz_is_503_on_a_database_whose_migrations_are_not_at_head(
    unmigrated_app: ServiceApp,
) -> None:
    async with asgi_client(unmigrated_app) as c:
        r = await c.get("/readyz")
        assert r.status_code == 503
        assert r.json() == {
            "status": "unavailable",
            "migrations": [],
            "head": sorted(migrations.heads(MIGRATIONS)),
            "schema": "behind",
        }
        # Still alive: a supervisor must not restart it for that.
        assert (await c.get("/livez")).status_code == 200
        # Once migrated, it is ready.
        await migrations.upgrade(unmigrated_app.state.engine, MIGRATIONS)
        assert (await c.get("/readyz")).status_code == 200


async def _set_revision(app: ServiceApp, revision: str, *, lineage: str | None = None) -> None:
    """The database as a later version of the code left it: `revision` applied (its parent
    `lineage` recorded), without the code knowing the revision's file."""
    async with app.state.engine.begin() as connection:
        if lineage is not None:
            await connection.execute(
                insert(migrations.lineage).values(revision=revision, down_revisions=lineage)
            )
        await connection.execute(
            text("UPDATE alembic_version SET version_num = :r"), {"r": revision}
        )


async def test_readyz_accepts_a_schema_ahead_of_the_code_by_revisions_descending_from_its_head(
    unmigrated_app: ServiceApp,
) -> None:
    """The expand step of a rolling upgrade: the new version's migrations ran, the old replicas
    (this code) still serve; a revision they cannot place is another story."""
    (head,) = migrations.heads(MIGRATIONS)
    await migrations.upgrade(unmigrated_app.state.engine, MIGRATIONS)
    async with asgi_client(unmigrated_app) as c:
        await _set_revision(unmigrated_app, "expand1", lineage=head)
        await _set_revision(unmigrated_app, "expand2", lineage="expand1")
        r = await c.get("/readyz")
        assert r.status_code == 200, r.text
        assert r.json() == {
            "status": "ok",
            "migrations": ["expand2"],
            "head": [head],
            "schema": "ahead",
            "ahead_by": 2,
        }

        await _set_revision(unmigrated_app, "not-a-known-revision")
        r = await c.get("/readyz")
        assert r.status_code == 503
        assert r.json()["schema"] == "unknown"

        # Recorded, but on another line than the code's head (a parent the code knows that is
        # not its head): not the code's schema either.
        parent = next(iter(migrations.heads(MIGRATIONS)))
        script = ScriptDirectory.from_config(migrations.alembic_config(MIGRATIONS))
        older = script.get_revision(parent).down_revision
        assert isinstance(older, str)
        await _set_revision(unmigrated_app, "side-branch", lineage=older)
        r = await c.get("/readyz")
        assert r.status_code == 503
        assert r.json()["schema"] == "unknown"


async def test_readyz_is_503_when_the_database_does_not_answer() -> None:
    app = create_app(
        RegistrySettings(
            database_url="postgresql://nobody@127.0.0.1:9/nowhere",
            environment="test",
            log_json=False,
        )
    )
    async with asgi_client(app) as c:
        r = await c.get("/readyz")
    await app.state.engine.dispose()
    assert r.status_code == 503
    assert r.json()["status"] == "unavailable"
    assert "database" in r.json()


async def test_metrics_count_requests_by_route_template_and_status(
    client: httpx.AsyncClient,
) -> None:
    await client.get("/api/v1/territories/ti-2708")
    await client.get("/api/v1/territories/ti-9999")
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert "# TYPE http_requests_total counter" in text
    assert "# TYPE http_request_duration_seconds histogram" in text
    # The route template, not the path: one series for all 331 territories.
    series = r'http_requests_total\{method="GET",route="/api/v1/territories/\{code\}",'
    series += r'service="registry",status="%s"\} [1-9]'
    assert re.search(series % 200, text)
    assert re.search(series % 404, text)
    assert "ti-2708" not in text


def _crashing_app(url: str) -> ServiceApp:
    router = APIRouter()

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    return create_service_app(
        settings=ServiceSettings(database_url=url, environment="test", log_json=False),
        title="crash",
        description="",
        version="0",
        routers=[router],
        migrations=MIGRATIONS,
        idempotency=idempotency_keys,
    )


async def test_an_unexpected_error_is_a_500_problem_without_internals(tmp_path) -> None:
    app = _crashing_app(f"sqlite+aiosqlite:///{tmp_path / 'crash.db'}")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        r = await c.get("/api/v1/boom", headers={"X-Request-ID": "crash-1"})
    await app.state.engine.dispose()
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["x-request-id"] == "crash-1"
    body = r.json()
    assert body["request_id"] == "crash-1"
    assert body["status"] == 500
    assert "hunter2" not in r.text and "Traceback" not in r.text and "RuntimeError" not in r.text


async def test_head_answers_with_the_headers_of_the_get_and_no_body(
    client: httpx.AsyncClient,
) -> None:
    get = await client.get("/api/v1/territories/ti-2708")
    head = await client.head("/api/v1/territories/ti-2708")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["etag"] == get.headers["etag"]
    assert head.headers["content-length"] == get.headers["content-length"]
    listed = await client.head("/api/v1/regions")
    assert listed.status_code == 200 and listed.headers["etag"]
