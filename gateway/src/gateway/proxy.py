"""The pass-through: a bare ASGI callable forwarding bytes over the shared aiohttp session.

This is the hot path of the gateway, so it does the least it can per request: one lookup in
the route table, the caller's headers copied as they are (hop-by-hop ones dropped, those named
in `Connection` too, the request id and `X-Forwarded-*` set), the service's status, headers and
body bytes sent back as they come, never parsed; only a relative `Link` or `Location` is made
absolute on the gateway's `public_base_url`. No framework routing, no request or response
objects: the benchmark in `docs/gateway.md` shows each of those costing a large share of the
throughput.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import aiohttp
from starlette.types import Scope

from gateway.clients import CONNECTION_FAILURES, SAFE_METHODS, ServiceClient, Services
from gateway.settings import GatewaySettings
from tdi_kit.deadline import BUDGET_HEADER, budget_header
from tdi_kit.errors import PayloadTooLarge, Problem, problem_response
from tdi_kit.observability import current_request_id

Headers = Sequence[tuple[bytes, bytes]]

# Public paths and who serves them, as path prefixes; `*` is one segment of any value and the
# longest matching prefix wins (the gateway's own dossier beats the registry's territories).
GATEWAY = "gateway"
ROUTES: dict[str, str] = {
    # The gateway's own aggregates (FastAPI; so is every path no service claims).
    "/api/v1/dashboard": GATEWAY,
    "/api/v1/territories/*/dossier": GATEWAY,
    "/api/v1/vocabularies": GATEWAY,
    "/api/v1/events": GATEWAY,  # the three feeds merged
    # registry (but a territory's contracts, which contracts holds)
    "/api/v1/territories": "registry",
    "/api/v1/territories/*/contracts": "contracts",
    "/api/v1/territory-outlines": "registry",
    "/api/v1/regions": "registry",
    "/api/v1/departments": "registry",
    "/api/v1/groupements": "registry",
    "/api/v1/communes": "registry",
    "/api/v1/organisations": "registry",
    "/api/v1/programme": "registry",
    "/api/v1/webhooks": "registry",
    # funding
    "/api/v1/conventions": "funding",
    "/api/v1/envelopes": "funding",
    "/api/v1/allocations": "funding",
    "/api/v1/disbursements": "funding",
    "/api/v1/balances": "funding",
    "/api/v1/ledger": "funding",
    "/api/v1/reported-figures": "funding",
    # contracts
    "/api/v1/contracts": "contracts",
    "/api/v1/actions": "contracts",
}

# RFC 9110 §7.6.1: meaningful for one connection only, never forwarded; so is every header the
# `Connection` header names (see `_dropped`).
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
# The request id is the gateway's (the middleware adds it once); the server adds date and server.
DROPPED_FROM_ANSWERS = HOP_BY_HOP | {b"x-request-id", b"date", b"server"}
DROPPED_FROM_REQUESTS = HOP_BY_HOP | {
    # The service is addressed by its own name; nothing it answers is built on the caller's.
    b"host",
    b"x-request-id",
    b"x-forwarded-for",
    b"x-forwarded-proto",
    b"x-forwarded-host",
    b"forwarded",
    b"content-length",
    b"expect",  # the body is read already: no 100-continue to wait for
    # The gateway says what is left of its own budget; a caller's value is not the service's.
    BUDGET_HEADER.lower().encode("latin-1"),
}
# Answers up to this size are read at once and sent in one ASGI message; larger or unsized ones
# (CSV exports, GeoJSON outlines) stream chunk by chunk.
BUFFERED_ANSWER_BYTES = 256 * 1024
REMEMBERED_PATHS = 4096
# A link target that is a path: `</api/...>`, not `<//host/...>` nor `<https://...>`.
RELATIVE_LINK = re.compile(rb"<(?=/(?!/))")


class RouteTable:
    """Which service serves a path: a trie of path segments, literal segments before `*`."""

    def __init__(self, routes: Mapping[str, str]) -> None:
        self.root: dict[str, Any] = {}
        for pattern, target in routes.items():
            node = self.root
            for segment in pattern.strip("/").split("/"):
                node = node.setdefault(segment, {})
            node[""] = target  # no path segment is empty, so "" cannot clash with one
        self.seen: dict[str, str | None] = {}

    def resolve(self, path: str) -> str | None:
        # Most requests repeat a path seen moments ago: remember the last few thousand answers.
        try:
            return self.seen[path]
        except KeyError:
            pass
        found = _longest(self.root, path.strip("/").split("/"), 0)
        if len(self.seen) >= REMEMBERED_PATHS:
            self.seen.clear()
        self.seen[path] = found
        return found


def _longest(node: dict[str, Any], segments: list[str], i: int) -> str | None:
    if i < len(segments):
        for key in (segments[i], "*"):
            child = node.get(key)
            if child is not None:
                found = _longest(child, segments, i + 1)
                if found is not None:
                    return found
    return node.get("")


class ProxyRoute:
    """What the metrics middleware reads as `scope["route"].path` for a forwarded request."""

    __slots__ = ("path",)

    def __init__(self, service: str) -> None:
        self.path = f"/api/v1/* ({service})"


class Proxy:
    """Forwards one request to a service and streams its answer back unchanged."""

    def __init__(self, services: Services, settings: GatewaySettings) -> None:
        self.services = services
        self.max_body_bytes = settings.max_body_bytes
        self.budget = settings.budget_seconds
        self.connect_timeout = settings.connect_timeout_seconds
        self.routes = {name: ProxyRoute(name) for name in services.by_name}
        self.public_base_url = (
            settings.public_base_url.encode() if settings.public_base_url else None
        )

    async def __call__(
        self,
        scope: Scope,
        receive: Any,
        send: Any,
        service: ServiceClient,
        extra_headers: Headers,
    ) -> None:
        scope["route"] = self.routes[service.name]
        method: str = scope["method"]
        try:
            body = await self._read_body(scope, receive)
        except Problem as refused:
            await send_problem(refused, scope, send, extra_headers)
            return
        headers = self._request_headers(scope)
        raw_path = scope.get("raw_path") or scope["path"].encode()
        url = service.base_url + raw_path.decode("latin-1")
        if scope["query_string"]:
            url += "?" + scope["query_string"].decode("latin-1")
        session = self.services.pool.session
        retry = method in SAFE_METHODS
        response: aiohttp.ClientResponse | None = None
        deadline = time.monotonic() + self.budget
        for attempt in (1, 2):
            if not service.breaker.allow():
                service.outcome("breaker_open")
                await send_problem(service.breaker_open(), scope, send, extra_headers)
                return
            left = deadline - time.monotonic()
            if left <= 0:
                service.outcome("timeout")
                await send_problem(service.timed_out(), scope, send, extra_headers)
                return
            # Silence allowed from the service: what is left of the budget, for the answer's
            # head and then between chunks of its body.
            timeout = aiohttp.ClientTimeout(
                total=None, sock_connect=min(self.connect_timeout, left), sock_read=left
            )
            started = time.perf_counter()
            try:
                response = await session.request(
                    method,
                    url,
                    # The service gives up when the gateway would (tdi_kit.deadline).
                    headers=[*headers, budget_header(left)],
                    data=body,
                    timeout=timeout,
                    allow_redirects=False,
                    compress=None,
                )
                break
            except CONNECTION_FAILURES as exc:
                service.outcome("unreachable", started)
                if retry and attempt == 1:
                    continue
                service.breaker.failure()
                problem: Problem = service.unavailable(f"cannot be reached ({type(exc).__name__})")
            except TimeoutError:
                service.outcome("timeout", started)
                service.breaker.failure()
                problem = service.timed_out()
            except aiohttp.ClientResponseError:
                # An answer the gateway's parser refuses (a header over its limits, say) says
                # nothing of the service's health: reported, but the breaker is left alone.
                service.outcome("unreadable", started)
                problem = service.unreadable()
            except aiohttp.ClientError as exc:
                service.outcome("bad_answer", started)
                service.breaker.failure()
                problem = service.bad_answer(f"sent a broken answer ({type(exc).__name__})")
            await send_problem(problem, scope, send, extra_headers)
            return
        assert response is not None
        service.outcome("error" if response.status >= 500 else "ok", started)
        try:
            await self._relay(response, service, scope, send, extra_headers)
        finally:
            response.release()

    async def _read_body(self, scope: Scope, receive: Any) -> bytes | None:
        # Bodies are read whole (up to the same limit as the services'), so that a read can be
        # sent again after a connection failure, and an oversized one stops here with 413.
        if scope["method"] in ("GET", "HEAD") and not _announces_body(scope["headers"]):
            return None
        chunks = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise PayloadTooLarge(
                    f"The request body is over the limit of {self.max_body_bytes} bytes."
                )
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def _request_headers(self, scope: Scope) -> list[tuple[str, str]]:
        dropped = _dropped(scope["headers"], DROPPED_FROM_REQUESTS)
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in scope["headers"]
            if name not in dropped
        ]
        client = scope.get("client")
        if client:
            headers.append(("X-Forwarded-For", client[0]))
        headers.append(("X-Forwarded-Proto", scope.get("scheme", "http")))
        request_id = current_request_id()
        if request_id:
            headers.append(("X-Request-ID", request_id))
        return headers

    async def _relay(
        self,
        response: aiohttp.ClientResponse,
        service: ServiceClient,
        scope: Scope,
        send: Any,
        extra_headers: Headers,
    ) -> None:
        status = response.status
        if status >= 500:
            service.breaker.failure()
        else:
            service.breaker.success()
        raw = [(name.lower(), value) for name, value in response.raw_headers]
        dropped = _dropped(raw, DROPPED_FROM_ANSWERS)
        headers = [(name, value) for name, value in raw if name not in dropped]
        if self.public_base_url is not None:
            headers = [_on_public_base(self.public_base_url, h) for h in headers]
        headers.extend(extra_headers)
        length = response.content_length
        if length is not None and length <= BUFFERED_ANSWER_BYTES:
            try:
                body = await response.read()
            except TimeoutError:
                service.breaker.failure()
                await send_problem(service.timed_out(), scope, send, extra_headers)
                return
            except aiohttp.ClientError as exc:
                service.breaker.failure()
                problem = service.bad_answer(f"sent a broken answer ({type(exc).__name__})")
                await send_problem(problem, scope, send, extra_headers)
                return
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await send({"type": "http.response.start", "status": status, "headers": headers})
        async for chunk in response.content.iter_any():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


def _dropped(headers: Iterable[tuple[bytes, bytes]], always: frozenset[bytes]) -> frozenset[bytes]:
    """`always`, plus the headers a `Connection` header names (RFC 9110 §7.6.1)."""
    named: set[bytes] = set()
    for name, value in headers:
        if name == b"connection":
            named.update(option.strip().lower() for option in value.split(b","))
    return always | named if named else always


def _on_public_base(base: bytes, header: tuple[bytes, bytes]) -> tuple[bytes, bytes]:
    """A relative `Link` target or `Location`, made absolute on the gateway's public base URL."""
    name, value = header
    if name == b"link":
        return name, RELATIVE_LINK.sub(lambda _target: b"<" + base, value)
    if name == b"location" and value.startswith(b"/") and not value.startswith(b"//"):
        return name, base + value
    return header


def _announces_body(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name == b"content-length":
            return value != b"0"
        if name == b"transfer-encoding":
            return True
    return False


async def send_problem(
    problem: Problem, scope: Scope, send: Any, extra_headers: Headers = ()
) -> None:
    """Answer with a problem document, plus `extra_headers` (the caller's rate limit)."""
    response = problem_response(problem, scope["path"])
    response.raw_headers.extend(extra_headers)
    await response(scope, _no_receive, send)


async def _no_receive() -> dict[str, Any]:
    return {"type": "http.disconnect"}
