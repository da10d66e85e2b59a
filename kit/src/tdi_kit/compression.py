"""Compressed answers: brotli or gzip when the caller accepts it, for answers over 1 KB.

Negotiation (RFC 9110 §12.5.3): the caller's `Accept-Encoding` with its q-values; between
equal weights brotli first (a third smaller than gzip on our JSON for about the same CPU, see
docs/benchmarks.md), then gzip; `identity`, no header or `q=0` everywhere: the bytes as they are.

- Only what compresses: JSON, problem documents, GeoJSON, text; never an answer that already
  has a `Content-Encoding` (so nothing is compressed twice through the gateway).
- Only sized answers (`Content-Length`) of at least `MIN_BYTES`. Streamed answers (CSV exports,
  event feeds) have no length and pass as they are: compressing them would mean holding each
  chunk in a compressor and flushing it, trading the stream's latency for bytes.
- Every answer whose bytes could vary says so: `Vary: Accept-Encoding`.
- One ETag per representation: the compressed one is the identity one with `-br` or `-gzip`
  inside the quotes (as Apache does). Validators a caller sends back (`If-None-Match`,
  `If-Match`) are turned back into the identity ETag before the app compares them, so a 304, a
  412 or a write behave the same whichever representation the caller read; a 304 names the
  representation the caller holds.
- HEAD gives the headers a GET would: the services answer HEAD outside this layer (as a GET
  whose body is dropped), so with the compressed length too; where a HEAD reaches this layer
  (the gateway's own routes), the encoding and its ETag, without a length.
- Large answers with an ETag (the phase-2 outlines, about 1 MB of coordinates) are compressed
  fast on the first request (brotli 4: a third of their size) while a thread compresses them
  once at brotli's best (quality 11: a fifth, seconds of CPU); later requests get the best
  bytes from a small cache keyed by ETag, so the CPU is spent once per version of the answer.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
from collections import OrderedDict
from collections.abc import Callable

import brotli
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MIN_BYTES = 1024
# Fast settings: an answer is compressed on every request, never stored compressed. Brotli's
# quality 4 and gzip's level 6 (zlib's default) each cost about 10 ms per MB of JSON here.
BROTLI_QUALITY = 4
GZIP_LEVEL = 6
COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "br": lambda body: bytes(brotli.compress(body, quality=BROTLI_QUALITY)),
    "gzip": lambda body: gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0),
}
BEST: dict[str, Callable[[bytes], bytes]] = {
    # gzip gains nothing past its default level on our answers; brotli goes from 1/3 to 1/5.
    "br": lambda body: bytes(brotli.compress(body, quality=11)),
}
BEST_FROM_BYTES = 64 * 1024
BEST_CACHE_BYTES = 32 * 1024 * 1024
PREFERENCE = tuple(COMPRESSORS)  # the server's order between equal q-values
SUFFIXES = tuple(f"-{name}" for name in COMPRESSORS)
COMPRESSIBLE = (
    b"application/json",
    b"application/problem+json",
    b"application/geo+json",
    b"application/xml",
    b"application/javascript",
    b"image/svg+xml",
    b"text/",
)
NOT_COMPRESSED = (b"text/event-stream",)


def negotiate(accept_encoding: str | None) -> str | None:
    """The encoding to answer with, or None for the bytes as they are."""
    if not accept_encoding:
        return None
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        name, _, params = item.strip().partition(";")
        name = name.strip().lower()
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if name:
            weights[name] = q
    wildcard = weights.get("*", 0.0)
    best, best_q = None, 0.0
    for name in PREFERENCE:
        q = weights.get(name, wildcard)
        if q > best_q:
            best, best_q = name, q
    return best


def identity_tags(header: str) -> str:
    """A validator header with every representation suffix removed: `"x-br"` → `"x"`."""
    tags = []
    for tag in header.split(","):
        tag = tag.strip()
        for suffix in SUFFIXES:
            if tag.endswith(suffix + '"'):
                tag = tag[: -len(suffix) - 1] + '"'
                break
        tags.append(tag)
    return ", ".join(tags)


def with_suffix(etag: bytes, encoding: str) -> bytes:
    if not etag.endswith(b'"'):
        return etag
    return etag[:-1] + f"-{encoding}".encode() + b'"'


def _compressible(content_type: bytes) -> bool:
    content_type = content_type.lower()
    if content_type.startswith(NOT_COMPRESSED):
        return False
    return content_type.startswith(COMPRESSIBLE) or b"+json" in content_type


def _vary(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    for i, (name, value) in enumerate(headers):
        if name.lower() == b"vary":
            if b"accept-encoding" in value.lower() or value.strip() == b"*":
                return headers
            headers = list(headers)
            headers[i] = (name, value + b", Accept-Encoding")
            return headers
    return [*headers, (b"vary", b"Accept-Encoding")]


log = logging.getLogger("tdi.compression")


class BestCompressions:
    """Large answers compressed at the best quality, by (ETag, encoding), least recent out."""

    def __init__(self, max_bytes: int = BEST_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.bodies: OrderedDict[tuple[bytes, str], bytes] = OrderedDict()
        self.pending: dict[tuple[bytes, str], asyncio.Task[None]] = {}

    def get(self, etag: bytes, encoding: str) -> bytes | None:
        body = self.bodies.get((etag, encoding))
        if body is not None:
            self.bodies.move_to_end((etag, encoding))
        return body

    def refine(self, etag: bytes, encoding: str, raw: bytes) -> None:
        """Compress `raw` at the best quality in a thread (brotli releases the GIL)."""
        key = (etag, encoding)
        if key in self.pending or encoding not in BEST:
            return
        self.pending[key] = asyncio.get_running_loop().create_task(self._compress(key, raw))

    async def _compress(self, key: tuple[bytes, str], raw: bytes) -> None:
        try:
            body = await asyncio.to_thread(BEST[key[1]], raw)
        except Exception:  # a failure leaves the fast compression in use, nothing worse
            log.exception("best compression failed")
            return
        finally:
            self.pending.pop(key, None)
        self.bodies[key] = body
        self.size += len(body)
        while self.size > self.max_bytes and self.bodies:
            _, dropped = self.bodies.popitem(last=False)
            self.size -= len(dropped)


class CompressionMiddleware:
    """Outermost but for the request context: it sees the answers every other layer made."""

    def __init__(self, app: ASGIApp, *, min_bytes: int = MIN_BYTES) -> None:
        self.app = app
        self.min_bytes = min_bytes
        self.best = BestCompressions()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        accept = None
        sent_tags: list[str] = []
        validators = False
        for name, value in scope["headers"]:
            if name == b"accept-encoding":
                accept = value.decode("latin-1")
            elif name == b"if-none-match":
                sent_tags = [t.strip() for t in value.decode("latin-1").split(",")]
                validators = True
            elif name == b"if-match":
                validators = True
        if validators:
            # In place: layers outside this one read what inner ones write into the scope (the
            # route the metrics name).
            scope["headers"] = [
                (name, identity_tags(value.decode("latin-1")).encode("latin-1"))
                if name in (b"if-none-match", b"if-match")
                else (name, value)
                for name, value in scope["headers"]
            ]
        encoding = negotiate(accept)
        head = scope["method"] == "HEAD"
        compressor = COMPRESSORS[encoding] if encoding else None
        start: Message | None = None
        chunks: list[bytes] = []

        async def compressing_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                found = {k.lower(): v for k, v in headers}
                content_type = found.get(b"content-type", b"")
                status = message["status"]
                if status == 304:
                    message = {**message, "headers": _with_held_tag(headers, sent_tags)}
                    await send(message)
                    return
                if not _compressible(content_type):
                    await send(message)
                    return
                headers = _vary(headers)
                length = found.get(b"content-length")
                if (
                    encoding is None
                    or b"content-encoding" in found
                    or length is None
                    or int(length) < self.min_bytes
                    or status < 200
                    or status == 204
                ):
                    await send({**message, "headers": headers})
                    return
                headers = _encoded(headers, encoding)
                if head:
                    await send({**message, "headers": headers})
                    return
                start = {**message, "headers": headers}
                return
            if start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            assert compressor is not None and encoding is not None
            raw = b"".join(chunks)
            etag = next((v for k, v in start["headers"] if k.lower() == b"etag"), None)
            body = None
            if etag is not None and len(raw) >= BEST_FROM_BYTES:
                body = self.best.get(etag, encoding)
                if body is None:
                    self.best.refine(etag, encoding, raw)
            if body is None:
                body = compressor(raw)
            headers = [*start["headers"], (b"content-length", str(len(body)).encode())]
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, compressing_send)


def _encoded(headers: list[tuple[bytes, bytes]], encoding: str) -> list[tuple[bytes, bytes]]:
    """The headers of the compressed representation, without a length (set once known)."""
    out = []
    for name, value in headers:
        lower = name.lower()
        if lower == b"content-length":
            continue
        if lower == b"etag":
            value = with_suffix(value, encoding)
        out.append((name, value))
    out.append((b"content-encoding", encoding.encode()))
    return out


def _with_held_tag(
    headers: list[tuple[bytes, bytes]], sent_tags: list[str]
) -> list[tuple[bytes, bytes]]:
    """A 304 names the representation the caller holds: the tag it sent that matched."""
    out = []
    for name, value in headers:
        if name.lower() == b"etag":
            current = value.decode("latin-1").removeprefix("W/")
            for tag in sent_tags:
                if identity_tags(tag).removeprefix("W/") == current:
                    value = tag.encode("latin-1")
                    break
        out.append((name, value))
    return _vary(out)
