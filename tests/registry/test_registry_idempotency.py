"""`Idempotency-Key` on POST: a retry replays the first answer instead of acting twice."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import httpx
import pytest
from registry_testing import API, current_etag, read_all
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from registry.models import idempotency_keys
from tdi_kit.app import ServiceApp
from tdi_kit.auth import Caller, mint_token
from tdi_kit.idempotency import principal_of
from tdi_kit.keylocks import lock_id
from tdi_kit.settings import DEV_JWT_SECRET
from tdi_kit.testing import bearer

NEW_TERRITORY = {"code": "ti-9901", "name": "Val de Saône", "phase": 2, "members": ["200070308"]}


async def _post(
    client: httpx.AsyncClient, key: str, payload: dict, *, sub: str = "editor"
) -> httpx.Response:
    headers = {**bearer("registry:write", sub=sub), "Idempotency-Key": key}
    return await client.post(f"{API}/territories", json=payload, headers=headers)


async def test_a_retried_create_replays_the_first_answer_and_creates_once(
    client: httpx.AsyncClient,
) -> None:
    first = await _post(client, "create-9901", NEW_TERRITORY)
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    retry = await _post(client, "create-9901", NEW_TERRITORY)
    assert retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.content == first.content
    for header in ("content-type", "location", "etag"):
        assert retry.headers[header] == first.headers[header], header
    # Once: the version is still the first, and the territory is listed once.
    read = await client.get(f"{API}/territories/ti-9901")
    assert read.json()["version"] == 1
    assert read.headers["etag"] == first.headers["etag"]
    found, _ = await read_all(client, f"{API}/territories", q="val de saone")
    assert [t["code"] for t in found] == ["ti-9901"]


async def test_without_a_key_a_second_create_is_a_conflict(client: httpx.AsyncClient) -> None:
    headers = bearer("registry:write")
    assert (
        await client.post(f"{API}/territories", json=NEW_TERRITORY, headers=headers)
    ).status_code == 201
    again = await client.post(f"{API}/territories", json=NEW_TERRITORY, headers=headers)
    assert again.status_code == 409
    assert "idempotent-replayed" not in again.headers


async def test_a_refusal_is_replayed_too(client: httpx.AsyncClient) -> None:
    taken = {**NEW_TERRITORY, "members": ["200065647"]}
    first = await _post(client, "conflicting", taken)
    assert first.status_code == 409
    # The groupement is freed meanwhile; the retry still gets the first answer.
    etag = await current_etag(client, "ti-2708")
    freed = await client.delete(
        f"{API}/territories/ti-2708/members/200065647",
        headers={**bearer("registry:write"), "If-Match": etag},
    )
    assert freed.status_code == 200
    retry = await _post(client, "conflicting", taken)
    assert retry.status_code == 409
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json() == first.json()
    assert retry.headers["content-type"] == "application/problem+json"
    assert (await client.get(f"{API}/territories/ti-9901")).status_code == 404


async def test_the_same_key_with_another_body_is_422(client: httpx.AsyncClient) -> None:
    assert (await _post(client, "reused", NEW_TERRITORY)).status_code == 201
    other = await _post(client, "reused", {**NEW_TERRITORY, "code": "ti-9902"})
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert "Idempotency-Key" in other.json()["detail"]
    assert (await client.get(f"{API}/territories/ti-9902")).status_code == 404


async def test_the_same_key_on_another_route_is_422(client: httpx.AsyncClient) -> None:
    assert (await _post(client, "reused", NEW_TERRITORY)).status_code == 201
    r = await client.post(
        f"{API}/territories/ti-9901/archive",
        headers={
            **bearer("registry:write", sub="editor"),
            "Idempotency-Key": "reused",
            "If-Match": await current_etag(client, "ti-9901"),
        },
    )
    assert r.status_code == 422
    assert (await client.get(f"{API}/territories/ti-9901")).json()["status"] == "active"


async def test_a_key_belongs_to_its_caller(client: httpx.AsyncClient) -> None:
    mine = await _post(client, "shared-key", NEW_TERRITORY, sub="alice")
    assert mine.status_code == 201
    # Bob's request with the same key is his own: neither a replay of Alice's nor a 422.
    theirs = await _post(
        client, "shared-key", {**NEW_TERRITORY, "code": "ti-9902", "members": []}, sub="bob"
    )
    assert theirs.status_code == 201
    assert "idempotent-replayed" not in theirs.headers
    assert theirs.json()["code"] == "ti-9902"
    again = await _post(client, "shared-key", NEW_TERRITORY, sub="bob")
    assert again.status_code == 422


async def test_an_over_long_or_empty_key_is_400(client: httpx.AsyncClient) -> None:
    for key in ("k" * 256, ""):
        r = await _post(client, key, NEW_TERRITORY)
        assert r.status_code == 400, len(key)
        assert r.headers["content-type"] == "application/problem+json"
        assert "Idempotency-Key" in r.json()["detail"]
    assert (await client.get(f"{API}/territories/ti-9901")).status_code == 404
    assert (await _post(client, "k" * 255, NEW_TERRITORY)).status_code == 201


async def test_an_unauthenticated_attempt_does_not_take_the_key(client: httpx.AsyncClient) -> None:
    r = await client.post(
        f"{API}/territories", json=NEW_TERRITORY, headers={"Idempotency-Key": "first-try"}
    )
    assert r.status_code == 401
    forbidden = await client.post(
        f"{API}/territories",
        json=NEW_TERRITORY,
        headers={**bearer("funding:write", sub="editor"), "Idempotency-Key": "first-try"},
    )
    assert forbidden.status_code == 403
    ok = await _post(client, "first-try", NEW_TERRITORY)
    assert ok.status_code == 201
    assert "idempotent-replayed" not in ok.headers


# The caller as a whole, and authorisation before any replay (issue 8) ------------------------


def _token(*scopes: str, sub: str = "alice", org: str | None = None, iss: str | None = None):
    token = mint_token(secret=DEV_JWT_SECRET, sub=sub, org=org, scopes=scopes, issuer=iss)
    return {"Authorization": f"Bearer {token}"}


async def _post_as(client: httpx.AsyncClient, token: dict, key: str, payload: dict):
    return await client.post(
        f"{API}/territories", json=payload, headers={**token, "Idempotency-Key": key}
    )


async def test_another_organisations_token_with_the_same_subject_gets_no_replay(
    client: httpx.AsyncClient,
) -> None:
    first = await _post_as(
        client, _token("registry:write", org="bpifrance"), "org-key", NEW_TERRITORY
    )
    assert first.status_code == 201
    # Same subject, another organisation, same key and body: its own processing (the territory
    # exists: 409), never the first caller's answer.
    other = await _post_as(
        client, _token("registry:write", org="banque-des-territoires"), "org-key", NEW_TERRITORY
    )
    assert other.status_code == 409, other.text
    assert "idempotent-replayed" not in other.headers
    # A token that names no organisation is a third caller.
    bare = await _post_as(
        client,
        _token("registry:write"),
        "org-key",
        {**NEW_TERRITORY, "code": "ti-9902", "members": []},
    )
    assert bare.status_code == 201 and "idempotent-replayed" not in bare.headers
    again = await _post_as(
        client, _token("registry:write", org="bpifrance"), "org-key", NEW_TERRITORY
    )
    assert again.headers["idempotent-replayed"] == "true"


async def test_another_issuers_token_with_the_same_subject_gets_no_replay(
    client: httpx.AsyncClient,
) -> None:
    idp_a = _token("registry:write", org="bpifrance", iss="https://idp-a.example")
    idp_b = _token("registry:write", org="bpifrance", iss="https://idp-b.example")
    assert (await _post_as(client, idp_a, "iss-key", NEW_TERRITORY)).status_code == 201
    other = await _post_as(client, idp_b, "iss-key", NEW_TERRITORY)
    assert other.status_code == 409 and "idempotent-replayed" not in other.headers
    assert (await _post_as(client, idp_a, "iss-key", NEW_TERRITORY)).headers[
        "idempotent-replayed"
    ] == "true"


async def test_the_key_is_stored_under_a_digest_of_the_identity_not_the_subject(
    client: httpx.AsyncClient, registry_app: ServiceApp
) -> None:
    assert (
        await _post_as(client, _token("registry:write", sub="alice@bpi"), "digest", NEW_TERRITORY)
    ).status_code == 201
    async with registry_app.state.sessionmaker() as session:
        rows = (
            await session.execute(
                select(idempotency_keys).where(idempotency_keys.c.key == "digest")
            )
        ).all()
    [row] = rows
    assert row.principal == principal_of(Caller(sub="alice@bpi", org=None, scopes=frozenset()))
    assert "alice" not in row.principal and len(row.principal) == 64
    assert row.scopes == "registry:write"


async def test_a_token_whose_scopes_were_reduced_gets_the_authorisation_error_not_the_replay(
    client: httpx.AsyncClient,
) -> None:
    first = await _post_as(client, _token("registry:write", "admin"), "scoped", NEW_TERRITORY)
    assert first.status_code == 201
    # The same identity, with fewer scopes: no replay, and the request is not run again.
    for scopes in [("registry:write",), ("admin",), (), ("funding:write",)]:
        r = await _post_as(client, _token(*scopes), "scoped", NEW_TERRITORY)
        assert r.status_code == 403, (scopes, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert "idempotent-replayed" not in r.headers
        assert NEW_TERRITORY["code"] not in r.text
    # Without a token at all: the app's own 401.
    anonymous = await client.post(
        f"{API}/territories", json=NEW_TERRITORY, headers={"Idempotency-Key": "scoped"}
    )
    assert anonymous.status_code == 401 and "idempotent-replayed" not in anonymous.headers
    # The refusals took nothing away: the first token, or one with more scopes, still replays.
    for scopes in [("registry:write", "admin"), ("admin", "registry:write", "funding:write")]:
        r = await _post_as(client, _token(*scopes), "scoped", NEW_TERRITORY)
        assert r.status_code == 201 and r.headers["idempotent-replayed"] == "true"
        assert r.content == first.content


async def test_a_forbidden_first_attempt_is_not_stored_for_the_token_that_gains_the_scope(
    client: httpx.AsyncClient,
) -> None:
    refused = await _post_as(client, _token("funding:write"), "grow", NEW_TERRITORY)
    assert refused.status_code == 403
    ok = await _post_as(client, _token("registry:write"), "grow", NEW_TERRITORY)
    assert ok.status_code == 201 and "idempotent-replayed" not in ok.headers


# In flight: a lock that lives as long as the request, or its process -------------------------


def _lock_of(key: str, *, sub: str = "alice") -> int:
    return lock_id(principal_of(Caller(sub=sub, org=None, scopes=frozenset())), key)


async def test_a_key_held_by_a_running_request_is_409_and_free_once_it_ends(
    client: httpx.AsyncClient, registry_app: ServiceApp
) -> None:
    token = _token("registry:write")
    async with registry_app.state.idempotency_locks.hold(_lock_of("busy")) as held:
        assert held
        r = await _post_as(client, token, "busy", NEW_TERRITORY)
        assert r.status_code == 409 and "still being processed" in r.json()["detail"]
        # Another caller's same key is not held.
        mine = _token("registry:write", sub="bob")
        other = await _post_as(
            client, mine, "busy", {**NEW_TERRITORY, "code": "ti-9902", "members": []}
        )
        assert other.status_code == 201
    assert (await client.get(f"{API}/territories/ti-9901")).status_code == 404
    r = await _post_as(client, token, "busy", NEW_TERRITORY)
    assert r.status_code == 201 and "idempotent-replayed" not in r.headers


_HOLDER = """
import asyncio, sys
from tdi_kit.db import create_engine
from tdi_kit.keylocks import key_locks

