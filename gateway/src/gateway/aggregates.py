"""What the dossier and the dashboard share: parts that may fail, and answers with an ETag.

An aggregate asks each service for its part concurrently, within one budget. A required part
that fails fails the request with that part's problem (502, 503, 504, naming the service); an
optional part that fails leaves its place `null`, and the answer says so three times over:
`"partial": true`, one problem per missing part in `problems`, and the `X-Partial` header
naming the missing parts. A partial answer carries no ETag and `Cache-Control: no-store`: a
degraded view is never to be served again from a cache once the service is back.

Each part is asked with the ETag of its last answer to the same caller, and a document whose
parts all answered the ETags it was built from is sent again as it was (`gateway.kept`): an
unchanged dossier costs its services their 304s and the gateway no parsing or assembling.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Iterator, Mapping
from typing import Annotated, Any

import orjson
from fastapi import Request
from pydantic import BaseModel, Field, WithJsonSchema
from starlette.responses import Response

from gateway.clients import Answer, ServiceClient, Services, settle
from gateway.settings import GatewaySettings
from tdi_kit.conditional import etag_for, none_match
from tdi_kit.errors import FieldError, Problem

PARTIAL_HEADER = "X-Partial"
MAX_PAGE = 1000


def service_schema(reference: str, *, many: bool = False, nullable: bool = False) -> Any:
    """A field holding a service's record as it sent it, documented by the service's schema.

    `reference` is `service:Schema`; the OpenAPI merge turns it into a `$ref` to that schema
    (renamed, if it had to be), so generated clients type these fields fully.
    """
    schema: dict[str, Any] = {"x-tdi-ref": reference}
    if many:
        schema = {"type": "array", "items": schema}
    if nullable:
        schema = {"anyOf": [schema, {"type": "null"}]}
    python_type = list[dict[str, Any]] if many else dict[str, Any]
    if nullable:
        return Annotated[python_type | None, WithJsonSchema(schema)]
    return Annotated[python_type, WithJsonSchema(schema)]


def extended(reference: str, **members: dict[str, Any]) -> dict[str, Any]:
    """A service's schema with members the gateway adds (an action's allocations, say)."""
    return {
        "allOf": [
            {"x-tdi-ref": reference},
            {"type": "object", "properties": members, "required": sorted(members)},
        ]
    }


class PartProblem(BaseModel):
    """Why a part of an aggregate is missing: a problem document naming the service."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None
    service: str = Field(description="The service that failed: registry, funding or contracts.")
    part: str = Field(description="The member of the answer left `null` because of it.")


class Partial(BaseModel):
    partial: bool = Field(description="True when a part is missing; see `problems`.")
    problems: list[PartProblem] = Field(description="One problem per missing part.")


AGGREGATE_RESPONSES: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified (If-None-Match)."},
    **{
        status: {
            "model": PartProblem,
            "content": {"application/problem+json": {}},
            "description": description,
        }
        for status, description in {
            502: "A required service answered badly (`service` names it).",
            503: "A required service is unavailable or its circuit breaker is open.",
            504: "A required service did not answer within the budget.",
        }.items()
    },
}


class Later:
    """A part's document, parsed when the aggregate reads it: never, when every part answered
    as when the document was kept (`Call.kept`)."""

    __slots__ = ("answer",)

    def __init__(self, answer: Answer) -> None:
        self.answer = answer

    def value(self) -> Any:
        return None if self.answer.status == 404 else self.answer.body


class Results(Mapping[str, Any]):
    """Each part's value (parsed on first reading) or the Problem it raised."""

    def __init__(self, settled: dict[str, Any]) -> None:
        self._settled = settled

    def __getitem__(self, name: str) -> Any:
        result = self._settled[name]
        return result.value() if isinstance(result, Later) else result

    def __iter__(self) -> Iterator[str]:
        return iter(self._settled)

    def __len__(self) -> int:
        return len(self._settled)


