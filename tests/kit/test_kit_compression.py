"""Compressed answers: negotiated, over 1 KB only, one ETag per representation, never streams."""

from __future__ import annotations

import asyncio
import gzip

import brotli
import httpx
import pytest

from tdi_kit.compression import identity_tags, negotiate

OUTLINES = "/api/v1/territory-outlines"
SMALL = "/api/v1/regions/27"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("identity", None),
        ("gzip", "gzip"),
        ("gzip, deflate, br", "br"),
        ("br;q=0.5, gzip", "gzip"),
        ("br;q=0, gzip;q=0", None),
        ("*", "br"),
        ("*;q=0.1, gzip;q=0.9", "gzip"),
        ("br;q=0, *", "gzip"),
        ("GZIP;Q=1", "gzip"),
        ("gzip;q=oops", None),
        ("deflate", None),
    ],
)
def test_the_encoding_follows_the_callers_weights_then_ours(
    header: str | None, expected: str | None
) -> None:
    assert negotiate(header) == expected


def test_validators_sent_back_are_turned_into_the_identity_ones() -> None:
    assert identity_tags('"abc-br"') == '"abc"'
    assert identity_tags('W/"abc-gzip", "def", *') == 'W/"abc", "def", *'
    assert identity_tags('"abc-zstd"') == '"abc-zstd"'


async def raw(client: httpx.AsyncClient, path: str, **headers: str) -> tuple[httpx.Response, bytes]:
    """The answer and its bytes as sent, before any decoding."""
    async with client.stream("GET", path, headers=headers) as response:
        body = b"".join([chunk async for chunk in response.aiter_raw()])
    return response, body


@pytest.mark.parametrize("encoding", ["br", "gzip"])
async def test_the_phase_2_outlines_travel_in_well_under_a_quarter_of_their_size(
    client: httpx.AsyncClient, encoding: str
) -> None:
    plain, identity = await raw(client, OUTLINES, **{"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert len(identity) > 500_000
    packed, body = await raw(client, OUTLINES, **{"Accept-Encoding": encoding})
    assert packed.headers["content-encoding"] == encoding
    assert int(packed.headers["content-length"]) == len(body)
    # Coordinates compress poorly: a third at the fast settings, a fifth at brotli's best,
    # computed once in the background and served from then on.
    assert len(body) < len(identity) * (0.36 if encoding == "br" else 0.4)
    if encoding == "br":
        for _ in range(600):
            await asyncio.sleep(0.1)
            again, body = await raw(client, OUTLINES, **{"Accept-Encoding": encoding})
            if len(body) < len(identity) / 4:
                break
        assert len(body) < len(identity) * 0.22
        assert again.headers["etag"] == packed.headers["etag"]
    decoded = brotli.decompress(body) if encoding == "br" else gzip.decompress(body)
    assert decoded == identity
    assert "Accept-Encoding" in packed.headers["vary"]
    assert "Accept-Encoding" in plain.headers["vary"]


async def test_each_representation_has_its_etag_and_revalidates(
    client: httpx.AsyncClient,
) -> None:
    plain, _ = await raw(client, OUTLINES, **{"Accept-Encoding": "identity"})
    packed, _ = await raw(client, OUTLINES, **{"Accept-Encoding": "br"})
    identity_tag = plain.headers["etag"]
    assert packed.headers["etag"] == identity_tag[:-1] + '-br"'
    # The tag of the representation held: 304, naming it.
    again = await client.get(
        OUTLINES, headers={"Accept-Encoding": "br", "If-None-Match": packed.headers["etag"]}
    )
    assert again.status_code == 304
    assert again.headers["etag"] == packed.headers["etag"]
    assert "Accept-Encoding" in again.headers["vary"]
    # The same content under another encoding is still the same content.
    other = await client.get(
        OUTLINES, headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["etag"]}
    )
    assert other.status_code == 304
    stale = await client.get(
        OUTLINES, headers={"Accept-Encoding": "br", "If-None-Match": '"stale-br"'}
    )
    assert stale.status_code == 200


async def test_answers_under_1_kb_and_streams_are_sent_as_they_are(
    client: httpx.AsyncClient,
) -> None:
    small, body = await raw(client, SMALL, **{"Accept-Encoding": "br, gzip"})
    assert small.status_code == 200 and len(body) < 1024
    assert "content-encoding" not in small.headers
    assert "Accept-Encoding" in small.headers["vary"]
    assert small.headers["etag"].endswith('"') and "-br" not in small.headers["etag"]
    csv, _ = await raw(client, "/api/v1/territories?format=csv", **{"Accept-Encoding": "br, gzip"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "content-encoding" not in csv.headers


async def test_problems_over_1_kb_are_compressed_too(client: httpx.AsyncClient) -> None:
    answer = await client.get(
        "/api/v1/territories", params={"limit": "x" * 2000}, headers={"Accept-Encoding": "gzip"}
    )
    assert answer.status_code in (400, 422)
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["status"] == answer.status_code


async def test_head_names_the_encoding_and_etag_a_get_would(client: httpx.AsyncClient) -> None:
    get, _ = await raw(client, OUTLINES, **{"Accept-Encoding": "gzip"})
    head = await client.head(OUTLINES, headers={"Accept-Encoding": "gzip"})
    assert head.status_code == 200
    assert head.headers["content-encoding"] == "gzip"
    assert head.headers["etag"] == get.headers["etag"]
    assert head.headers["content-length"] == get.headers["content-length"]
    assert head.content == b""