async def main():
    locks = key_locks(create_engine(sys.argv[1]), pool_size=1)
    async with locks.hold(int(sys.argv[2])) as held:
        print("held" if held else "busy", flush=True)
        await asyncio.sleep(600)

asyncio.run(main())
"""


async def test_a_key_whose_request_died_with_its_process_is_free_at_once(
    client: httpx.AsyncClient, registry_app: ServiceApp
) -> None:
    """Another process claims the key the way a request does, then is killed (SIGKILL): the
    retry proceeds at once, not after a lease (PostgreSQL: the server rolls the dead
    connection back; SQLite: the kernel drops the dead process's lock on the sidecar file)."""
    url = registry_app.state.engine.url.render_as_string(hide_password=False)
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _HOLDER, url, str(_lock_of("crash")), stdout=subprocess.PIPE
    )
    try:
        assert holder.stdout is not None
        assert await holder.stdout.readline() == b"held\n"
        token = _token("registry:write")
        r = await _post_as(client, token, "crash", NEW_TERRITORY)
        assert r.status_code == 409, r.text
    finally:
        holder.kill()
        await holder.wait()
    started = time.monotonic()
    # The server learns of the death when the socket closes: a few milliseconds, not minutes.
    while (r := await _post_as(client, token, "crash", NEW_TERRITORY)).status_code == 409:
        assert time.monotonic() - started < 3, "the dead request's key is still held"
        await asyncio.sleep(0.05)
    assert r.status_code == 201, r.text
    assert "idempotent-replayed" not in r.headers


@pytest.mark.postgres_only
async def test_a_claim_whose_connection_closes_without_commit_frees_the_key(
    client: httpx.AsyncClient, registry_app: ServiceApp
) -> None:
    engine = create_async_engine(registry_app.state.engine.url, poolclass=NullPool)
    try:
        connection = await engine.connect()
        await connection.begin()
        taken = await connection.scalar(
            text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _lock_of("raw")}
        )
        assert taken
        token = _token("registry:write")
        assert (await _post_as(client, token, "raw", NEW_TERRITORY)).status_code == 409
        # The connection goes away without COMMIT, as a dying process's would.
        await connection.invalidate()
        await connection.close()
        r = await _post_as(client, token, "raw", NEW_TERRITORY)
        assert r.status_code == 201, r.text
    finally:
        await engine.dispose()
