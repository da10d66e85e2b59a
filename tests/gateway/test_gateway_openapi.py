"""One OpenAPI 3.1 document for the public API, and a typed TypeScript client generated from it."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from gateway_testing import API, gateway_settings, running_gateway

from contracts.main import create_app as contracts_app
from contracts.settings import ContractsSettings
from funding.main import create_app as funding_app
from funding.settings import FundingSettings
from gateway.main import create_app
from gateway.openapi import merge
from gateway.proxy import ROUTES, RouteTable
from registry.main import create_app as registry_app
from registry.settings import RegistrySettings
from tdi_kit.testing import LiveServer

TS_CHECK = Path(__file__).resolve().parents[2] / "gateway" / "ts-check"


def service_apps() -> dict[str, FastAPI]:
    """The three services, built without a database: enough for their documents."""
    url = "sqlite+aiosqlite:///:memory:"
    common: dict[str, Any] = {"database_url": url, "environment": "test", "log_json": False}
    return {
        "registry": registry_app(RegistrySettings(**common)),
        "funding": funding_app(FundingSettings(**common)),
        "contracts": contracts_app(ContractsSettings(**common)),
    }


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node)) if node else set()
    return set()


def _operation_ids(document: dict[str, Any]) -> list[str]:
    return [
        op["operationId"]
        for item in document["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    ]


def _doc(paths: dict[str, str], schemas: dict[str, Any]) -> dict[str, Any]:
    first = next(iter(schemas))
    return {
        "openapi": "3.1.0",
        "info": {"title": "x", "version": "1"},
        "paths": {
            path: {
                "get": {
                    "operationId": op,
                    "tags": ["t"],
                    "responses": {
                        "200": {
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": f"#/components/schemas/{first}"}
                                }
                            }
                        }
                    },
                }
            }
            for path, op in paths.items()
        },
        "components": {"schemas": schemas},
    }


def test_schemas_that_clash_are_renamed_per_service_and_their_refs_follow() -> None:
    problem = {"type": "object", "properties": {"status": {"type": "integer"}}}
    registry = _doc(
        {f"{API}/territories": "list_items"},
        {"Page": {"type": "object", "properties": {"a": {}}}, "ProblemRead": problem},
    )
    funding = _doc(
        {f"{API}/envelopes": "list_items"},
        {"Page": {"type": "object", "properties": {"b": {}}}, "ProblemRead": problem},
    )
    own = _doc({f"{API}/dashboard": "dashboard"}, {"Dashboard": {"type": "object"}})
    merged = merge(own, {"registry": registry, "funding": funding}, RouteTable(ROUTES))

    schemas = merged["components"]["schemas"]
    assert {"RegistryPage", "FundingPage", "ProblemRead", "Dashboard"} <= set(schemas)
    assert "Page" not in schemas
    ok = "200"
    schema_of = {
        path: item["get"]["responses"][ok]["content"]["application/json"]["schema"]["$ref"]
        for path, item in merged["paths"].items()
    }
    assert schema_of[f"{API}/territories"] == "#/components/schemas/RegistryPage"
    assert schema_of[f"{API}/envelopes"] == "#/components/schemas/FundingPage"
    ids = _operation_ids(merged)
    assert len(ids) == len(set(ids))
    assert "funding_list_items" in ids or "registry_list_items" in ids


def test_a_path_the_gateway_would_not_send_to_its_service_is_left_out() -> None:
    registry = _doc({f"{API}/envelopes": "stray", f"{API}/regions": "regions"}, {"R": {}})
    merged = merge(_doc({}, {"G": {}}), {"registry": registry}, RouteTable(ROUTES))
    assert set(merged["paths"]) == {f"{API}/regions"}


async def test_the_merged_document_has_every_public_operation(
    registry_server: LiveServer, closed_url: str
) -> None:
    async with running_gateway(
        registry_url=registry_server.url, funding_url=closed_url, contracts_url=closed_url
    ) as (_, client):
        r = await client.get("/openapi.json")
        assert r.status_code == 200
        document = r.json()
    assert document["openapi"].startswith("3.1")
    registry_paths = {p for p, target in _routes_of(document).items() if target == "registry"}
    assert f"{API}/territories/{{code}}" in registry_paths
    assert f"{API}/territories/{{code}}/dossier" in document["paths"]
    assert f"{API}/dashboard" in document["paths"]
    assert document["x-tdi-missing-services"] == ["contracts", "funding"]
    ids = _operation_ids(document)
    assert len(ids) == len(set(ids))
    components = {
        f"#/components/{kind}/{name}"
        for kind, defined in document["components"].items()
        for name in defined
    }
    assert _refs(document) <= components
    assert not any("x-tdi-ref" in str(v) for v in document["components"]["schemas"].values())


def _routes_of(document: dict[str, Any]) -> dict[str, str | None]:
    table = RouteTable(ROUTES)
    return {path: table.resolve(path) for path in document["paths"]}


async def test_docs_and_redoc_show_the_merged_document_from_assets_the_gateway_serves(
    registry_server: LiveServer,
) -> None:
    async with running_gateway(registry_url=registry_server.url) as (_, client):
        for page in ("/docs", "/redoc"):
            r = await client.get(page)
            assert r.status_code == 200
            assert "/openapi.json" in r.text
            assert_offline_page(r.text)
            for url in asset_urls(r.text):
                asset = await client.get(url)
                assert asset.status_code == 200, url
                assert len(asset.content) > 0


def asset_urls(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


def assert_offline_page(html: str) -> None:
    """Every script, style and icon of the page is a path of the app itself: no CDN, no font."""
    urls = asset_urls(html)
    assert any(u.endswith(".js") for u in urls) and all(u.startswith("/") for u in urls), urls
    assert "http://" not in html and "https://" not in html, "the page names another host"


def test_operation_ids_are_readable_and_unique_in_the_merged_document() -> None:
    own = create_app(gateway_settings()).api.openapi()
    documents = {name: app.openapi() for name, app in service_apps().items()}
    merged = merge(own, documents, RouteTable(ROUTES))
    ids = _operation_ids(merged)
    assert len(ids) == len(set(ids))
    # Every operation of every document, but the services' own feeds: the gateway serves
    # /api/v1/events itself, merged.
    table = RouteTable(ROUTES)
    routed = {
        name: {
            **document,
            "paths": {p: i for p, i in document["paths"].items() if table.resolve(p) == name},
        }
        for name, document in documents.items()
    }
    assert len(ids) == sum(len(_operation_ids(d)) for d in [own, *routed.values()])
    verbs = "list|get|create|update|delete|add|remove|set|archive|commit|cancel|push|adjust|"
    verbs += "record|start|close"
    for op_id in ids:
        assert re.fullmatch(rf"({verbs})[A-Z][A-Za-z]*", op_id), op_id
    assert {
        "listTerritories",
        "getTerritory",
        "getTerritoryDossier",
        "getDashboard",
        "getTerritoryOutlines",
        "listEnvelopes",
        "getBalances",
        "listContracts",
        "listActions",
    } <= set(ids)


def test_every_operation_documents_its_problems_and_headers() -> None:
    own = create_app(gateway_settings()).api.openapi()
    documents = {name: app.openapi() for name, app in service_apps().items()}
    merged = merge(own, documents, RouteTable(ROUTES))
    rate_limit = {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy"}
    assert {"ETag", "Link", "Location", "Retry-After", *rate_limit} <= set(
        merged["components"]["headers"]
    )
    for path, item in merged["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            responses = operation["responses"]
            assert {"400", "401", "422", "429", "502", "503", "504"} <= set(responses), where
            for status, response in responses.items():
                assert rate_limit <= set(response.get("headers", {})), (where, status)
                if int(status) >= 400:
                    assert set(response["content"]) == {"application/problem+json"}, (where, status)
                    assert response["content"]["application/problem+json"]["schema"], where
            assert "Retry-After" in responses["429"]["headers"], where
            assert "Retry-After" in responses["503"]["headers"], where
            if "{" in path:
                assert "404" in responses, where
            if "requestBody" in operation:
                assert "413" in responses, where
            if "201" in responses:
                assert "Location" in responses["201"]["headers"], where
            if method != "get":
                continue
            assert "ETag" in responses["200"]["headers"], where
            assert "304" in responses, where
            query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
            if "cursor" in query:  # a list: a page in JSON, every row in CSV
                content = responses["200"]["content"]
                # The events feed has no end to export: its other form is a stream (SSE).
                other = "text/event-stream" if path.endswith("/events") else "text/csv"
                assert set(content) == {"application/json", other}, where
                assert content[other]["schema"] == {"type": "string"}, where
                page = content["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
                assert {"items", "next_cursor"} <= set(
                    merged["components"]["schemas"][page]["properties"]
                ), where
                assert "Link" in responses["200"]["headers"], where


def test_outlines_are_typed_geojson() -> None:
    document = service_apps()["registry"].openapi()
    schemas = document["components"]["schemas"]
    for path, schema in [
        ("/territory-outlines", "OutlineFeatureCollection"),
        ("/territories/{code}/outline", "OutlineFeature"),
    ]:
        content = document["paths"][API + path]["get"]["responses"]["200"]["content"]
        assert content == {
            "application/geo+json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}
        }
    assert schemas["OutlineFeatureCollection"]["properties"]["type"]["const"] == "FeatureCollection"
    assert schemas["OutlineFeature"]["properties"]["type"]["const"] == "Feature"
    assert schemas["OutlineFeature"]["examples"]


def _npm_install() -> str | None:
    """Installs the pinned generator and compiler once; the reason to skip when it cannot."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        return "npm and node are not installed"
    bins = TS_CHECK / "node_modules" / ".bin"
    if (bins / "openapi-typescript").exists() and (bins / "tsc").exists():
        return None
    try:
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=TS_CHECK,
            check=True,
            capture_output=True,
            timeout=240,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        output = getattr(exc, "stderr", b"") or b""
        return f"npm could not install openapi-typescript (offline?): {output.decode()[-300:]}"
    return None


