"""The edge is the only way in (issue 8): path spellings, internal routes, the real client,
forged tokens in the rate limit, hop-by-hop headers, headers built on the public URL, answers
the gateway cannot read, and over-long request lines."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from gateway_testing import API, FakeService, gateway_settings, running_gateway

from gateway.main import GatewayApp, create_app
from tdi_kit.testing import LiveServer, bearer

ROOT = Path(__file__).resolve().parents[2]


# Serving the gateway as deployments do: over HTTP, uvicorn's own proxy headers off -------------


@asynccontextmanager
async def served_gateway(**overrides: Any) -> AsyncIterator[tuple[GatewayApp, int]]:
    app = create_app(gateway_settings(**overrides))
    live = LiveServer(app)  # type: ignore[arg-type]
    # As `--no-proxy-headers` does in docker-compose.yml and `tdi up`: the gateway alone decides
    # whom to believe about the client's address (`trusted_proxies`).
    live.server.config.proxy_headers = False
    with live:
        yield app, live.port


async def raw_request(
    port: int, target: bytes, *, method: bytes = b"GET", headers: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    """Send `target` on the request line byte for byte: clients normalise what this must not."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        method
        + b" "
        + target
        + b" HTTP/1.1\r\nHost: gateway.test\r\nConnection: close\r\n"
        + headers
        + b"\r\n"
    )
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), timeout=10)
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    parsed = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        parsed[name.strip().lower()] = value.strip()
    return status, parsed, body


# Path spellings ---------------------------------------------------------------------------------

SPELLINGS = [
    b"/api/v1/../metrics",
    b"/api/v1/%2e%2e/readyz",
    b"/api/v1/%2E%2E/readyz",
    b"/api/v1/%2e./livez",
    b"/api/v1/.%2E/docs",
    b"/api/v1/territories/../../../metrics",
    b"/api/v1/territories/%2e%2e/%2e%2e/%2e%2e/readyz",
    b"/api/v1/territories/%2E%2e/%2e%2E/%2e%2e/openapi.json",
    b"/api/v1/territories/..%2f..%2f..%2freadyz",
    b"/api/v1/territories/..%2F..%2F..%2Fmetrics",
    b"/api/v1/territories%2Fti-2708",
    b"/api/v1/territories%2fti-2708",
    b"/api/v1/territories/%5c..%5c..%5cmetrics",
    b"/api/v1//territories",
    b"//api/v1/territories",
    b"///api/v1/territories",
    b"/api/v1/./territories",
    b"/api/v1/%2e/territories",
    b"/api/v1/territories/",
    b"/api/v1/territories/ti-2708/.",
    b"/api/v1/territories/ti-2708/..",
    b"/api/v1/territories/ti-2708/%2e%2e",
    b"/api/v1/territories/ti-2708%00",
    b"/api/v1/territories/ti-2708%",
    b"/api/v1/territories/ti-2708%zz",
    b"/metrics/../api/v1/territories",
    b"/api/v1/territories/%252e%252e/%252e%252e/%252e%252e/readyz",
    b"/api/v1/territories/..;/..;/..;/metrics",
    b"/api/v1/territories/ti-2708?next=/../../metrics",
    b"/api/v1/territories/ti-%32708",
    b"/API/v1/territories",
    b"/api/v1/funding/../../readyz",
    b"/api/v1/contracts/%2e%2e/%2e%2e/%2e%2e/livez",
]
# What a service's internal routes answer, and nothing public does.
INTERNALS = (b"http_requests_total", b'"migrations"', b"swagger", b'"openapi"', b'"status":"ok"')


@pytest.fixture(scope="module")
async def spelled_gateway(
    fake_server: tuple[FakeService, LiveServer],
) -> AsyncIterator[tuple[GatewayApp, int]]:
    url = fake_server[1].url
    async with served_gateway(
        registry_url=url, funding_url=url, contracts_url=url, rate_limit="100000/minute"
    ) as served:
        yield served


