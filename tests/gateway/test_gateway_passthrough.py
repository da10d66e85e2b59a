"""The public namespace: every service path passes through unchanged, both ways."""

from __future__ import annotations

import httpx
from gateway_testing import API, FakeService, running_gateway

from gateway.proxy import ROUTES, RouteTable
from tdi_kit.testing import LiveServer, bearer


async def test_a_registry_read_passes_through_with_its_body_and_etag(
    registry_server: LiveServer,
) -> None:
    async with httpx.AsyncClient(base_url=registry_server.url) as direct:
        straight = await direct.get(f"{API}/territories/ti-2708")
    async with running_gateway(registry_url=registry_server.url) as (_, client):
        r = await client.get(f"{API}/territories/ti-2708")
        assert r.status_code == 200
        assert r.content == straight.content
        assert r.headers["etag"] == straight.headers["etag"]
        assert r.headers["content-type"] == "application/json"
        # The bytes as the registry sent them (compressed there, as httpx accepts br and gzip).
        assert r.headers["content-length"] == straight.headers["content-length"]
        assert r.headers.get("content-encoding") == straight.headers.get("content-encoding")
        assert len(r.headers.get_list("x-request-id")) == 1

        again = await client.get(
            f"{API}/territories/ti-2708", headers={"If-None-Match": r.headers["etag"]}
        )
        assert again.status_code == 304
        assert again.content == b""


async def test_the_callers_request_id_reaches_the_service_and_comes_back(
    fake: FakeService, fake_url: str
) -> None:
    async with running_gateway(registry_url=fake_url) as (_, client):
        r = await client.get(f"{API}/territories/ti-2708", headers={"X-Request-ID": "abc-123"})
        assert r.headers["x-request-id"] == "abc-123"
        assert fake.seen[-1]["headers"]["x-request-id"] == "abc-123"

        generated = await client.get(f"{API}/territories/ti-2708")
        rid = generated.headers["x-request-id"]
        assert len(rid) == 32
        assert fake.seen[-1]["headers"]["x-request-id"] == rid


async def test_a_list_link_points_at_the_gateways_public_url_not_the_service(
    registry_server: LiveServer,
) -> None:
    public = "https://api.territoires-industrie.example"
    async with running_gateway(registry_url=registry_server.url, public_base_url=public) as (
        _,
        client,
    ):
        r = await client.get(f"{API}/territories", params={"limit": 2, "phase": 2})
        assert r.status_code == 200
        assert len(r.json()["items"]) == 2
        link = r.headers["link"]
        assert link.startswith(f"<{public}{API}/territories?")
        assert 'rel="next"' in link
        nxt = await client.get(link[1 : link.index(">")].removeprefix(public))
        assert nxt.status_code == 200
        assert nxt.json()["items"][0]["code"] != r.json()["items"][0]["code"]


async def test_a_services_problem_passes_through_unchanged(registry_server: LiveServer) -> None:
    async with running_gateway(registry_url=registry_server.url) as (_, client):
        r = await client.get(f"{API}/territories/9999", headers={"X-Request-ID": "rid-404"})
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"
        problem = r.json()
        assert problem["status"] == 404
        assert problem["request_id"] == "rid-404"
        assert problem["instance"] == f"{API}/territories/9999"

        invalid = await client.get(f"{API}/territories", params={"limit": 5000})
        assert invalid.status_code == 422
        assert invalid.json()["errors"][0]["field"] == "limit"


async def test_csv_exports_stream_through(registry_server: LiveServer) -> None:
    async with running_gateway(registry_url=registry_server.url) as (_, client):
        r = await client.get(f"{API}/territories", params={"format": "csv", "limit": 1000})
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/csv")
        assert r.text.count("\n") > 150


