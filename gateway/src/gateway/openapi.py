"""One OpenAPI 3.1 document for the whole public API: the services' and the gateway's own.

Each service's `/openapi.json` is fetched (concurrently, within the budget) and merged:

- paths: every `/api/...` path of a service that the route table sends to that service, plus
  the gateway's own; a path that the gateway would not send to the service documenting it is
  left out (and logged), so the document never promises what the gateway does not serve;
- component schemas: a name that means the same everywhere (`ProblemRead`) is kept once; a name
  two documents define differently is renamed in each of them to `<Service><Name>`
  (`FundingPage_AllocationRead_`), and their `$ref`s follow;
- operation ids: kept (each app names them after its route functions, `listTerritories`),
  unless two documents use one, then prefixed with the service's name (a test keeps them apart);
- tags, security schemes and response headers (`components.headers`): united by name;
- every operation also documents what the edge may answer itself (401, 429, 502, 503, 504) and
  the `RateLimit-*` headers on each of its answers.

The merged document is kept for `openapi_cache_seconds`; a service that does not answer keeps
its last known document, or is missing from the merge until it answers
(`x-tdi-missing-services` lists those).
"""

from __future__ import annotations

import copy
import logging
import time
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, Request
from starlette.responses import Response

from gateway.clients import Services, settle
from gateway.proxy import ROUTES, RouteTable
from gateway.settings import GatewaySettings
from tdi_kit.errors import Problem, ProblemRead
from tdi_kit.openapi import RATE_LIMIT_HEADERS, header_ref, problem_response

log = logging.getLogger("tdi.gateway.openapi")
router = APIRouter(include_in_schema=False)
OPENAPI_TIMEOUT_SECONDS = 10.0
# What the edge itself may answer on any operation, whatever the service documents.
EDGE_RESPONSES = {
    "401": "The bearer token is malformed, expired or badly signed (checked at the edge on "
    "every call that sends one; a write without one).",
    "429": "Over the caller's rate limit; `Retry-After` says when to try again.",
    "502": "The service broke the connection or its answer (`service` names it).",
    "503": "The service is unavailable or its circuit breaker is open (`service` names it).",
    "504": "The service did not answer in time (`service` names it).",
}
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@router.get("/openapi.json")
async def openapi_document(request: Request) -> Response:
    """The merged OpenAPI 3.1 document of the public API."""
    merger: OpenAPIMerger = request.app.state.openapi
    body = await merger.document_bytes()
    return Response(body, media_type="application/json")


class OpenAPIMerger:
    """Fetches, merges and caches the public API's document."""

    def __init__(self, api: FastAPI, services: Services, settings: GatewaySettings) -> None:
        self.api = api
        self.services = services
        self.settings = settings
        self.known: dict[str, dict[str, Any]] = {}
        self.cached: bytes | None = None
        self.cached_until = 0.0

    async def document_bytes(self) -> bytes:
        if self.cached is not None and time.monotonic() < self.cached_until:
            return self.cached
        # A service builds its document on the first request: slower than any read.
        deadline = time.monotonic() + OPENAPI_TIMEOUT_SECONDS
        fetched = await settle(
            {
                name: client.get_json(
                    "/openapi.json", deadline=deadline, call_timeout=OPENAPI_TIMEOUT_SECONDS
                )
                for name, client in self.services.by_name.items()
            }
        )
        missing = []
        for name, result in fetched.items():
            if isinstance(result, Problem):
                log.warning("openapi of %s unavailable: %s", name, result.detail)
                if name not in self.known:
                    missing.append(name)
            else:
                self.known[name] = result.body
        document = merge(self.api.openapi(), self.known, RouteTable(ROUTES))
        if missing:
            document["x-tdi-missing-services"] = sorted(missing)
        body = orjson.dumps(document)
        self.cached = body
        # An incomplete document is asked for again soon, a complete one kept for the setting.
        keep = self.settings.openapi_cache_seconds if not missing else 1.0
        self.cached_until = time.monotonic() + keep
        return body