@pytest.mark.parametrize("target", SPELLINGS, ids=lambda t: t.decode())
async def test_every_path_spelling_is_refused_or_passes_the_edge_first(
    spelled_gateway: tuple[GatewayApp, int], fake: FakeService, target: bytes
) -> None:
    _, port = spelled_gateway
    status, headers, body = await raw_request(port, target)
    if fake.calls == 0:
        # Refused before routing, as a problem with the request's id.
        assert status in (400, 404), (status, body)
        assert headers["content-type"] == "application/problem+json"
        problem = orjson.loads(body)
        assert problem["status"] == status
        assert problem["request_id"] == headers["x-request-id"]
        assert "ratelimit-limit" not in headers or status == 404
    else:
        # It reached a service: only after the edge counted it, and only in canonical form,
        # under the public namespace (never a service's own /metrics, /readyz, /docs, ...).
        assert fake.calls == 1
        assert headers["ratelimit-limit"] == "100000"
        assert headers["x-request-id"]
        seen = fake.seen[-1]
        path = seen["path"]
        assert path.startswith(f"{API}/")
        assert "//" not in path and not path.endswith("/")
        assert all(segment not in (".", "..") for segment in path.split("/"))
        assert seen["headers"]["x-request-id"] == headers["x-request-id"]


async def test_a_canonical_path_passes_and_is_forwarded_as_sent(
    spelled_gateway: tuple[GatewayApp, int], fake: FakeService
) -> None:
    _, port = spelled_gateway
    status, headers, _ = await raw_request(port, b"/api/v1/territories/ti-2708?limit=2")
    assert status == 200
    assert headers["ratelimit-limit"] == "100000"
    assert fake.seen[-1]["path"] == f"{API}/territories/ti-2708"


@pytest.mark.parametrize(
    "target",
    [
        b"/api/v1/territories/../../../metrics",
        b"/api/v1/territories/%2e%2e/%2e%2e/%2e%2e/readyz",
        b"/api/v1/territories/%2E%2E/%2E%2E/%2E%2E/openapi.json",
        b"/api/v1/territories/..%2f..%2f..%2fdocs",
        b"/api/v1/funding/%2e%2e/%2e%2e/livez",
        b"/api/v1/contracts/../../readyz",
        b"//readyz",
    ],
    ids=lambda t: t.decode(),
)
async def test_no_public_path_reaches_a_real_services_internal_routes(
    suite: dict[str, str], target: bytes
) -> None:
    async with served_gateway(**suite) as (_, port):
        status, headers, body = await raw_request(port, target)
    assert status in (400, 404)
    assert headers["content-type"] == "application/problem+json"
    assert not any(marker in body for marker in INTERNALS)


# Over-long request lines, and answers the gateway cannot read -----------------------------------


async def test_a_request_target_past_the_limit_is_414_at_the_gateway(
    fake: FakeService, fake_url: str
) -> None:
    async with running_gateway(registry_url=fake_url, max_url_bytes=2048) as (_, client):
        ok = await client.get(f"{API}/territories", params={"q": "x" * 1900})
        assert ok.status_code == 200
        r = await client.get(f"{API}/territories", params={"q": "x" * 2100})
        assert r.status_code == 414
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["type"] == "urn:tdi:problem:uri-too-long"
        assert "2048" in r.json()["detail"]
        assert fake.calls == 1
    # The default limit is documented: 8 KiB.
    assert gateway_settings().max_url_bytes == 8192


async def test_an_answer_the_gateway_cannot_parse_does_not_open_the_breaker(
    fake: FakeService, fake_url: str
) -> None:
    async with running_gateway(registry_url=fake_url, breaker_failures=2) as (app, client):
        fake.mode = "huge-header"
        for _ in range(5):
            r = await client.get(f"{API}/regions")
            assert r.status_code == 502
            assert r.json()["service"] == "registry"
            assert "could not read" in r.json()["detail"]
        assert app.services.registry.breaker.state == "closed"
        # The aggregates' reads treat it the same way.
        for _ in range(3):
            with pytest.raises(Exception) as refused:
                await app.services.registry.get_json(
                    "/api/v1/regions", deadline=time.monotonic() + 2
                )
            assert getattr(refused.value, "status", None) == 502
        assert app.services.registry.breaker.state == "closed"
        fake.mode = "ok"
        assert (await client.get(f"{API}/regions")).status_code == 200


