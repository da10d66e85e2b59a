"""`Idempotency-Key` on POST: a retried request replays the first answer instead of acting twice.

The key is scoped to the caller (the token's subject). The first request claims the key in its
own short transaction, then runs; its answer is stored when it is final (2xx or 4xx). A retry
with the same body gets that answer again; the same key with another body is 422; a retry while
the first is still running is 409. Server errors release the key: nothing was stored, so the
client may try again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable

import orjson
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tdi_kit.errors import BadRequest, Conflict, Problem, Unprocessable, problem_response

HEADER = b"idempotency-key"
MAX_KEY_LENGTH = 255
# A claim older than this whose request never finished (the process died) may be taken over.
LEASE = dt.timedelta(minutes=5)
_REPLAYED_HEADERS = {b"content-type", b"location", b"etag"}


def idempotency_table(metadata: MetaData) -> Table:
    """The table each service adds to its own metadata (and migrations)."""
    return Table(
        "idempotency_keys",
        metadata,
        Column("principal", String(255), primary_key=True),
        Column("key", String(MAX_KEY_LENGTH), primary_key=True),
        Column("request_hash", String(64), nullable=False),
        Column("status_code", Integer, nullable=True),
        Column("response_headers", Text, nullable=True),
        Column("response_body", LargeBinary, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False),
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class IdempotencyMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        sessions: Callable[[], async_sessionmaker[AsyncSession]],
        table: Table,
        principal: Callable[[dict[bytes, bytes]], str | None],
    ) -> None:
        self.app = app
        # Looked up per request, so that tests can point the app at a rolled-back connection.
        self.sessions = sessions
        self.table = table
        # Who is calling, or None to let the app itself answer 401.
        self.principal = principal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        raw_key = headers.get(HEADER)
        if raw_key is None:
            await self.app(scope, receive, send)
            return
        try:
            await self._handle(scope, receive, send, raw_key.decode("latin-1"), headers)
        except Problem as problem:
            await problem_response(problem, scope["path"])(scope, receive, send)

    async def _handle(
        self, scope: Scope, receive: Receive, send: Send, key: str, headers: dict[bytes, bytes]
    ) -> None:
        if not key or len(key) > MAX_KEY_LENGTH:
            raise BadRequest(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.")
        principal = self.principal(headers)
        if principal is None:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        digest = hashlib.sha256()
        for part in (scope["method"], scope["path"], scope.get("query_string", b"").decode()):
            digest.update(part.encode() + b"\0")
        digest.update(body)
        request_hash = digest.hexdigest()

        if not await self._claim(principal, key, request_hash):
            await self._replay(scope, receive, send, principal, key, request_hash)
            return

        status = 500
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status, start
            if message["type"] == "http.response.start":
                status, start = message["status"], message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, _replay_body(body, receive), capture)
        finally:
            await self._settle(principal, key, status, start, b"".join(chunks))

    async def _claim(self, principal: str, key: str, request_hash: str) -> bool:
        row = {
            "principal": principal,
            "key": key,
            "request_hash": request_hash,
            "created_at": _now(),
        }
        try:
            async with self.sessions()() as session, session.begin():
                await session.execute(insert(self.table).values(**row))
            return True
        except IntegrityError:
            pass
        # A claim left by a request that died mid-way is taken over once its lease is over.
        async with self.sessions()() as session, session.begin():
            taken = await session.execute(
                update(self.table)
                .where(
                    self.table.c.principal == principal,
                    self.table.c.key == key,
                    self.table.c.status_code.is_(None),
                    self.table.c.created_at < _now() - LEASE,
                )
                .values(request_hash=request_hash, created_at=_now())
            )
        return taken.rowcount == 1

    async def _replay(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        principal: str,
        key: str,
        request_hash: str,
    ) -> None:
        async with self.sessions()() as session:
            row = (
                await session.execute(
                    select(self.table).where(
                        self.table.c.principal == principal, self.table.c.key == key
                    )
                )
            ).one()
        if row.request_hash != request_hash:
            raise Unprocessable(
                "This Idempotency-Key was used for another request; use a new key for new content."
            )
        if row.status_code is None:
            raise Conflict("A request with this Idempotency-Key is still being processed.")
        stored = [(k.encode(), v.encode()) for k, v in orjson.loads(row.response_headers)]
        await send(
            {
                "type": "http.response.start",
                "status": row.status_code,
                "headers": [*stored, (b"idempotent-replayed", b"true")],
            }
        )
        await send({"type": "http.response.body", "body": row.response_body})

    async def _settle(
        self, principal: str, key: str, status: int, start: Message, body: bytes
    ) -> None:
        where = (self.table.c.principal == principal, self.table.c.key == key)
        async with self.sessions()() as session, session.begin():
            # Auth failures, throttling and server errors did nothing: the key is released.
            if status >= 500 or status in (401, 403, 429):
                await session.execute(delete(self.table).where(*where))
                return
            headers = [
                (k.decode("latin-1"), v.decode("latin-1"))
                for k, v in start.get("headers", [])
                if k.lower() in _REPLAYED_HEADERS
            ]
            await session.execute(
                update(self.table)
                .where(*where)
                .values(
                    status_code=status,
                    response_headers=orjson.dumps(headers).decode(),
                    response_body=body,
                )
            )


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay_body(body: bytes, receive: Receive) -> Receive:
    """Hand the app the body we read; after it, wait on the real channel for a disconnect."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
