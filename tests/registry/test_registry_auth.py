"""Reads are anonymous; every write needs a valid bearer token with `registry:write` or `admin`."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import jwt
import pytest
from registry_testing import API, current_etag

from tdi_kit.auth import mint_token
from tdi_kit.settings import DEV_JWT_SECRET
from tdi_kit.testing import bearer

NEW_TERRITORY = {"code": "ti-9901", "name": "Val de Saône", "phase": 2, "members": ["200070308"]}


def _token(**claims: object) -> dict[str, str]:
    now = int(time.time())
    payload = {"sub": "someone", "scope": "registry:write", "iat": now, "exp": now + 60, **claims}
    return {"Authorization": "Bearer " + jwt.encode(payload, DEV_JWT_SECRET, algorithm="HS256")}


async def _nothing_created(client: httpx.AsyncClient) -> bool:
    return (await client.get(f"{API}/territories/ti-9901")).status_code == 404


async def test_a_write_without_a_token_is_401_with_a_bearer_challenge(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post(f"{API}/territories", json=NEW_TERRITORY)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.headers["content-type"] == "application/problem+json"
    assert "registry:write" in r.json()["detail"]
    assert await _nothing_created(client)


async def test_every_write_route_is_closed_to_anonymous_callers(
    client: httpx.AsyncClient,
) -> None:
    base = f"{API}/territories/ti-2708"
    etag = {"If-Match": await current_etag(client, "ti-2708")}
    for method, url, payload in [
        ("POST", f"{API}/territories", NEW_TERRITORY),
        ("PATCH", base, {"name": "X"}),
        ("POST", f"{base}/archive", None),
        ("PUT", f"{base}/members/200070308", None),
        ("DELETE", f"{base}/members/200069052", None),
        ("PUT", f"{base}/governance", {}),
    ]:
        r = await client.request(method, url, json=payload, headers=etag)
        assert r.status_code == 401, (method, url)
        assert r.headers["www-authenticate"] == "Bearer"
    assert await current_etag(client, "ti-2708") == etag["If-Match"]


async def test_a_token_without_the_scope_is_403(client: httpx.AsyncClient) -> None:
    for scopes in [(), ("funding:write",), ("registry:read",), ("registry:write:extra",)]:
        r = await client.post(f"{API}/territories", json=NEW_TERRITORY, headers=bearer(*scopes))
        assert r.status_code == 403, scopes
        assert r.json()["type"] == "urn:tdi:problem:forbidden"
    assert await _nothing_created(client)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# Built when the test runs, so that "valid for a minute" holds however long collection took.
INVALID_TOKENS: dict[str, Callable[[], dict[str, str]]] = {
    "expired": lambda: _token(exp=int(time.time()) - 30),
    "signed with another key": lambda: _bearer(
        mint_token(secret="another-secret-of-more-than-32-bytes", sub="x", scopes=["admin"])
    ),
    "without an expiry": lambda: _bearer(
        jwt.encode({"sub": "x", "scope": "admin"}, DEV_JWT_SECRET, algorithm="HS256")
    ),
    "without a subject": lambda: _token(sub=None),
    "unsigned": lambda: _bearer(
        jwt.encode(
            {"sub": "x", "scope": "admin", "exp": int(time.time()) + 60}, None, algorithm="none"
        )
    ),
    "not a JWT": lambda: _bearer("not.a.jwt"),
    "empty": lambda: _bearer(""),
    "another scheme": lambda: {"Authorization": "Basic YWRtaW46YWRtaW4="},
}


@pytest.mark.parametrize("label", INVALID_TOKENS)
async def test_an_invalid_token_is_401(client: httpx.AsyncClient, label: str) -> None:
    r = await client.post(f"{API}/territories", json=NEW_TERRITORY, headers=INVALID_TOKENS[label]())
    assert r.status_code == 401, label
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.headers["content-type"] == "application/problem+json"
    assert await _nothing_created(client)


async def test_the_admin_scope_may_write_the_registry(client: httpx.AsyncClient) -> None:
    r = await client.post(f"{API}/territories", json=NEW_TERRITORY, headers=bearer("admin"))
    assert r.status_code == 201
    assert not await _nothing_created(client)


async def test_the_write_scope_among_others_may_write_the_registry(
    client: httpx.AsyncClient,
) -> None:
    headers = bearer("funding:write", "registry:write", org="anct")
    r = await client.post(f"{API}/territories", json=NEW_TERRITORY, headers=headers)
    assert r.status_code == 201


async def test_reads_need_no_token(client: httpx.AsyncClient) -> None:
    for path in ["/territories/ti-2708", "/territories", "/regions", "/territory-outlines"]:
        assert (await client.get(API + path)).status_code == 200, path