class Call:
    """The calls of one aggregate request: one deadline, the caller's token passed on."""

    def __init__(self, request: Request, **given: object) -> None:
        """`given`: the route's parameters besides its path, as validated: what, with the
        path and the parts, its document is made of (other query parameters are not)."""
        self.request = request
        self.given = tuple(sorted(given.items()))
        self.services: Services = request.app.state.services
        settings: GatewaySettings = request.app.state.settings
        self.deadline = time.monotonic() + settings.budget_seconds
        authorization = request.headers.get("authorization")
        self.headers = {"Authorization": authorization} if authorization else {}
        # Each answer's call and ETag ("" for none): what a kept document was built from.
        self.validators: list[tuple[str, str, str]] = []
        self.failed = False

    async def one(self, client: ServiceClient, path: str, **params: str) -> Later:
        """A JSON document, or None when the service answers 404 (read from `parts`)."""
        answer = await client.get_json(
            path,
            deadline=self.deadline,
            params=params,
            headers=self.headers,
            accept=(200, 404),
            revalidate=True,
        )
        self._answered(client, path, params, answer.etag)
        return Later(answer)

    async def every(self, client: ServiceClient, path: str, **params: str) -> list[Any]:
        """Every item of a paginated list (pages of 1,000: one call in the common case)."""
        items: list[Any] = []
        cursor: str | None = None
        while True:
            page_params = {**params, "limit": str(MAX_PAGE)}
            if cursor:
                page_params["cursor"] = cursor
            answer = await client.get_json(
                path,
                deadline=self.deadline,
                params=page_params,
                headers=self.headers,
                revalidate=True,
            )
            self._answered(client, path, page_params, answer.etag)
            body = answer.body
            if not isinstance(body, dict) or not isinstance(body.get("items"), list):
                raise client.bad_answer(f"answered {path} without a list of items")
            items.extend(body["items"])
            cursor = body.get("next_cursor")
            if not cursor:
                return items

    async def parts(self, calls: Mapping[str, Awaitable[Any]]) -> Results:
        """Every call at once; each result is its value or the Problem it raised."""
        settled = await settle(calls)
        self.failed = any(isinstance(result, Problem) for result in settled.values())
        return Results(settled)

    def _answered(
        self, client: ServiceClient, path: str, params: Mapping[str, str], etag: str | None
    ) -> None:
        self.validators.append((client.name, f"{path}?{sorted(params.items())}", etag or ""))

    def _document_key(self) -> tuple[Any, ...] | None:
        """What the document is a function of: the request's path, the route's parameters and
        its parts' ETags. None when a part failed or answered without one (a 404)."""
        if self.failed or not self.validators or not all(e for *_, e in self.validators):
            return None
        return (self.request.url.path, self.given, tuple(sorted(self.validators)))

    def kept(self) -> Response | None:
        """The answer sent when the parts last answered these ETags, if the gateway kept it."""
        key = self._document_key()
        held = self.services.documents.get(key) if key is not None else None
        if held is None:
            return None
        body, etag = held
        return self._whole(body, etag)

    def answer(self, document: dict[str, Any]) -> Response:
        """The answer: with its own ETag (304 on a match) when whole, uncacheable when
        partial. A whole answer is kept under its parts' ETags (`kept`)."""
        problems = document.get("problems", [])
        body = orjson.dumps(document)
        if problems:
            headers = {
                "Vary": "Authorization",
                PARTIAL_HEADER: ", ".join(p["part"] for p in problems),
                "Cache-Control": "no-store",
            }
            return Response(body, media_type="application/json", headers=headers)
        etag = etag_for(body)
        key = self._document_key()
        if key is not None:
            self.services.documents.put(key, (body, etag))
        return self._whole(body, etag)

    def _whole(self, body: bytes, etag: str) -> Response:
        headers = {"Vary": "Authorization", "ETag": etag}
        if none_match(self.request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers=headers)
        return Response(body, media_type="application/json", headers=headers)


def part_problem(part: str, problem: Problem, instance: str) -> dict[str, Any]:
    body = problem.body(instance)
    body.setdefault("service", "gateway")
    body["part"] = part
    return body


def required(result: Any) -> Any:
    """A required part's value; its problem, raised, fails the whole request."""
    if isinstance(result, Problem):
        raise result
    return result
