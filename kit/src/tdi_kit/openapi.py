"""The OpenAPI document and interactive documentation every app of the suite publishes.

Written once for the three services and the gateway, so that a client generated from any of
their documents reads the same way:

- operation ids are the route function's name in camelCase (`list_territories` →
  `listTerritories`): readable, stable while the function keeps its name, unique (a test
  checks it across the gateway's merged document);
- what the kit's plumbing adds to every answer is documented on every operation: `ETag` and
  304 on reads, `Link` and the CSV media type on lists, `Location` on creations, the problems
  any operation may answer (400 for a malformed or unknown query parameter, 422 for invalid
  input, 503 with `Retry-After` when the database is away, 413 on bodies);
- `/docs` (Swagger UI) and `/redoc` (ReDoc) load their scripts and styles from the app itself,
  out of the `fastapi-offline` package: they work on a machine with no internet.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.routing import APIRoute
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from tdi_kit.csvexport import CSV_MEDIA_TYPE
from tdi_kit.errors import ProblemRead
from tdi_kit.query import reject_unknown_query

ASSETS_URL = "/docs-assets"
ASSETS = Path(fastapi_offline.__file__).parent / "static"
PROBLEM_REF = {"$ref": "#/components/schemas/ProblemRead"}
_STRING = {"schema": {"type": "string"}}
_INTEGER = {"schema": {"type": "integer"}}

# Response headers, documented once in `components.headers` and referred to from each answer.
HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {
        "description": "The answer's version; send it back in `If-None-Match` (304 when "
        "unchanged) or, to change the record, in `If-Match`.",
        **_STRING,
    },
    "Link": {
        "description": 'The next page: `<...?cursor=...>; rel="next"` (absent on the last '
        "page); it carries only the list's own parameters.",
        **_STRING,
    },
    "Location": {"description": "Where the created record is read.", **_STRING},
    "Retry-After": {"description": "Seconds to wait before trying again.", **_INTEGER},
    "RateLimit-Limit": {"description": "Requests allowed in the current window.", **_INTEGER},
    "RateLimit-Remaining": {"description": "Requests left in the current window.", **_INTEGER},
    "RateLimit-Reset": {"description": "Seconds until the window ends.", **_INTEGER},
    "RateLimit-Policy": {"description": "The limits in force: `600;w=60`.", **_STRING},
}
RATE_LIMIT_HEADERS = (
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "RateLimit-Policy",
)

PROBLEMS = {
    304: "Not modified (`If-None-Match` names the current ETag).",
    400: "Bad request: a query parameter this operation does not take (or one value given "
    "twice), or a malformed cursor; `errors` names each parameter.",
    401: "No valid bearer token (`WWW-Authenticate: Bearer`).",
    403: "The token lacks the scope this operation needs.",
    404: "No record with this code.",
    409: "In conflict with the current state of the record; `detail` says how.",
    412: "`If-Match` names a version that is no longer the current one.",
    413: "The request body is over the limit.",
    415: "The body's media type is not one this operation takes.",
    422: "Invalid input; `errors` names each field.",
    428: "`If-Match` is required: send the ETag of the record as last read.",
    502: "A service this request needs answered badly; `service` names it.",
    503: "The database, or a service this request needs, is unavailable (`service` names it); "
    "try again after `Retry-After` seconds.",
    504: "A service this request needs did not answer in time; `service` names it.",
}


def problem_responses(
    *statuses: int, descriptions: Mapping[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for error statuses, each a problem document (`model` registers it).

    The one way every service documents its problems: `descriptions` gives a service's own
    wording of a status (what a 409 means there), the kit's general one otherwise. 304 is no
    problem: it is documented with its description only.
    """
    schema = {"schema": {"$ref": "#/components/schemas/ProblemRead"}}
    described = {**PROBLEMS, **(descriptions or {})}
    docs: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        if status == 304:
            docs[status] = {"description": described[status]}
        else:
            docs[status] = {
                "model": ProblemRead,
                "content": {"application/problem+json": schema},
                "description": described[status],
            }
    return docs


# Documented once for every operation, so that clients generated from the OpenAPI document know
# the problem shape of each error status; routes add the statuses of their own.
PROBLEM_RESPONSES = problem_responses(400, 422)


# Answered by any operation, whatever its route declares: by its path parameters, its body.
COMMON_PROBLEMS = (400, 422, 503)
PATH_PROBLEMS = (404,)
BODY_PROBLEMS = (413,)