def merge(
    own: dict[str, Any], services: dict[str, dict[str, Any]], routes: RouteTable
) -> dict[str, Any]:
    """The gateway's own document with the services' merged in (see the module's docstring)."""
    documents = {"gateway": copy.deepcopy(own)} | {
        name: copy.deepcopy(doc) for name, doc in sorted(services.items())
    }
    renames = _rename_clashing_schemas(documents)
    _resolve_service_refs(documents["gateway"], documents, renames)
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": own["info"],
        "paths": {},
        "components": {"schemas": {}, "headers": {}, "securitySchemes": {}},
        "tags": [],
    }
    tags: dict[str, dict[str, Any]] = {}
    operation_ids: set[str] = set()
    for name, document in documents.items():
        for path, item in document.get("paths", {}).items():
            if name != "gateway" and (not path.startswith("/api/") or routes.resolve(path) != name):
                log.warning("%s documents %s, which the gateway does not send to it", name, path)
                continue
            if path in merged["paths"]:
                log.warning("%s documents %s, already documented; ignored", name, path)
                continue
            for method in HTTP_METHODS:
                operation = item.get(method)
                if operation is None:
                    continue
                op_id = operation.get("operationId")
                if op_id in operation_ids:
                    operation["operationId"] = op_id = f"{name}_{op_id}"
                if op_id:
                    operation_ids.add(op_id)
                for tag in operation.get("tags", []):
                    tags.setdefault(tag, {"name": tag})
                _edge_responses(operation)
            merged["paths"][path] = item
        components = document.get("components", {})
        merged["components"]["schemas"].update(components.get("schemas", {}))
        merged["components"]["headers"].update(components.get("headers", {}))
        for scheme, definition in components.get("securitySchemes", {}).items():
            merged["components"]["securitySchemes"].setdefault(scheme, definition)
        for tag in document.get("tags", []):
            tags.setdefault(tag["name"], {}).update(tag)
    schemas = merged["components"]["schemas"]
    if "ProblemRead" not in schemas:  # renamed in every document: the edge's answers need it
        problem = ProblemRead.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(problem.pop("$defs", {}))
        schemas["ProblemRead"] = problem
    merged["tags"] = sorted(tags.values(), key=lambda t: t["name"])
    if not merged["components"]["securitySchemes"]:
        del merged["components"]["securitySchemes"]
    return merged


def _edge_responses(operation: dict[str, Any]) -> None:
    """The edge's own answers, and its rate-limit headers on every answer."""
    responses = operation.setdefault("responses", {})
    for status, description in EDGE_RESPONSES.items():
        responses.setdefault(status, problem_response(description))
    responses["429"].setdefault("headers", {}).setdefault("Retry-After", header_ref("Retry-After"))
    for response in responses.values():
        headers = response.setdefault("headers", {})
        for name in RATE_LIMIT_HEADERS:
            headers.setdefault(name, header_ref(name))


def _rename_clashing_schemas(documents: dict[str, dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Rename, in each document, the schemas another document defines differently."""
    renamed: dict[str, dict[str, str]] = {}
    definitions: dict[str, dict[bytes, list[str]]] = {}
    for name, document in documents.items():
        for schema, body in document.get("components", {}).get("schemas", {}).items():
            key = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
            definitions.setdefault(schema, {}).setdefault(key, []).append(name)
    clashing = {schema for schema, variants in definitions.items() if len(variants) > 1}
    if not clashing:
        return renamed
    for name, document in documents.items():
        schemas = document.get("components", {}).get("schemas", {})
        renames = {schema: _prefixed(name, schema) for schema in schemas if schema in clashing}
        if not renames:
            continue
        renamed[name] = renames
        document["components"]["schemas"] = {
            renames.get(schema, schema): body for schema, body in schemas.items()
        }
        _rewrite_refs(
            document,
            {
                f"#/components/schemas/{old}": f"#/components/schemas/{new}"
                for old, new in renames.items()
            },
        )
    return renamed


def _resolve_service_refs(
    node: Any, documents: dict[str, dict[str, Any]], renamed: dict[str, dict[str, str]]
) -> None:
    """The gateway's `{"x-tdi-ref": "service:Schema"}` become `$ref`s to the merged schemas."""
    if isinstance(node, dict):
        reference = node.pop("x-tdi-ref", None)
        if isinstance(reference, str):
            service, _, schema = reference.partition(":")
            known = documents.get(service, {}).get("components", {}).get("schemas", {})
            final = renamed.get(service, {}).get(schema, schema)
            if final in known:
                node["$ref"] = f"#/components/schemas/{final}"
            else:
                # The service's document is not at hand (it is down): still a valid schema.
                node.update(
                    {"type": "object", "description": f"{schema} of the {service} service."}
                )
        for value in node.values():
            _resolve_service_refs(value, documents, renamed)
    elif isinstance(node, list):
        for value in node:
            _resolve_service_refs(value, documents, renamed)


def _prefixed(service: str, schema: str) -> str:
    return service[:1].upper() + service[1:] + schema


def _rewrite_refs(node: Any, refs: dict[str, str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref in refs:
            node["$ref"] = refs[ref]
        for value in node.values():
            _rewrite_refs(value, refs)
    elif isinstance(node, list):
        for value in node:
            _rewrite_refs(value, refs)
