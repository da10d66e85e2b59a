"""Compression through the gateway: its own answers compressed, forwarded ones passed as sent."""

from __future__ import annotations

import gzip

import brotli
import httpx
from gateway_testing import API, running_gateway

from tdi_kit.testing import LiveServer

NFC = "ti-2708"


async def raw(client: httpx.AsyncClient, path: str, **headers: str) -> tuple[httpx.Response, bytes]:
    async with client.stream("GET", path, headers=headers) as response:
        body = b"".join([chunk async for chunk in response.aiter_raw()])
    return response, body


async def test_the_dossier_is_compressed_with_an_etag_of_its_own(suite: dict[str, str]) -> None:
    async with running_gateway(**suite) as (_, client):
        plain, identity = await raw(
            client, f"{API}/territories/{NFC}/dossier", **{"Accept-Encoding": "identity"}
        )
        packed, body = await raw(
            client, f"{API}/territories/{NFC}/dossier", **{"Accept-Encoding": "gzip"}
        )
        assert packed.headers["content-encoding"] == "gzip"
        assert gzip.decompress(body) == identity
        assert len(body) < len(identity)
        vary = packed.headers["vary"]
        assert "Authorization" in vary and "Accept-Encoding" in vary
        assert packed.headers["etag"] == plain.headers["etag"][:-1] + '-gzip"'
        again = await client.get(
            f"{API}/territories/{NFC}/dossier",
            headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["etag"]},
        )
        assert again.status_code == 304
        assert again.headers["etag"] == packed.headers["etag"]


async def test_a_forwarded_answer_is_compressed_once_by_its_service(
    registry_server: LiveServer,
) -> None:
    path = f"{API}/territories?limit=20"
    async with httpx.AsyncClient(base_url=registry_server.url) as direct:
        straight, sent = await raw(direct, path, **{"Accept-Encoding": "br"})
    async with running_gateway(registry_url=registry_server.url) as (_, client):
        through, body = await raw(client, path, **{"Accept-Encoding": "br"})
    assert through.headers["content-encoding"] == "br"
    assert body == sent  # the registry's bytes, not compressed again
    assert brotli.decompress(body).startswith(b'{"items":[')
    assert through.headers["etag"] == straight.headers["etag"]
    assert "Accept-Encoding" in through.headers["vary"]


async def test_the_outlines_travel_compressed_through_the_gateway(
    registry_server: LiveServer,
) -> None:
    async with running_gateway(registry_url=registry_server.url) as (_, client):
        _, identity = await raw(
            client, f"{API}/territory-outlines", **{"Accept-Encoding": "identity"}
        )
        packed, body = await raw(client, f"{API}/territory-outlines", **{"Accept-Encoding": "br"})
    assert packed.headers["content-encoding"] == "br"
    assert len(body) < len(identity) * 0.36
    assert brotli.decompress(body) == identity