async def test_headers_query_and_body_reach_the_service_as_sent(
    fake: FakeService, fake_url: str
) -> None:
    token = bearer("funding:write", org="bpifrance")
    async with running_gateway(funding_url=fake_url) as (_, client):
        r = await client.post(
            f"{API}/allocations?dry_run=1&x=%C3%A9",
            content=b'{"amount_cents": 100}',
            headers={
                **token,
                "Content-Type": "application/json",
                "Idempotency-Key": "k-1",
                "If-Match": '"v1"',
                "Connection": "keep-alive",
            },
        )
        assert r.status_code == 200
        seen = fake.seen[-1]
        assert seen["method"] == "POST"
        assert seen["path"] == f"{API}/allocations"
        assert seen["query"] == "dry_run=1&x=%C3%A9"
        assert seen["body"] == '{"amount_cents": 100}'
        headers = seen["headers"]
        assert headers["authorization"] == token["Authorization"]
        assert headers["idempotency-key"] == "k-1"
        assert headers["if-match"] == '"v1"'
        # The service is addressed by its own name, never by the caller's `Host`.
        assert headers["host"] == fake_url.removeprefix("http://")
        assert headers["x-forwarded-for"] == "127.0.0.1"
        assert headers["x-forwarded-proto"] == "http"
        assert headers["content-length"] == "21"
        # The service's own headers come back as it sent them.
        assert r.headers["etag"] == '"fake"'
        assert r.headers["link"] == '<http://x/next>; rel="next"'
        assert r.headers["x-custom"] == "1"


async def test_a_large_unsized_answer_streams_whole(fake: FakeService, fake_url: str) -> None:
    fake.mode = "stream"
    async with running_gateway(contracts_url=fake_url) as (_, client):
        r = await client.get(f"{API}/contracts", params={"format": "csv"})
        assert r.status_code == 200
        assert r.text.count("\n") == 200
        assert len(r.content) > 400_000


async def test_an_unknown_path_is_a_problem(fake: FakeService, fake_url: str) -> None:
    async with running_gateway(registry_url=fake_url) as (_, client):
        r = await client.get(f"{API}/no-such-thing")
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"
        assert fake.calls == 0


async def test_anonymous_writes_and_bad_tokens_stop_at_the_edge(
    fake: FakeService, fake_url: str
) -> None:
    async with running_gateway(registry_url=fake_url) as (_, client):
        anonymous = await client.post(f"{API}/territories", json={})
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"] == "Bearer"
        forged = await client.get(
            f"{API}/territories", headers={"Authorization": "Bearer not.a.token"}
        )
        assert forged.status_code == 401
        assert forged.json()["type"] == "urn:tdi:problem:unauthorized"
        wrong_scheme = await client.get(f"{API}/territories", headers={"Authorization": "Basic x"})
        assert wrong_scheme.status_code == 401
        assert fake.calls == 0
        # Anonymous reads are the services' to allow.
        assert (await client.get(f"{API}/territories")).status_code == 200
        assert fake.calls == 1


async def test_an_oversized_body_gets_413_at_the_edge(fake: FakeService, fake_url: str) -> None:
    async with running_gateway(registry_url=fake_url, max_body_bytes=1000) as (_, client):
        r = await client.post(f"{API}/territories", content=b"x" * 1001, headers=bearer("admin"))
        assert r.status_code == 413
        assert r.json()["status"] == 413
        assert fake.calls == 0


def test_every_service_path_is_routed_to_its_owner() -> None:
    from contracts.main import create_app as contracts_app
    from funding.main import create_app as funding_app
    from registry.main import create_app as registry_app

    table = RouteTable(ROUTES)
    for name, factory in (
        ("registry", registry_app),
        ("funding", funding_app),
        ("contracts", contracts_app),
    ):
        # Each service's event feed is served merged by the gateway, at the same path.
        paths = [
            p for p in factory().openapi()["paths"] if p.startswith(API) and p != f"{API}/events"
        ]
        assert paths, name
        assert {p: table.resolve(p) for p in paths} == dict.fromkeys(paths, name)
    assert table.resolve(f"{API}/territories/ti-2708/dossier") == "gateway"
    assert table.resolve(f"{API}/dashboard") == "gateway"
    assert table.resolve(f"{API}/events") == "gateway"
    assert table.resolve(f"{API}/territories/ti-2708/communes") == "registry"


async def test_head_and_metrics_name_the_service(fake: FakeService, fake_url: str) -> None:
    async with running_gateway(registry_url=fake_url) as (_, client):
        head = await client.head(f"{API}/territories/ti-2708")
        assert head.status_code == 200
        assert head.content == b""
        assert int(head.headers["content-length"]) > 0
        assert fake.seen[-1]["method"] == "HEAD"
        metrics = (await client.get("/metrics")).text
    assert 'route="/api/v1/* (registry)"' in metrics
    assert 'method="HEAD"' in metrics
