"""One OpenAPI 3.1 document for the public API, and a typed TypeScript client generated from it."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from gateway_testing import API, running_gateway

from gateway.openapi import merge
from gateway.proxy import ROUTES, RouteTable
from tdi_kit.testing import LiveServer

TS_CHECK = Path(__file__).resolve().parents[2] / "gateway" / "ts-check"


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
    schemas = set(document["components"]["schemas"])
    assert {ref.removeprefix("#/components/schemas/") for ref in _refs(document)} <= schemas
    assert not any("x-tdi-ref" in str(v) for v in document["components"]["schemas"].values())


def _routes_of(document: dict[str, Any]) -> dict[str, str | None]:
    table = RouteTable(ROUTES)
    return {path: table.resolve(path) for path in document["paths"]}


async def test_docs_page_shows_the_merged_document(registry_server: LiveServer) -> None:
    async with running_gateway(registry_url=registry_server.url) as (_, client):
        r = await client.get("/docs")
        assert r.status_code == 200
        assert "/openapi.json" in r.text


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


async def test_a_typescript_client_generated_from_the_document_type_checks(
    suite: dict[str, str],
) -> None:
    reason = _npm_install()
    if reason:
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
