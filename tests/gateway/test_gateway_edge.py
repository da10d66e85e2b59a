"""Edge checks: tokens (secret, public key, JWKS), rate limits (memory, Redis), CORS."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from gateway_testing import API, Clock, FakeService, gateway_settings, running_gateway, set_clock
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.main import create_app
from tdi_kit import clock
from tdi_kit.testing import LiveServer, bearer

REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


needs_redis = pytest.mark.skipif(not redis_answers(), reason="no Redis answers on 127.0.0.1:6379")


# Rate limits ------------------------------------------------------------------------------------


async def test_each_caller_gets_its_quota_with_ratelimit_headers_then_429(
    fake: FakeService, fake_url: str
) -> None:
    async with running_gateway(registry_url=fake_url, rate_limit="3/minute") as (_, client):
        for remaining in (2, 1, 0):
            r = await client.get(f"{API}/regions")
            assert r.status_code == 200
            assert r.headers["ratelimit-limit"] == "3"
            assert r.headers["ratelimit-remaining"] == str(remaining)
            assert 0 < int(r.headers["ratelimit-reset"]) <= 60
            assert r.headers["ratelimit-policy"] == "3;w=60"
        over = await client.get(f"{API}/regions")
        assert over.status_code == 429
        assert over.headers["content-type"] == "application/problem+json"
        assert over.json()["type"] == "urn:tdi:problem:rate-limited"
        assert 0 < int(over.headers["retry-after"]) <= 60
        assert over.headers["ratelimit-remaining"] == "0"
        assert fake.calls == 3

        # A token's subject is another caller, with its own quota, even from the same address.
        mine = await client.get(f"{API}/regions", headers=bearer(sub="someone-else"))
        assert mine.status_code == 200
        assert mine.headers["ratelimit-remaining"] == "2"
        # Health and documentation are not counted.
        assert (await client.get("/livez")).status_code == 200
        metrics = (await client.get("/metrics")).text
        assert 'gateway_rate_limited_total{caller="address",service="gateway"} 1.0' in metrics


async def test_callers_are_told_apart_by_address_when_anonymous(
    fake: FakeService, fake_url: str
) -> None:
    app = create_app(gateway_settings(registry_url=fake_url, rate_limit="1/minute"))
    try:
        for address in ("192.0.2.1", "192.0.2.2"):
            transport = httpx.ASGITransport(app=app, client=(address, 5000))  # type: ignore[arg-type]
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                assert (await client.get(f"{API}/regions")).status_code == 200
                assert (await client.get(f"{API}/regions")).status_code == 429
    finally:
        await app.services.close()


async def test_several_limits_apply_and_the_tightest_is_reported(
    fake: FakeService, fake_url: str
) -> None:
    limits = "2/second;100/minute"
    async with running_gateway(registry_url=fake_url, rate_limit=limits) as (_, client):
        r = await client.get(f"{API}/regions")
        assert r.headers["ratelimit-limit"] == "2"
        assert r.headers["ratelimit-policy"] == "2;w=1, 100;w=60"


@needs_redis
async def test_replicas_share_their_counts_through_redis(fake: FakeService, fake_url: str) -> None:
    caller = bearer(sub=f"redis-{uuid.uuid4().hex}")
    settings: dict[str, Any] = {
        "registry_url": fake_url,
        "rate_limit": "3/minute",
        "redis_url": REDIS_URL,
    }
    async with (
        running_gateway(**settings) as (_, one),
        running_gateway(**settings) as (_, two),
    ):
        assert (await one.get(f"{API}/regions", headers=caller)).headers[
            "ratelimit-remaining"
        ] == "2"
        assert (await two.get(f"{API}/regions", headers=caller)).headers[
            "ratelimit-remaining"
        ] == "1"
        assert (await one.get(f"{API}/regions", headers=caller)).status_code == 200
        over = await two.get(f"{API}/regions", headers=caller)
        assert over.status_code == 429
        assert 0 < int(over.headers["retry-after"]) <= 60


async def test_a_rate_limit_store_that_is_down_lets_requests_by(
    fake: FakeService, fake_url: str, closed_url: str
) -> None:
    redis_down = closed_url.replace("http://", "redis://")
    async with running_gateway(
        registry_url=fake_url, rate_limit="1/minute", redis_url=redis_down
    ) as (_, client):
        for _ in range(3):
            r = await client.get(f"{API}/regions")
            assert r.status_code == 200
            assert "ratelimit-limit" not in r.headers
        metrics = (await client.get("/metrics")).text
        assert 'gateway_rate_limit_store_errors_total{service="gateway"} 3.0' in metrics


# Tokens -------------------------------------------------------------------------------------------


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _rs256(key: rsa.RSAPrivateKey, kid: str, sub: str = "oidc-user") -> str:
    claims = {"sub": sub, "scope": "funding:write", "exp": int(time.time()) + 600}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture(scope="module")
def jwks_server() -> Iterator[tuple[rsa.RSAPrivateKey, str]]:
    key = _rsa_key()
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwk.update({"kid": "key-1", "use": "sig", "alg": "RS256"})

    async def keys(_request: Any) -> JSONResponse:
        return JSONResponse({"keys": [jwk]})

    with LiveServer(Starlette(routes=[Route("/jwks.json", keys)])) as server:  # type: ignore[arg-type]
        yield key, f"{server.url}/jwks.json"


async def test_tokens_are_checked_against_an_oidc_providers_jwks(
    fake: FakeService, fake_url: str, jwks_server: tuple[rsa.RSAPrivateKey, str]
) -> None:
    key, jwks_url = jwks_server
    async with running_gateway(registry_url=fake_url, jwks_url=jwks_url, jwt_secret=None) as (
        _,
        client,
    ):
        token = _rs256(key, "key-1")
        r = await client.get(f"{API}/regions", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200
        assert fake.seen[-1]["headers"]["authorization"] == f"Bearer {token}"

        stranger = _rs256(_rsa_key(), "key-1")
        r = await client.get(f"{API}/regions", headers={"Authorization": f"Bearer {stranger}"})
        assert r.status_code == 401
        # With no shared secret configured, locally minted tokens are refused.
        assert (await client.get(f"{API}/regions", headers=bearer())).status_code == 401
        assert fake.calls == 1


async def test_tokens_are_checked_against_a_public_key_from_settings(
    fake: FakeService, fake_url: str
) -> None:
    key = _rsa_key()
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    async with running_gateway(registry_url=fake_url, jwt_public_key=pem.decode()) as (_, client):
        good = {"Authorization": f"Bearer {_rs256(key, 'k')}"}
        assert (await client.get(f"{API}/regions", headers=good)).status_code == 200
        bad = {"Authorization": f"Bearer {_rs256(_rsa_key(), 'k')}"}
        assert (await client.get(f"{API}/regions", headers=bad)).status_code == 401


async def test_an_expired_token_is_refused_even_after_it_was_accepted(
    fake: FakeService, fake_url: str
) -> None:
    from tdi_kit.auth import mint_token
    from tdi_kit.settings import DEV_JWT_SECRET

    with clock.frozen(dt.datetime.now(dt.UTC)) as advance:
        token = mint_token(secret=DEV_JWT_SECRET, sub="brief", ttl_seconds=1)
        headers = {"Authorization": f"Bearer {token}"}
        async with running_gateway(registry_url=fake_url) as (_, client):
            assert (await client.get(f"{API}/regions", headers=headers)).status_code == 200
            advance(dt.timedelta(seconds=1))
            assert (await client.get(f"{API}/regions", headers=headers)).status_code == 401


# CORS ---------------------------------------------------------------------------------------------

ORIGIN = "https://tableau.territoires-industrie.example"


OTHER = "https://une-carte.example"


def _exposed(r: httpx.Response) -> set[str]:
    return {h.strip().lower() for h in r.headers["access-control-expose-headers"].split(",")}


async def test_anonymous_reads_are_open_to_any_origin_with_their_headers_exposed(
    fake: FakeService, fake_url: str
) -> None:
    async with running_gateway(registry_url=fake_url, cors_origins=[ORIGIN]) as (_, client):
        for origin in (OTHER, ORIGIN, None):
            headers = {"Origin": origin} if origin else {}
            r = await client.get(f"{API}/territories", headers=headers)
            assert r.status_code == 200
            assert r.headers["access-control-allow-origin"] == "*"
            assert "access-control-allow-credentials" not in r.headers
            assert {
                "etag",
                "link",
                "location",
                "x-request-id",
                "ratelimit-remaining",
                "retry-after",
                "x-partial",
            } <= _exposed(r)
        # The gateway's own answers too: a problem, the document.
        missing = await client.get(f"{API}/territories/ti-2708/nothing", headers={"Origin": OTHER})
        assert missing.headers["access-control-allow-origin"] == "*"
        document = await client.get("/openapi.json", headers={"Origin": OTHER})
        assert document.headers["access-control-allow-origin"] == "*"


async def test_preflights_of_anonymous_reads_are_answered_for_any_origin_on_every_path(
    fake: FakeService, fake_url: str
) -> None:
    async with running_gateway(registry_url=fake_url) as (_, client):
        for path in (f"{API}/territories", f"{API}/territories/ti-2708/dossier", "/openapi.json"):
            preflight = await client.options(
                path,
                headers={
                    "Origin": OTHER,
                    "Access-Control-Request-Method": "GET",
                    "Access-Control-Request-Headers": "If-None-Match, X-Request-ID",
                },
            )
            assert preflight.status_code == 204, path
            assert preflight.headers["access-control-allow-origin"] == "*"
            assert preflight.headers["access-control-allow-methods"] == "GET, HEAD"
            assert (
                preflight.headers["access-control-allow-headers"] == "if-none-match, x-request-id"
            )
            assert int(preflight.headers["access-control-max-age"]) > 0
        # A plain OPTIONS (no preflight) still reaches the service, which says what it allows.
        assert fake.calls == 0
        await client.options(f"{API}/territories")
        assert fake.calls == 1


async def test_calls_with_a_token_are_answered_only_for_the_configured_origins(
    fake: FakeService, fake_url: str
) -> None:
    token = bearer("registry:write")
    async with running_gateway(registry_url=fake_url, cors_origins=[ORIGIN]) as (_, client):
        for method, ask in (("PATCH", "authorization, if-match"), ("GET", "authorization")):
            preflight = await client.options(
                f"{API}/territories/ti-2708",
                headers={
                    "Origin": ORIGIN,
                    "Access-Control-Request-Method": method,
                    "Access-Control-Request-Headers": ask,
                },
            )
            assert preflight.status_code == 204
            assert preflight.headers["access-control-allow-origin"] == ORIGIN
            assert preflight.headers["access-control-allow-credentials"] == "true"
            assert method in preflight.headers["access-control-allow-methods"]
            assert "Origin" in preflight.headers["vary"]

            refused = await client.options(
                f"{API}/territories/ti-2708",
                headers={
                    "Origin": OTHER,
                    "Access-Control-Request-Method": method,
                    "Access-Control-Request-Headers": ask,
                },
            )
            assert refused.status_code == 403
            assert refused.headers["content-type"] == "application/problem+json"
            assert "GATEWAY_CORS_ORIGINS" in refused.json()["detail"]
            assert "access-control-allow-origin" not in refused.headers
        assert fake.calls == 0

        listed = await client.get(f"{API}/regions", headers={"Origin": ORIGIN, **token})
        assert listed.headers["access-control-allow-origin"] == ORIGIN
        assert listed.headers["access-control-allow-credentials"] == "true"
        assert "x-partial" in _exposed(listed)
        unlisted = await client.get(f"{API}/regions", headers={"Origin": OTHER, **token})
        assert "access-control-allow-origin" not in unlisted.headers
        assert "Origin" in unlisted.headers["vary"]


async def test_a_window_that_expires_gives_the_caller_its_quota_back(
    fake: FakeService, fake_url: str
) -> None:
    async with running_gateway(registry_url=fake_url, rate_limit="2/second") as (app, client):
        set_clock(app, clock := Clock())
        assert [(await client.get(f"{API}/regions")).status_code for _ in range(3)] == [
            200,
            200,
            429,
        ]
        clock.advance(0.9)
        assert (await client.get(f"{API}/regions")).status_code == 429
        clock.advance(0.2)
        r = await client.get(f"{API}/regions")
        assert r.status_code == 200
        assert r.headers["ratelimit-remaining"] == "1"
        # Windows of callers gone quiet are swept from memory, at most once a second.
        assert app.limiter is not None
        storage = app.limiter.storage
        storage.expirations["LIMITER/gone"] = 0.0
        storage.storage["LIMITER/gone"] = 1
        storage.swept = 0.0
        await client.get(f"{API}/regions")
        await asyncio.sleep(0.05)
        assert "LIMITER/gone" not in storage.storage
