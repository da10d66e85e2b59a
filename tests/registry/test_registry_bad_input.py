"""Bad input: unknown codes are 404, malformed ones 422 naming the field, oversized bodies 413,
and whatever is refused leaves the registry as it was."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from registry_testing import API, current_etag

from registry.main import create_app
from registry.settings import RegistrySettings
from tdi_kit.app import ServiceApp
from tdi_kit.testing import asgi_client, rolled_back

PROBLEM_MEMBERS = {"type", "title", "status", "detail", "instance", "request_id"}


def assert_problem(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert set(body) >= PROBLEM_MEMBERS
    assert body["status"] == status
    assert body["type"].startswith("urn:tdi:problem:")
    assert body["instance"] == r.request.url.path
    assert body["request_id"] == r.headers["x-request-id"]
    assert "Traceback" not in r.text and 'File "' not in r.text
    return body


@pytest.mark.parametrize(
    ("path", "what"),
    [
        ("/territories/9999", "territory"),
        ("/territories/ti-9999", "territory"),
        ("/territories/ti-9999/communes", "territory"),
        ("/territories/ti-9999/outline", "territory"),
        ("/groupements/123456782", "groupement"),
        ("/groupements/123456782/territories", "groupement"),
        ("/communes/99999", "commune"),
        ("/communes/99999/territories", "commune"),
        ("/organisations/no-such-operator", "organisation"),
        ("/regions/99", "region"),
        ("/departments/999", "department"),
    ],
)
async def test_an_unknown_code_is_a_404_problem(
    client: httpx.AsyncClient, path: str, what: str
) -> None:
    body = assert_problem(await client.get(API + path), 404)
    assert body["title"] == "Not found"
    assert body["type"] == "urn:tdi:problem:not-found"
    assert body["detail"].startswith(f"No {what} ")


async def test_an_unknown_territory_is_404_on_writes_too(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    headers = {**writer, "If-Match": "*"}
    for method, path, payload in [
        ("PATCH", "/territories/ti-9999", {"name": "X"}),
        ("POST", "/territories/ti-9999/archive", None),
        ("PUT", "/territories/ti-9999/members/200070308", None),
        ("PUT", "/territories/ti-9999/governance", {}),
    ]:
        assert_problem(await client.request(method, API + path, json=payload, headers=headers), 404)


async def test_an_unknown_route_is_a_404_problem(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(f"{API}/nothing-here"), 404)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/regions", "GET"),
        ("PUT", "/territories", "GET, POST"),
        # GET and PATCH are two routes on one resource: Allow names both.
        ("DELETE", "/territories/ti-2708", "GET, PATCH"),
        ("GET", "/territories/ti-2708/members/200065647", "PUT, DELETE"),
    ],
)
async def test_a_wrong_method_is_405_naming_every_allowed_method(
    client: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    r = await client.request(method, API + path)
    assert_problem(r, 405)
    assert r.headers["allow"] == allow


@pytest.mark.parametrize(
    ("path", "field"),
    [
        # SIRENs: a wrong Luhn key, 8 digits, letters.
        ("/groupements/200065648", "siren"),
        ("/groupements/20006564", "siren"),
        ("/groupements/20006564A", "siren"),
        ("/groupements/200065648/territories", "siren"),
        # INSEE codes: 4 digits, letters, a Corsican code with a wrong letter.
        ("/communes/2538", "insee"),
        ("/communes/ABCDE", "insee"),
        ("/communes/2C001", "insee"),
        ("/communes/253888/territories", "insee"),
        # Territory codes: neither `NNNN` nor `ti-NNNN`.
        ("/territories/ti-27", "code"),
        ("/territories/TI-2708", "code"),
        ("/territories/27080", "code"),
        ("/territories/ti-2708x/communes", "code"),
        ("/organisations/Bpifrance", "code"),
        ("/regions/2", "code"),
        ("/departments/2C", "code"),
        # Query parameters.
        ("/territories?member=200065648", "member"),
        ("/territories?member=12345678", "member"),
        ("/territories?commune=2538", "commune"),
        ("/territories?phase=3", "phase"),
        ("/territories?status=deleted", "status"),
        ("/territories?region=2", "region"),
        ("/territories?department=2C", "department"),
        ("/communes?epci=200065648", "epci"),
        ("/groupements?kind=syndicat", "kind"),
    ],
)
async def test_a_malformed_identifier_is_422_naming_the_field(
    client: httpx.AsyncClient, path: str, field: str
) -> None:
    body = assert_problem(await client.get(API + path), 422)
    assert [e["field"] for e in body["errors"]] == [field]
    assert field in body["detail"]


async def test_a_malformed_member_siren_in_a_body_names_its_place(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    r = await client.post(
        f"{API}/territories",
        json={"code": "ti-9901", "name": "X", "phase": 2, "members": ["200070308", "200065648"]},
        headers=writer,
    )
    body = assert_problem(r, 422)
    assert [(e["location"], e["field"]) for e in body["errors"]] == [("body", "members.1")]
    assert "Luhn" in body["errors"][0]["message"]
    r = await client.put(
        f"{API}/territories/ti-2708/members/20007030",
        headers={**writer, "If-Match": await current_etag(client, "ti-2708")},
    )
    assert [(e["location"], e["field"]) for e in assert_problem(r, 422)["errors"]] == [
        ("path", "siren")
    ]


async def test_a_body_that_is_not_json_is_422(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    r = await client.post(
        f"{API}/territories",
        content=b'{"code": "ti-9901",',
        headers={**writer, "Content-Type": "application/json"},
    )
    assert_problem(r, 422)
    assert (await client.get(f"{API}/territories/ti-9901")).status_code == 404


async def test_every_invalid_field_is_named_at_once(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    r = await client.post(
        f"{API}/territories",
        json={"code": "x", "name": "", "phase": 3, "members": "200070308"},
        headers=writer,
    )
    body = assert_problem(r, 422)
    assert {e["field"] for e in body["errors"]} == {"code", "name", "phase", "members"}
    assert {e["location"] for e in body["errors"]} == {"body"}


LIMIT = 2048


@pytest.fixture(scope="module")
async def small_limit_app(registry_url: str) -> AsyncIterator[ServiceApp]:
    app = create_app(
        RegistrySettings(
            database_url=registry_url, environment="test", log_json=False, max_body_bytes=LIMIT
        )
    )
    yield app
    await app.state.engine.dispose()


@pytest.fixture
async def small_limit_client(small_limit_app: ServiceApp) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        rolled_back(small_limit_app, small_limit_app.state.engine),
        asgi_client(small_limit_app) as c,
    ):
        yield c


def _governance(size: int) -> bytes:
    """A valid governance body of `size` bytes (JSON allows trailing whitespace)."""
    body = json.dumps({"chef_de_projet": {"name": "Claire Martin"}, "referents": []}).encode()
    return body + b" " * (size - len(body))


async def test_a_body_announced_over_the_limit_is_413(
    small_limit_client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    etag = await current_etag(small_limit_client, "ti-2708")
    body = _governance(LIMIT + 1)
    r = await small_limit_client.put(
        f"{API}/territories/ti-2708/governance",
        content=body,
        headers={**writer, "If-Match": etag, "Content-Type": "application/json"},
    )
    problem = assert_problem(r, 413)
    assert str(LIMIT) in problem["detail"]
    assert await current_etag(small_limit_client, "ti-2708") == etag


async def test_a_streamed_body_over_the_limit_is_413(
    small_limit_client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    etag = await current_etag(small_limit_client, "ti-2708")
    body = _governance(LIMIT * 3)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 500):
            yield body[start : start + 500]

    r = await small_limit_client.put(
        f"{API}/territories/ti-2708/governance",
        content=chunks(),
        headers={**writer, "If-Match": etag, "Content-Type": "application/json"},
    )
    assert "content-length" not in r.request.headers
    assert r.request.headers["transfer-encoding"] == "chunked"
    assert_problem(r, 413)
    assert await current_etag(small_limit_client, "ti-2708") == etag


async def test_a_streamed_body_over_the_limit_is_413_even_with_an_idempotency_key(
    small_limit_client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"code": "ti-9901", "name": "'
        for _ in range(10):
            yield b"x" * 500
        yield b'", "phase": 2}'

    r = await small_limit_client.post(
        f"{API}/territories",
        content=chunks(),
        headers={**writer, "Idempotency-Key": "big-1", "Content-Type": "application/json"},
    )
    assert_problem(r, 413)
    assert (await small_limit_client.get(f"{API}/territories/ti-9901")).status_code == 404


async def test_a_body_under_the_limit_is_served_streamed_or_not(
    small_limit_client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    body = _governance(LIMIT)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 300):
            yield body[start : start + 300]

    for content in (body, chunks()):
        r = await small_limit_client.put(
            f"{API}/territories/ti-2708/governance",
            content=content,
            headers={
                **writer,
                "If-Match": await current_etag(small_limit_client, "ti-2708"),
                "Content-Type": "application/json",
            },
        )
        assert r.status_code == 200, r.text
        assert r.json()["governance"]["chef_de_projet"]["name"] == "Claire Martin"