async def test_a_long_unknown_parameter_is_refused_without_opening_the_breaker(
    registry_server: LiveServer,
) -> None:
    # Echoed into `Link`, 7 KB of junk made an answer the gateway's parser refuses (a 502), and
    # a few of them opened the registry's breaker for every caller. Now the registry refuses
    # the parameter (400, naming it, not echoing it) and the breaker stays closed.
    async with running_gateway(registry_url=registry_server.url, breaker_failures=2) as (
        app,
        client,
    ):
        for _ in range(3):
            r = await client.get(
                f"{API}/territories",
                params=[("limit", "2"), ("phase", "2"), ("junk", "j" * 7000)],
            )
            assert r.status_code == 400
            assert [e["field"] for e in r.json()["errors"]] == ["junk"]
            assert "jjjj" not in r.text and "link" not in r.headers
        assert app.services.registry.breaker.state == "closed"
        r = await client.get(f"{API}/territories", params=[("limit", "2"), ("phase", "2")])
        link = r.headers["link"]
        query = parse_qs(urlsplit(link[1 : link.index(">")]).query)
        assert query == {"limit": ["2"], "phase": ["2"], "cursor": [r.json()["next_cursor"]]}


# Headers: hop-by-hop, and Link / Location on the public URL -------------------------------------


async def test_headers_named_in_connection_are_hop_by_hop_both_ways(
    fake: FakeService, fake_url: str
) -> None:
    async with running_gateway(funding_url=fake_url) as (_, client):
        r = await client.get(
            f"{API}/envelopes",
            headers={
                "Connection": "keep-alive, X-Internal-Note",
                "X-Internal-Note": "for the gateway only",
                "X-Kept": "1",
            },
        )
        assert r.status_code == 200
        seen = fake.seen[-1]["headers"]
        assert "x-internal-note" not in seen
        assert seen["x-kept"] == "1"
        fake.mode = "hop"
        r = await client.get(f"{API}/envelopes")
        assert r.status_code == 200
        assert "x-hop-note" not in r.headers


async def test_link_and_location_are_built_on_the_public_base_url_never_the_callers_host(
    fake: FakeService, fake_url: str, registry_server: LiveServer
) -> None:
    public = "https://api.territoires-industrie.example/tdi"
    evil = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
    async with running_gateway(
        funding_url=fake_url, registry_url=registry_server.url, public_base_url=public + "/"
    ) as (_, client):
        fake.mode = "created"
        r = await client.post(
            f"{API}/allocations", json={}, headers={**bearer("funding:write"), **evil}
        )
        assert r.status_code == 201
        assert r.headers["location"] == f"{public}{API}/allocations/1"
        assert r.headers["link"] == f'<{public}/api/v1/x?page=2>; rel="next"'
        listed = await client.get(f"{API}/territories", params={"limit": 2}, headers=evil)
        assert listed.headers["link"].startswith(f"<{public}{API}/territories?")
        assert "evil" not in listed.headers["link"]
    # Without a public base URL, a relative reference: still nothing of the caller's Host.
    async with running_gateway(registry_url=registry_server.url) as (_, client):
        listed = await client.get(f"{API}/territories", params={"limit": 2}, headers=evil)
        assert listed.headers["link"].startswith(f"<{API}/territories?")


def test_the_public_base_url_must_be_an_absolute_http_url() -> None:
    for bad in ("api.example.org", "ftp://api.example.org", "https://api.example.org/?x=1"):
        with pytest.raises(ValueError, match="public_base_url"):
            gateway_settings(public_base_url=bad)
    assert gateway_settings(public_base_url="").public_base_url is None


# Rate limits: forged tokens, and the real client ------------------------------------------------


async def test_a_token_that_fails_verification_counts_against_the_callers_rate_limit(
    fake: FakeService, fake_url: str
) -> None:
    forged = {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.forged"}
    async with running_gateway(registry_url=fake_url, rate_limit="4/minute") as (_, client):
        first = await client.get(f"{API}/regions")
        assert first.headers["ratelimit-remaining"] == "3"
        for remaining in ("2", "1", "0"):
            r = await client.get(f"{API}/regions", headers=forged)
            assert r.status_code == 401
            assert r.headers["ratelimit-remaining"] == remaining
        # The forged tokens used up the address's quota: the next request is over it.
        over = await client.get(f"{API}/regions", headers=forged)
        assert over.status_code == 429
        assert (await client.get(f"{API}/regions")).status_code == 429
        assert fake.calls == 1


async def test_an_anonymous_write_counts_against_the_callers_rate_limit_too(
    fake: FakeService, fake_url: str
) -> None:
    async with running_gateway(funding_url=fake_url, rate_limit="2/minute") as (_, client):
        r = await client.post(f"{API}/allocations", json={})
        assert r.status_code == 401
        assert r.headers["ratelimit-remaining"] == "1"


def _client(app: GatewayApp, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 5000))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://t")


