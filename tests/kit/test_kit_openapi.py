"""What every app of the suite has from the kit's `SuiteAPI`: documentation that works offline,
and a 400 for a query parameter a route does not take, on every route of every app."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from contracts.main import create_app as contracts_app
from contracts.settings import ContractsSettings
from funding.main import create_app as funding_app
from funding.settings import FundingSettings
from gateway.main import create_app as gateway_app
from gateway.settings import GatewaySettings
from registry.main import create_app as registry_app
from registry.schemas import TerritoryRead
from registry.settings import RegistrySettings
from tdi_kit.errors import ProblemRead
from tdi_kit.testing import asgi_client

COMMON: dict[str, Any] = {"environment": "test", "log_json": False, "log_level": "WARNING"}
# No database is reached: documentation needs none, and a refused parameter is refused before
# the route opens a session.
NO_DATABASE = "sqlite+aiosqlite:////nonexistent/never-opened.db"


def _apps() -> dict[str, Any]:
    return {
        "registry": registry_app(RegistrySettings(database_url=NO_DATABASE, **COMMON)),
        "funding": funding_app(FundingSettings(database_url=NO_DATABASE, **COMMON)),
        "contracts": contracts_app(ContractsSettings(database_url=NO_DATABASE, **COMMON)),
        "gateway": gateway_app(GatewaySettings(**COMMON)),
    }


@pytest.fixture(params=["registry", "funding", "contracts", "gateway"])
async def app_client(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = _apps()[request.param]
    fastapi_app: FastAPI = app.api if request.param == "gateway" else app
    async with asgi_client(app) as client:
        yield fastapi_app, client
    if request.param == "gateway":
        await app.services.close()


async def test_docs_and_redoc_load_only_assets_the_app_serves(
    app_client: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, client = app_client
    for page in ("/docs", "/redoc"):
        r = await client.get(page)
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/html")
        urls = re.findall(r'(?:src|href)="([^"]+)"', r.text)
        assert any(url.endswith(".js") for url in urls), page
        assert "http://" not in r.text and "https://" not in r.text, "a CDN or a web font"
        assert "/openapi.json" in r.text
        for url in urls:
            assert url.startswith("/docs-assets/"), url
            asset = await client.get(url)
            assert asset.status_code == 200, url
            assert asset.content


def _operations(app: FastAPI) -> list[tuple[str, str, set[str]]]:
    """(method, path with its parameters filled, query parameters) of every documented operation."""
    found = []
    for path, item in app.openapi()["paths"].items():
        for method, operation in item.items():
            parameters = operation.get("parameters", [])
            filled = path
            for p in parameters:
                if p["in"] == "path":
                    filled = filled.replace("{" + p["name"] + "}", _value(p["schema"]))
            query = {p["name"] for p in parameters if p["in"] == "query"}
            found.append((method.upper(), filled, query))
    return found


def _value(schema: dict[str, Any]) -> str:
    """A value of a path parameter that its route's converter takes."""
    if schema.get("format") == "uuid":
        return "6f1c1f4e-8d7c-4a8e-9a3e-2b1f0c9d8e7a"
    if schema.get("type") == "integer":
        return "2024"
    return "x"


async def test_every_route_refuses_a_query_parameter_it_does_not_take(
    app_client: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = app_client
    operations = _operations(app)
    assert operations
    for method, path, _ in operations:
        r = await client.request(method, path, params={"Limit": "3", "zz": "1"})
        assert r.status_code == 400, (method, path, r.text)
        problem = r.json()
        assert problem["type"] == "urn:tdi:problem:unknown-query-parameter"
        assert {e["field"] for e in problem["errors"]} == {"Limit", "zz"}


async def test_a_misspelt_or_miscased_parameter_is_named_with_the_one_meant(
    app_client: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = app_client
    _, path, query = next(op for op in _operations(app) if op[0] == "GET" and len(op[2]) > 1)
    name = sorted(query, key=lambda n: (len(n), n))[-1]
    for wrong in (name.upper(), name[:-1] + "x" + name[-1]):
        r = await client.get(path, params={wrong: "1"})
        assert r.status_code == 400, (path, wrong)
        [error] = r.json()["errors"]
        assert error["field"] == wrong
        assert f"did you mean {name!r}" in error["message"], error


async def test_the_territory_example_has_the_shape_of_a_real_answer(
    client: httpx.AsyncClient,
) -> None:
    [example] = TerritoryRead.model_json_schema()["examples"]
    real = (await client.get("/api/v1/territories/ti-2708")).json()
    assert set(example) == set(real)
    assert set(example["members"][0]) == set(real["members"][0])
    assert TerritoryRead.model_validate(example).code == real["code"]
    [problem] = ProblemRead.model_json_schema()["examples"]
    assert ProblemRead.model_validate(problem).status == 400