def operation_id(route: APIRoute) -> str:
    """`list_territories` → `listTerritories`: the route function's name in camelCase."""
    head, *words = route.name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in words)


def header_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/headers/{name}"}


def problem_response(description: str, *headers: str) -> dict[str, Any]:
    """An error answer: a problem document, with the headers it carries."""
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/problem+json": {"schema": PROBLEM_REF}},
    }
    if headers:
        response["headers"] = {name: header_ref(name) for name in headers}
    return response


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """Document on each operation of `document` what the kit adds to its answers (see above)."""
    document.setdefault("components", {}).setdefault("headers", {}).update(
        {name: dict(header) for name, header in HEADERS.items()}
    )
    for item in document.get("paths", {}).values():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                _complete_operation(method, operation)
    return document


def _complete_operation(method: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation["responses"]
    parameters = operation.get("parameters", [])
    query = {p["name"] for p in parameters if p.get("in") == "query"}
    statuses = [*COMMON_PROBLEMS]
    if any(p.get("in") == "path" for p in parameters):
        statuses.extend(PATH_PROBLEMS)
    if "requestBody" in operation:
        statuses.extend(BODY_PROBLEMS)
    for code in statuses:
        responses.setdefault(str(code), problem_response(PROBLEMS[code]))
    _with_headers(responses["503"], "Retry-After")
    for status, response in responses.items():
        if status.isdigit() and int(status) >= 400:
            _problem_content(response)
    if method == "get" and "200" in responses:
        _with_headers(responses["200"], "ETag")
        responses.setdefault("304", {"description": PROBLEMS[304]})
        _with_headers(responses["304"], "ETag")
        if "cursor" in query:
            _with_headers(responses["200"], "Link")
            content = responses["200"].setdefault("content", {})
            # A feed (events) has no end to export: its other form is a stream, not CSV.
            if "text/event-stream" not in content:
                content.setdefault(CSV_MEDIA_TYPE, {"schema": {"type": "string"}})
                content[CSV_MEDIA_TYPE].setdefault(
                    "example", "\ufeffcode,name\r\nti-2708,Nord Franche-Comté\r\n"
                )
    if "201" in responses:
        _with_headers(responses["201"], "Location", "ETag")


def _problem_content(response: dict[str, Any]) -> None:
    # FastAPI files a `model` under the route's media type (JSON, GeoJSON); an error is always
    # a problem document, and a client must not expect it under another type.
    content = response.setdefault("content", {})
    problem = content.pop("application/problem+json", {})
    others = [media.get("schema") for media in content.values() if media.get("schema")]
    content.clear()
    content["application/problem+json"] = problem
    if not problem.get("schema"):
        problem["schema"] = others[0] if others else PROBLEM_REF


def _with_headers(response: dict[str, Any], *names: str) -> None:
    headers = response.setdefault("headers", {})
    for name in names:
        headers.setdefault(name, header_ref(name))


class SuiteAPI(FastAPI):
    """FastAPI as every app of the suite configures it: readable operation ids, unknown query
    parameters refused on every route, the document completed, the documentation offline."""

    def __init__(self, *, openapi_url: str | None = "/openapi.json", **kwargs: Any) -> None:
        kwargs.setdefault("generate_unique_id_function", operation_id)
        kwargs["dependencies"] = [Depends(reject_unknown_query), *kwargs.get("dependencies", [])]
        super().__init__(openapi_url=openapi_url, docs_url=None, redoc_url=None, **kwargs)
        # The gateway serves its merged document at /openapi.json itself (openapi_url None).
        self.include_router(docs_router(self.title, openapi_url or "/openapi.json"))
        self.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="docs-assets")

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            self.openapi_schema = complete(super().openapi())
        return self.openapi_schema


def docs_router(title: str, openapi_url: str) -> APIRouter:
    """`/docs` and `/redoc`, on assets this app serves (`/docs-assets/...`), no CDN, no fonts."""
    router = APIRouter(include_in_schema=False)

    @router.get("/docs")
    async def swagger_ui(request: Request) -> HTMLResponse:
        """Swagger UI on the app's document."""
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{title}: API",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
        )

    @router.get("/redoc")
    async def redoc(request: Request) -> HTMLResponse:
        """ReDoc on the app's document."""
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=root + openapi_url,
            title=f"{title}: API",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )

    return router
