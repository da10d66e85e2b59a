"""`Idempotency-Key` on POST: a retried request replays the first answer instead of acting twice.

A key belongs to the caller as a whole: the token's issuer, subject and organisation. The same
key from another organisation's token, or from another issuer, is another key.

One request at a time per key: the request holds a lock on its key for as long as it runs
(`tdi_kit.keylocks`: an advisory lock on PostgreSQL, a byte of a lock file on SQLite, both gone
with the process that held them), and a second request that finds the lock taken answers 409 at
once.

Holding its key's lock, the request reads the stored answer: if there is one, it is replayed
(or refused, below) and nothing runs; if not, the request runs and its answer is stored, still
under the lock, when it is final (2xx or 4xx). Auth failures, throttling and server errors did
nothing and are not stored: the client may try again. The end of the answer reaches the client
only once the answer is stored, so a retry sent after the answer arrived replays it.

A stored answer is replayed only if the caller's authorisation still covers it: its token must
carry every scope that the first request's token carried (a scope is all that can change
between two tokens of one identity, and more scopes never authorise less). A token whose scopes
were reduced gets a 403 and neither the replay nor a second run. The same key with another
body (or path) is 422.

Stored answers are kept `IDEMPOTENCY_RETENTION_HOURS` (24 by default), then purged: each
process deletes the expired ones every `IDEMPOTENCY_PURGE_INTERVAL_SECONDS` (`purge_periodically`,
started by the app), and `tdi purge-idempotency` does it on demand (a CronJob, say). A retry
after the retention runs again.

What this cannot cover: a process that commits its write and dies before it stores the answer
leaves no answer, and the retry runs again (a second create of the same natural key is then a
409). On PostgreSQL, a host that vanishes without closing its sockets holds its locks until the
server notices (`tcp_keepalives_*` settings bound that).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

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
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tdi_kit.auth import Caller
from tdi_kit.db import WRITE_OPTIONS
from tdi_kit.errors import BadRequest, Conflict, Forbidden, Problem, Unprocessable, problem_response
from tdi_kit.keylocks import KeyLocks, lock_id

logger = logging.getLogger(__name__)

HEADER = b"idempotency-key"
MAX_KEY_LENGTH = 255
_REPLAYED_HEADERS = {b"content-type", b"location", b"etag"}


def idempotency_table(metadata: MetaData) -> Table:
    """The table each service adds to its own metadata (and migrations): final answers only."""
    return Table(
        "idempotency_keys",
        metadata,
        # A digest of the caller's identity (see `principal_of`): no subject is kept here.
        Column("principal", String(255), primary_key=True),
        Column("key", String(MAX_KEY_LENGTH), primary_key=True),
        Column("request_hash", String(64), nullable=False),
        # The scopes of the token that got the answer, space-separated and sorted.
        Column("scopes", Text, nullable=False),
        Column("status_code", Integer, nullable=False),
        Column("response_headers", Text, nullable=False),
        Column("response_body", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
    )


def principal_of(caller: Caller) -> str:
    """The key's owner: issuer, subject and organisation together, as one digest."""
    return hashlib.sha256(orjson.dumps(list(caller.identity))).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def purge_expired(
    sessions: async_sessionmaker[AsyncSession],
    table: Table,
    *,
    retention: dt.timedelta,
    now: dt.datetime | None = None,
) -> int:
    """Delete the answers stored more than `retention` ago; how many went.

    One statement on the primary key's table: safe to run from every replica at once (a row
    deleted twice is deleted once), and a key in flight is untouched (it has no row yet).
    """
    cutoff = (now or _now()) - retention
    async with sessions() as session, session.begin():
        await session.connection(execution_options=WRITE_OPTIONS)
        result = await session.execute(delete(table).where(table.c.created_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)


async def purge_periodically(
    purge: Callable[[], Awaitable[int]],
    *,
    interval: float,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> None:
    """Run `purge` every `interval` seconds until cancelled; a failure is logged, not fatal."""
    while True:
        await sleep(interval)
        try:
            purged = await purge()
        except Exception:
            logger.exception("expired Idempotency-Key answers could not be purged")
            continue
        if purged:
            logger.info("purged %d expired Idempotency-Key answers", purged)


def _stored_status(status: int) -> bool:
    """Final answers are stored; auth failures, throttling and server errors did nothing."""
    return status < 500 and status not in (401, 403, 429)


class IdempotencyMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        sessions: Callable[[], async_sessionmaker[AsyncSession]],
        locks: Callable[[], KeyLocks],
        table: Table,
        caller: Callable[[dict[bytes, bytes]], Caller | None],
        outcome: Callable[[str], None] = lambda _outcome: None,
    ) -> None:
        self.app = app
        # Told each keyed request's fate (stored, replayed, in_flight, mismatch, forbidden).
        self.outcome = outcome
        # Looked up per request, so that tests can point the app at a rolled-back connection.
        self.sessions = sessions
        self.locks = locks
        self.table = table
        # Who is calling, or None to let the app itself answer 401.
        self.caller = caller

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
        caller = self.caller(headers)
        if caller is None:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        digest = hashlib.sha256()
        for part in (scope["method"], scope["path"], scope.get("query_string", b"").decode()):
            digest.update(part.encode() + b"\0")
        digest.update(body)
        request_hash = digest.hexdigest()
        principal = principal_of(caller)

        last: Message | None = None
        async with self.locks().hold(lock_id(principal, key)) as held:
            if not held:
                self.outcome("in_flight")
                raise Conflict("A request with this Idempotency-Key is still being processed.")
            row = await self._stored(principal, key)
            if row is not None:
                await self._replay(send, row, caller, request_hash)
                return

            status, chunks = 500, []
            start: Message = {}

            async def capture(message: Message) -> None:
                nonlocal status, start, last
                if message["type"] == "http.response.start":
                    status, start = message["status"], message
                elif message["type"] == "http.response.body":
                    chunks.append(message.get("body", b""))
                    if not message.get("more_body", False):
                        # Held back until the answer is stored and the key released.
                        last = message
                        return
                await send(message)

            await self.app(scope, _replay_body(body, receive), capture)
            if _stored_status(status):
                await self._store(principal, key, request_hash, caller, status, start, chunks)
                self.outcome("stored")
        if last is not None:
            await send(last)

    async def _stored(self, principal: str, key: str) -> Any:
        async with self.sessions()() as session:
            return (
                await session.execute(
                    select(self.table).where(
                        self.table.c.principal == principal, self.table.c.key == key
                    )
                )
            ).one_or_none()

    async def _replay(self, send: Send, row: Any, caller: Caller, request_hash: str) -> None:
        missing = set(row.scopes.split()) - caller.scopes
        if missing:
            self.outcome("forbidden")
            raise Forbidden(
                "This Idempotency-Key was answered for a token with scope "
                f"{' '.join(sorted(missing))}, which this token lacks: the answer is not "
                "replayed, and the request is not run again under the same key."
            )
        if row.request_hash != request_hash:
            self.outcome("mismatch")
            raise Unprocessable(
                "This Idempotency-Key was used for another request; use a new key for new content."
            )
        stored = [(k.encode(), v.encode()) for k, v in orjson.loads(row.response_headers)]
        self.outcome("replayed")
        await send(
            {
                "type": "http.response.start",
                "status": row.status_code,
                "headers": [*stored, (b"idempotent-replayed", b"true")],
            }
        )
        await send({"type": "http.response.body", "body": row.response_body})

    async def _store(
        self,
        principal: str,
        key: str,
        request_hash: str,
        caller: Caller,
        status: int,
        start: Message,
        chunks: list[bytes],
    ) -> None:
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in start.get("headers", [])
            if k.lower() in _REPLAYED_HEADERS
        ]
        row = {
            "principal": principal,
            "key": key,
            "request_hash": request_hash,
            "scopes": " ".join(sorted(caller.scopes)),
            "status_code": status,
            "response_headers": orjson.dumps(headers).decode(),
            "response_body": b"".join(chunks),
            "created_at": _now(),
        }
        try:
            async with self.sessions()() as session, session.begin():
                await session.connection(execution_options=WRITE_OPTIONS)
                await session.execute(insert(self.table).values(**row))
        except SQLAlchemyError:
            # The answer is already on its way; without its record a retry runs again.
            logger.exception("the answer to Idempotency-Key %r could not be stored", key)


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
