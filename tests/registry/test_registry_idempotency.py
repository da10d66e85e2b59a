"""`Idempotency-Key` on POST: a retry replays the first answer instead of acting twice."""

from __future__ import annotations

import httpx
from registry_testing import API, current_etag, read_all

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
