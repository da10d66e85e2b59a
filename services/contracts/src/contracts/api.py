"""HTTP plumbing shared by the routers: dependencies, documented errors, document responses."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.responses import Response

from contracts.access import WRITE_SCOPE
from contracts.references import References
from tdi_kit.auth import Caller, require_scope
from tdi_kit.conditional import none_match
from tdi_kit.errors import ProblemRead
from tdi_kit.pagination import CSV_MEDIA_TYPE

Writer = Annotated[Caller, Depends(require_scope(WRITE_SCOPE))]


async def _references(request: Request) -> References:
    return References(request.app.state.registry, funding=request.app.state.funding)


RefsDep = Annotated[References, Depends(_references)]

# For reads open to all that show more to a token (who acted, to that organisation): the token
# is optional, which OpenAPI says with an empty requirement beside the bearer one.
OPTIONAL_BEARER: dict[str, Any] = {"security": [{}, {"HTTPBearer": []}]}

_DESCRIPTIONS = {
    304: "Not modified (If-None-Match names the current ETag).",
    401: "No valid bearer token.",
    403: "The token lacks the scope, or an operator's token reaches beyond what it finances.",
    404: "No such record.",
    409: "The contract's state forbids this (signed: use an amendment; closed; live elsewhere).",
    412: "If-Match names an ETag that is no longer current: read the record again.",
    413: "The request body is over the limit.",
    428: "If-Match is required: send the ETag of the record as you read it.",
    503: "The registry, which checks territories and organisations, cannot be reached.",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem documents an operation may answer."""
    docs: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        if status == 304:
            docs[status] = {"description": _DESCRIPTIONS[status]}
        else:
            docs[status] = {
                "model": ProblemRead,
                "content": {
                    "application/problem+json": {
                        "schema": {"$ref": "#/components/schemas/ProblemRead"}
                    }
                },
                "description": _DESCRIPTIONS[status],
            }
    return docs


READ_ONE = problems(304, 404)
# 200 is JSON, or CSV with `format=csv` / `Accept: text/csv`.
LIST = {200: {"content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}}}}, **problems(304)}
CREATE = problems(401, 403, 404, 409, 412, 413, 503)
UPDATE = problems(401, 403, 404, 409, 412, 413, 428, 503)


def document_response(body: str, etag: str, status_code: int = 200, **headers: str) -> Response:
    return Response(
        body,
        status_code=status_code,
        media_type="application/json",
        headers={"ETag": etag, **headers},
    )


def conditional_document(request: Request, body: str, etag: str) -> Response:
    if none_match(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers={"ETag": etag})
    return document_response(body, etag)