async def test_x_forwarded_for_from_an_untrusted_client_does_not_reset_its_bucket(
    fake: FakeService, fake_url: str
) -> None:
    app = create_app(
        gateway_settings(registry_url=fake_url, rate_limit="3/minute", trusted_proxies="10.0.0.1")
    )
    try:
        async with _client(app, "192.0.2.50") as client:
            for i, remaining in enumerate(("2", "1", "0")):
                r = await client.get(
                    f"{API}/regions", headers={"X-Forwarded-For": f"198.51.100.{i}"}
                )
                assert r.headers["ratelimit-remaining"] == remaining
            r = await client.get(f"{API}/regions", headers={"X-Forwarded-For": "198.51.100.99"})
            assert r.status_code == 429
        # What the service is told is the address the gateway saw, not the client's claim.
        assert {seen["headers"]["x-forwarded-for"] for seen in fake.seen} == {"192.0.2.50"}
    finally:
        await app.services.close()


async def test_x_forwarded_for_from_a_configured_proxy_names_the_real_client(
    fake: FakeService, fake_url: str
) -> None:
    app = create_app(
        gateway_settings(
            registry_url=fake_url, rate_limit="2/minute", trusted_proxies="10.0.0.0/8, 192.0.2.9"
        )
    )
    try:
        async with _client(app, "10.1.2.3") as proxy:
            # Two clients behind the same proxy have a bucket each.
            for client_address in ("198.51.100.1", "198.51.100.2"):
                hops = {"X-Forwarded-For": f"{client_address}, 192.0.2.9"}
                assert (await proxy.get(f"{API}/regions", headers=hops)).headers[
                    "ratelimit-remaining"
                ] == "1"
                assert fake.seen[-1]["headers"]["x-forwarded-for"] == client_address
            # What the client wrote left of the last untrusted hop proves nothing.
            spoofed = {"X-Forwarded-For": "203.0.113.7, 198.51.100.1, 192.0.2.9"}
            r = await proxy.get(f"{API}/regions", headers=spoofed)
            assert r.headers["ratelimit-remaining"] == "0"
            assert (await proxy.get(f"{API}/regions", headers=spoofed)).status_code == 429
            # No header from the proxy: the proxy itself is the client.
            assert (await proxy.get(f"{API}/regions")).headers["ratelimit-remaining"] == "1"
    finally:
        await app.services.close()


async def test_over_http_x_forwarded_for_from_an_untrusted_peer_changes_nothing(
    fake: FakeService, fake_url: str
) -> None:
    async with served_gateway(registry_url=fake_url, rate_limit="2/minute") as (_, port):
        remaining = []
        for i in range(3):
            status, headers, _ = await raw_request(
                port, b"/api/v1/regions", headers=f"X-Forwarded-For: 198.51.100.{i}\r\n".encode()
            )
            remaining.append((status, headers.get("ratelimit-remaining")))
        assert remaining == [(200, "1"), (200, "0"), (429, "0")]


def test_trusted_proxies_are_addresses_or_networks() -> None:
    assert gateway_settings().trusted_proxies == []
    with pytest.raises(ValueError, match="not an address"):
        gateway_settings(trusted_proxies="10.0.0.0/8,proxy.local")


def test_every_way_of_starting_the_gateway_turns_uvicorns_proxy_headers_off() -> None:
    # uvicorn believes `X-Forwarded-For` from 127.0.0.1 by default, before the gateway sees the
    # request: a local client could pick its own rate-limit bucket. The gateway decides alone.
    # Containers and `tdi up` start every app with `tdi serve`, which turns them off for it.
    compose = (ROOT / "docker-compose.yml").read_text()
    assert '["tdi", "serve", "gateway"' in compose
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert '"tdi", "serve", "gateway"' in dockerfile[dockerfile.index("CMD") :]
    cli = (ROOT / "cli/src/tdi_cli/serving.py").read_text()
    assert 'proxy_headers=service.name != "gateway"' in cli
    assert '"serve",' in cli[cli.index("def cmd_up") : cli.index("def cmd_serve")]


# Tokens at the gateway in production ------------------------------------------------------------


async def test_a_production_gateway_with_only_a_public_key_refuses_every_hs_token(
    fake: FakeService, fake_url: str
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    async with running_gateway(
        registry_url=fake_url, environment="production", jwt_public_key=pem.decode()
    ) as (app, client):
        assert app.settings.jwt_secret is None
        r = await client.get(f"{API}/regions", headers=bearer("admin"))
        assert r.status_code == 401
        assert "symmetric" in r.json()["detail"]
        assert fake.calls == 0
