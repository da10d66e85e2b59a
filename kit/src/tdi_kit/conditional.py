"""ETags: `If-None-Match` on reads (304); `If-Match` on writes (428 when missing, 412 stale)."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import Header
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tdi_kit.errors import PreconditionFailed, PreconditionRequired


def etag_for(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def _tags(header: str) -> list[str]:
    # Weak comparison (RFC 9110 §8.8.3.2): W/"x" matches "x" for If-None-Match.
    return [t.strip().removeprefix("W/") for t in header.split(",") if t.strip()]


def none_match(header: str | None, etag: str) -> bool:
    """True when an If-None-Match header names this ETag, so the answer is 304."""
    if not header:
        return False
    tags = _tags(header)
    return "*" in tags or etag.removeprefix("W/") in tags


def check_if_match(header: str | None, etag: str, *, what: str) -> None:
    """Writes to an existing record must say which version they change."""
    if not header:
        raise PreconditionRequired(
            f"Send If-Match with the ETag of the {what} you read, so that a concurrent change "
            "is not overwritten."
        )
    tags = [t.strip() for t in header.split(",")]
    if "*" not in tags and etag not in tags:
        raise PreconditionFailed(
            f"The {what} changed since you read it (its ETag is now {etag}); read it again.",
            current_etag=etag,
        )


IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description="The ETag of the record as last read; required for updates.",
    ),
]


class ConditionalGetMiddleware:
    """Adds an ETag to buffered GET answers that have none, and turns matches into 304.

    Streamed answers (no Content-Length, such as CSV exports) pass through untouched.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        if_none_match = None
        for name, value in scope["headers"]:
            if name == b"if-none-match":
                if_none_match = value.decode("latin-1")
        start: Message | None = None
        chunks: list[bytes] = []
        passthrough = False

        async def buffered_send(message: Message) -> None:
            nonlocal start, passthrough
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                names = {k.lower() for k, _ in headers}
                if message["status"] != 200 or b"etag" in names or b"content-length" not in names:
                    passthrough = True
                    await send(message)
                else:
                    start = message
                return
            if passthrough or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            etag = etag_for(body)
            headers = [*start.get("headers", []), (b"etag", etag.encode())]
            if none_match(if_none_match, etag):
                keep = {b"etag", b"cache-control", b"vary", b"x-request-id", b"link"}
                await send(
                    {
                        "type": "http.response.start",
                        "status": 304,
                        "headers": [(k, v) for k, v in headers if k.lower() in keep],
                    }
                )
                await send({"type": "http.response.body", "body": b""})
                return
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, buffered_send)
