"""A record's JSON and its ETag, computed once, so that the ETag a read serves is the one a
later write's If-Match is checked against."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from starlette.responses import Response

from tdi_kit.conditional import etag_for
from tdi_kit.errors import ProblemRead


def body_of(record: BaseModel) -> bytes:
    return record.model_dump_json().encode()


def etag_of(record: BaseModel) -> str:
    return etag_for(body_of(record))


def read_response(record: BaseModel) -> Response:
    """The kit's middleware adds the ETag (and answers 304) from these very bytes."""
    return Response(body_of(record), media_type="application/json")


def write_response(
    record: BaseModel, *, status_code: int = 200, location: str | None = None
) -> Response:
    body = body_of(record)
    headers = {"ETag": etag_for(body)}
    if location:
        headers["Location"] = location
    return Response(body, status_code=status_code, media_type="application/json", headers=headers)


def _problem(description: str) -> dict[str, Any]:
    return {
        "model": ProblemRead,
        "content": {"application/problem+json": {}},
        "description": description,
    }


# Every router documents these, so that clients generated from the OpenAPI know each problem.
PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: _problem("A write without a valid bearer token (or the ledger read without one)."),
    403: _problem("The token lacks `funding:write`, or the record is another operator's."),
    404: _problem("No such record, or a proposed allocation of another operator."),
    409: _problem(
        "The money is not there (over-commitment, over-disbursement) or the state "
        "forbids it; a duplicate."
    ),
    412: _problem("If-Match names an older version of the record."),
    413: _problem("The body is over the size limit."),
    415: _problem("A bulk push that is neither JSON nor CSV."),
    428: _problem("If-Match is missing on a change to an existing record."),
    503: _problem("The registry or the contracts service cannot be reached; nothing stored."),
}

# For reads open to all that show more to a token (a proposed allocation to its operator): the
# token is optional, which OpenAPI says with an empty requirement beside the bearer one.
OPTIONAL_BEARER: dict[str, Any] = {"security": [{}, {"HTTPBearer": []}]}