def test_the_typescript_program_holds_no_cast() -> None:
    program = (TS_CHECK / "program.ts").read_text()
    code = "\n".join(line.split("//")[0] for line in program.splitlines())
    assert not re.search(r"\bas\s+(?!const\b)", code), "a type assertion (`as`)"
    assert not re.search(r"\bany\b|<[A-Za-z]+>\s*[a-z(]|!\.", code), "`any`, `<T>x` or `x!.`"


async def test_a_typescript_client_generated_from_the_document_type_checks(
    suite: dict[str, str],
) -> None:
    reason = _npm_install()
    if reason:
        if os.environ.get("TDI_REQUIRE_NODE") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    async with running_gateway(**suite) as (_, client):
        document = (await client.get("/openapi.json")).content
    assert b"x-tdi-missing-services" not in document
    (TS_CHECK / "openapi.json").write_bytes(document)
    bins = TS_CHECK / "node_modules" / ".bin"
    generated = await asyncio.to_thread(
        subprocess.run,
        [str(bins / "openapi-typescript"), "openapi.json", "--output", "api.d.ts"],
        cwd=TS_CHECK,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert generated.returncode == 0, generated.stderr
    checked = await asyncio.to_thread(
        subprocess.run,
        [str(bins / "tsc"), "--noEmit", "-p", "tsconfig.json"],
        cwd=TS_CHECK,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
