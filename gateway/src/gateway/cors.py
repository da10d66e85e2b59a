"""CORS at the edge: the public API is readable from any origin; tokens only from known ones.

The programme's published data is public, so a page on any origin may read it: an answer to a
request without `Authorization` says `Access-Control-Allow-Origin: *`, whatever the origin
(and whether or not one was sent, so that a cache never hands a browser an answer without it).
A request that carries a token (every write, and the reads that show more to a token) is
answered for a browser only when its origin is one of `GATEWAY_CORS_ORIGINS`: the answer then
names that origin, allows credentials and varies on `Origin`; any other origin gets no CORS
header, and the browser keeps the answer from the page.

Preflights (`OPTIONS` with `Access-Control-Request-Method`) are answered here, for every path,
before the edge's checks and the routing (a service would answer 405): 204 for a read without
a token from any origin, or for anything from a listed origin; 403 (a problem naming the
setting) when an unlisted origin asks to send a token or to write.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tdi_kit.errors import Forbidden, problem_response

PUBLIC_METHODS = b"GET, HEAD"
ALL_METHODS = b"GET, HEAD, POST, PUT, PATCH, DELETE"
MAX_AGE_SECONDS = b"600"
TOKEN = re.compile(rb"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


class CORS:
    """The edge's CORS rules (see the module's docstring)."""

    def __init__(
        self, app: ASGIApp, *, allow_origins: Sequence[str], expose_headers: Sequence[str]
    ) -> None:
        self.app = app
        self.allowed = {origin.rstrip("/").encode() for origin in allow_origins}
        self.expose = ", ".join(expose_headers).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = authorization = requested_method = requested_headers = None
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value
            elif name == b"authorization":
                authorization = value
            elif name == b"access-control-request-method":
                requested_method = value
            elif name == b"access-control-request-headers":
                requested_headers = value
        if scope["method"] == "OPTIONS" and origin is not None and requested_method is not None:
            await self.preflight(scope, receive, send, origin, requested_method, requested_headers)
            return
        if authorization is None:
            headers = [
                (b"access-control-allow-origin", b"*"),
                (b"access-control-expose-headers", self.expose),
            ]
        elif origin is not None and origin in self.allowed:
            headers = [
                (b"access-control-allow-origin", origin),
                (b"access-control-allow-credentials", b"true"),
                (b"access-control-expose-headers", self.expose),
                (b"vary", b"Origin"),
            ]
        else:
            headers = [(b"vary", b"Origin")]
        await self.app(scope, receive, with_headers(send, headers))

    async def preflight(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        origin: bytes,
        requested_method: bytes,
        requested_headers: bytes | None,
    ) -> None:
        asked = [h.strip().lower() for h in (requested_headers or b"").split(b",") if h.strip()]
        if not all(TOKEN.match(h) for h in asked):
            asked = []
        listed = origin in self.allowed
        public = b"authorization" not in asked and requested_method.upper() in (b"GET", b"HEAD")
        if not public and not listed:
            problem = Forbidden(
                f"The origin {origin.decode('latin-1')[:200]!r} may read the public API without "
                "a token, but not send one or write: its operators ask for it to be added to "
                "GATEWAY_CORS_ORIGINS."
            )
            await problem_response(problem, scope["path"])(scope, receive, send)
            return
        headers = [
            (b"access-control-allow-origin", origin if listed else b"*"),
            (b"access-control-allow-methods", ALL_METHODS if listed else PUBLIC_METHODS),
            (b"access-control-max-age", MAX_AGE_SECONDS),
            (b"vary", b"Origin"),
        ]
        if asked:
            headers.append((b"access-control-allow-headers", b", ".join(asked)))
        if listed:
            headers.append((b"access-control-allow-credentials", b"true"))
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


def with_headers(send: Send, headers: list[tuple[bytes, bytes]]) -> Send:
    """`send`, adding `headers` to the answer's head."""

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), *headers]
        await send(message)

    return send_with_headers
