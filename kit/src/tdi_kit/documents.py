"""Answers that serve a record's stored document: its JSON as written, with its ETag.

A service renders a record's document once, when the record changes, and stores it with its
ETag; reads serve those very bytes, so that the ETag a read serves is the one a later write's
If-Match is checked against. Services whose records are rendered on the way out (funding) use
the `*_model` helpers, which hash the JSON they answer.
"""

from __future__ import annotations

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from tdi_kit.conditional import etag_for, none_match

JSON = "application/json"


def document_response(body: str, etag: str, status_code: int = 200, **headers: str) -> Response:
    """A stored document with its ETag (and the extra headers, `Location` say)."""
    return Response(
        body, status_code=status_code, media_type=JSON, headers={"ETag": etag, **headers}
    )


def conditional_document(request: Request, body: str, etag: str) -> Response:
    """A stored document, or 304 when If-None-Match names its ETag."""
    if none_match(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers={"ETag": etag})
    return document_response(body, etag)


def body_of(record: BaseModel) -> bytes:
    return record.model_dump_json().encode()


def etag_of(record: BaseModel) -> str:
    return etag_for(body_of(record))


def read_response(record: BaseModel) -> Response:
    """A record rendered now: the kit's middleware adds the ETag (and answers 304) from these
    very bytes."""
    return Response(body_of(record), media_type=JSON)


def write_response(
    record: BaseModel, *, status_code: int = 200, location: str | None = None
) -> Response:
    """A record as a write left it, with the ETag of its JSON (and `Location` on a create)."""
    body = body_of(record)
    headers = {"ETag": etag_for(body)}
    if location:
        headers["Location"] = location
    return Response(body, status_code=status_code, media_type=JSON, headers=headers)
