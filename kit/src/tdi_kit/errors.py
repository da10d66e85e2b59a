"""RFC 9457 problem details: domain errors are exceptions, one handler renders them all."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any, ClassVar

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from tdi_kit.observability import current_request_id

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("tdi.errors")


class FieldError(BaseModel):
    """One invalid input: where it is (`body`, `query`, `path`, `header`), which field, why."""

    location: str
    field: str
    message: str
    type: str = "invalid"


class ProblemRead(BaseModel):
    """An RFC 9457 problem document, as every error of the API is rendered."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = Field(
        default=None, description="For validation problems: each invalid field."
    )


class Problem(Exception):
    """An error the caller should see. Subclasses set status and title; `extra` adds members."""

    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"
    slug: ClassVar[str] = "internal"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra

    def body(self, instance: str | None) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "type": f"urn:tdi:problem:{self.slug}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
            "request_id": current_request_id(),
        }
        if self.errors:
            doc["errors"] = [e.model_dump() for e in self.errors]
        doc.update(self.extra)
        return doc


class BadRequest(Problem):
    status, title, slug = 400, "Bad request", "bad-request"


class Unauthorized(Problem):
    status, title, slug = 401, "Authentication required", "unauthorized"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"}, **extra)


class Forbidden(Problem):
    status, title, slug = 403, "Forbidden", "forbidden"


class NotFound(Problem):
    status, title, slug = 404, "Not found", "not-found"

    def __init__(self, kind: str, key: object, **extra: Any) -> None:
        super().__init__(f"No {kind} {key!s}.", **extra)


class Conflict(Problem):
    status, title, slug = 409, "Conflict", "conflict"


class PreconditionFailed(Problem):
    status, title, slug = 412, "Precondition failed", "precondition-failed"


class PayloadTooLarge(Problem):
    status, title, slug = 413, "Payload too large", "payload-too-large"


class Unprocessable(Problem):
    status, title, slug = 422, "Unprocessable content", "validation"

    @classmethod
    def field(cls, location: str, field: str, message: str, **extra: Any) -> Unprocessable:
        error = FieldError(location=location, field=field, message=message)
        return cls(f"{field}: {message}", errors=[error], **extra)


class PreconditionRequired(Problem):
    status, title, slug = 428, "Precondition required", "precondition-required"


class TooManyRequests(Problem):
    status, title, slug = 429, "Too many requests", "rate-limited"


class BadGateway(Problem):
    status, title, slug = 502, "Bad gateway", "bad-gateway"


class ServiceUnavailable(Problem):
    status, title, slug = 503, "Service unavailable", "unavailable"


class GatewayTimeout(Problem):
    status, title, slug = 504, "Gateway timeout", "timeout"


class HTTPProblem(Problem):
    """A plain HTTP error raised by the framework (unknown route, wrong method)."""

    def __init__(self, status: int, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail, headers=headers)
        known = _BY_STATUS.get(status)
        self.status = status  # type: ignore[misc]
        self.title = known.title if known else HTTPStatus(status).phrase  # type: ignore[misc]
        self.slug = known.slug if known else HTTPStatus(status).phrase.lower().replace(" ", "-")  # type: ignore[misc]


_BY_STATUS: dict[int, type[Problem]] = {
    cls.status: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        PreconditionFailed,
        PayloadTooLarge,
        Unprocessable,
        PreconditionRequired,
        TooManyRequests,
        BadGateway,
        ServiceUnavailable,
        GatewayTimeout,
    )
}


def problem_response(problem: Problem, instance: str | None = None) -> Response:
    return Response(
        orjson.dumps(problem.body(instance)),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=problem.headers,
    )


def _instance(request: Request) -> str:
    return request.url.path


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_response(exc, _instance(request))


async def _on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ())]
        location = loc[0] if loc else "body"
        field = ".".join(loc[1:]) or location
        errors.append(
            FieldError(location=location, field=field, message=err["msg"], type=err["type"])
        )
    names = ", ".join(sorted({e.field for e in errors}))
    return problem_response(
        Unprocessable(f"Invalid input: {names}.", errors=errors), _instance(request)
    )


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    problem = HTTPProblem(exc.status_code, str(exc.detail), headers=headers)
    return problem_response(problem, _instance(request))


def _allowed_methods(request: Request) -> str:
    """Every method the path answers to: Starlette names only those of the first route that
    matched the path, and a territory is served by one route for GET and another for PATCH."""
    allowed = []
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return ", ".join(allowed)


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(
        Problem("An unexpected error occurred; it has been logged."), _instance(request)
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_unexpected)
