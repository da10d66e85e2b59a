"""RFC 9457 problem details: domain errors are exceptions, one handler renders them all."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any, ClassVar, TypeVar

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from tdi_kit.observability import current_request_id

PROBLEM_MEDIA_TYPE = "application/problem+json"
# How long a client should wait before retrying when the database is away: long enough for a
# restarting server or a failover, short enough that nobody gives up on a blip.
DATABASE_RETRY_AFTER_SECONDS = 5
log = logging.getLogger("tdi.errors")


class FieldError(BaseModel):
    """One invalid input: where it is (`body`, `query`, `path`, `header`), which field, why."""

    location: str
    field: str
    message: str
    type: str = "invalid"


class ProblemRead(BaseModel):
    """An RFC 9457 problem document, as every error of the API is rendered. Some carry extension
    members (`service`: the service that failed; `current_etag`: the record's version)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:tdi:problem:unknown-query-parameter",
                    "title": "Bad request",
                    "status": 400,
                    "detail": "Query parameters this operation does not take, or takes once: "
                    "regoin.",
                    "instance": "/api/v1/territories",
                    "request_id": "3cd4a216ea2743a891c6b0331c4aaa2f",
                    "errors": [
                        {
                            "location": "query",
                            "field": "regoin",
                            "type": "unknown",
                            "message": "not a parameter of this operation; did you mean "
                            "'region'? it takes: commune, cursor, department, format, limit, "
                            "member, phase, q, region, sort, status, touches_region",
                        }
                    ],
                }
            ]
        },
    )

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


_Record = TypeVar("_Record")


def or_not_found(record: _Record | None, kind: str, key: object) -> _Record:
    """The record a service looked up, or the 404 problem `No {kind} {key}.` when there is none."""
    if record is None:
        raise NotFound(kind, key)
    return record


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


class DatabaseUnavailable(ServiceUnavailable):
    """The service's own database refuses connections, is not there, or did not answer in time.

    Never carries the driver's text (it names hosts, users and statements)."""

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(
            detail or "The database does not answer; retry shortly.",
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
            **extra,
        )


class GatewayTimeout(Problem):
    status, title, slug = 504, "Gateway timeout", "timeout"


class HTTPProblem(Problem):
    """A plain HTTP error raised by the framework (unknown route, wrong method)."""

    def __init__(self, status: int, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail, headers=headers)
        known = _BY_STATUS.get(status)
        # Problem declares these as class constants (ClassVar); this one class sets them per
        # instance, for whatever status the framework raised.
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


# SQLSTATEs of a write that lost a race to a concurrent one (serialization failure, deadlock):
# the caller's request is sound, and retrying it after a fresh read is the cure.
_LOST_RACE_STATES = {"40001", "40P01"}
# SQLSTATEs that mean the server is not there for us: connection exceptions (class 08), out of
# connections or memory (class 53), shutting down or starting (57P01-57P03), and a statement
# cancelled by its timeout (57014).
_UNAVAILABLE_STATE_CLASSES = ("08", "53")
_UNAVAILABLE_STATES = {"57014", "57P01", "57P02", "57P03"}


def database_problem(exc: BaseException) -> Problem | None:
    """The problem a database failure is to the caller, or None if `exc` is not one.

    - an integrity error (a unique key taken by a concurrent writer, most often) is a 409: the
      services check their keys first, so one that escapes lost a race;
    - a serialization failure or a deadlock is a 409 too: the request may be retried as is;
    - a refused or timed-out connection, a statement past its timeout, a pool with no connection
      to lend, a locked or missing SQLite file is a 503 with `Retry-After`.

    Raw `OSError`s count as the database's: `asyncpg` raises them as they are (connection
    refused, connect or command timeout), and a service does no other I/O of its own (its calls
    to other services go through httpx, whose errors are problems already).
    """
    if isinstance(exc, Problem):
        return None
    if isinstance(exc, sa_exc.IntegrityError):
        return Conflict(
            "This write conflicts with a record written at the same time (the key is taken); "
            "read the current state and retry."
        )
    if isinstance(exc, sa_exc.DBAPIError):
        state = str(getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None) or "")
        if state in _LOST_RACE_STATES:
            return Conflict("This write raced a concurrent one and was undone; retry it.")
        if (
            exc.connection_invalidated
            or state.startswith(_UNAVAILABLE_STATE_CLASSES)
            or state in _UNAVAILABLE_STATES
            or isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError)
        ):
            return DatabaseUnavailable()
        return None
    if isinstance(exc, sa_exc.TimeoutError | sa_exc.DisconnectionError | OSError):
        return DatabaseUnavailable()
    return None


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


async def _on_database(request: Request, exc: Exception) -> Response:
    problem = database_problem(exc)
    if problem is None:
        return await _on_unexpected(request, exc)
    log.warning(
        "database failure on %s %s: %s",
        request.method,
        request.url.path,
        type(exc).__name__,
        exc_info=exc,
    )
    return problem_response(problem, _instance(request))


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    # The last resort, also reached by what a middleware raises (outside the handlers above):
    # a problem or a database failure there still gets its own status, not a 500.
    if isinstance(exc, Problem):
        return problem_response(exc, _instance(request))
    has_database = getattr(request.app.state, "engine", None) is not None
    if has_database and database_problem(exc) is not None:
        return await _on_database(request, exc)
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(
        Problem("An unexpected error occurred; it has been logged."), _instance(request)
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(sa_exc.SQLAlchemyError, _on_database)
    app.add_exception_handler(Exception, _on_unexpected)
