"""Reading the outbox for the feed: the cursor, the filters, who sees what, one page.

The cursor is a position (`tdi_kit.events.sequencer`): every event sequenced after a reader
read up to p gets a position above p, so "after p" never skips an event that committed late.
A page of a filtered feed still advances past the events it passed over: its `next_cursor` is
the highest position sequenced when it was read, unless the page is full.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Table, and_, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tdi_kit.auth import Caller
from tdi_kit.errors import BadRequest, FieldError
from tdi_kit.events.schema import EventRead, event_from_row
from tdi_kit.events.sequencer import sequence_in

# A position is a BIGINT: a forged cursor beyond it must be a 400, not a database error.
MAX_POSITION = 2**63 - 1


def encode_cursor(position: int) -> str:
    """The opaque cursor of a position (the feed's `next_cursor`, an SSE event's `id`)."""
    return base64.urlsafe_b64encode(f"p{position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *, field: str = "cursor", location: str = "query") -> int:
    """The position a cursor names; a 400 naming `field` when it is not one the feed gave."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith("p") or not raw[1:].isdigit():
            raise ValueError(raw)
        position = int(raw[1:])
        if position > MAX_POSITION:
            raise ValueError(raw)
        return position
    except (binascii.Error, ValueError, UnicodeDecodeError):
        message = "not a cursor this feed gave out; start again without it"
        raise BadRequest(
            f"{field}: {message}.",
            errors=[FieldError(location=location, field=field, message=message)],
        ) from None


@dataclasses.dataclass(frozen=True)
class FeedFilters:
    """What the caller asked for: `types` exact (`allocation.committed`) or a kind's
    (`allocation.*`); the subject; `since` (inclusive) and `until` (exclusive) on `occurred_at`."""

    types: tuple[str, ...] = ()
    subject_kind: str | None = None
    subject_id: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def clauses(self, table: Table) -> list[ColumnElement[bool]]:
        c = table.c
        found: list[ColumnElement[bool]] = []
        if self.types:
            found.append(or_(*(_type_clause(table, t) for t in self.types)))
        if self.subject_kind is not None:
            found.append(c.subject_kind == self.subject_kind)
        if self.subject_id is not None:
            found.append(c.subject_id == self.subject_id)
        if self.since is not None:
            found.append(c.occurred_at >= self.since)
        if self.until is not None:
            found.append(c.occurred_at < self.until)
        return found

    def query(self) -> list[tuple[str, str]]:
        """As query parameters, for a feed that passes them on (the gateway)."""
        params: list[tuple[str, str]] = [("type", t) for t in self.types]
        for name in ("subject_kind", "subject_id"):
            if (value := getattr(self, name)) is not None:
                params.append((name, value))
        for name in ("since", "until"):
            if (moment := getattr(self, name)) is not None:
                params.append((name, moment.isoformat()))
        return params


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _type_clause(table: Table, wanted: str) -> ColumnElement[bool]:
    if wanted.endswith(".*"):
        return table.c.type.like(_like_escaped(wanted[:-1]) + "%", escape="\\")
    return table.c.type == wanted


def visible_to(table: Table, caller: Caller | None) -> ColumnElement[bool]:
    """An admin sees every event; anyone else the public ones (`audience` NULL) and those whose
    audience names their organisation (a token with no organisation: the public ones only)."""
    if caller is not None and caller.is_admin:
        return true()
    public = table.c.audience.is_(None)
    if caller is None or not caller.org:
        return public
    # The audience is a JSON list of codes, written by `Event.row` without spaces: the code in
    # quotes matches one element exactly, on both databases, without a JSON operator.
    quoted = orjson.dumps(caller.org).decode()
    return or_(public, table.c.audience.like("%" + _like_escaped(quoted) + "%", escape="\\"))


@dataclasses.dataclass(frozen=True)
class FeedPage:
    """Events after a position, the position to continue from, how many matched after it."""

    events: list[EventRead]
    next_position: int
    total: int


async def read_page(
    sessions: async_sessionmaker[AsyncSession],
    table: Table,
    *,
    source: str,
    after: int,
    limit: int,
    filters: FeedFilters,
    caller: Caller | None,
) -> FeedPage:
    """Sequence what committed, then read up to `limit` events after position `after`.

    `total` counts the matching events between the cursor and the highest position (this
    page's included): how far behind the reader is."""
    c = table.c
    # Through the app's sessions (a write transaction: the sequencer updates), so that a test
    # that runs the app in a transaction of its own reads what it wrote.
    async with sessions() as session, session.begin():
        connection = await session.connection()
        await sequence_in(connection)
        # Read once: the page and its count stop at it, and an empty or short page continues
        # from it, past the events the filters or the audience left out.
        high = int(await connection.scalar(select(func.coalesce(func.max(c.position), 0))) or 0)
        where = and_(
            c.position > after,
            c.position <= high,
            visible_to(table, caller),
            *filters.clauses(table),
        )
        stmt = select(table).where(where).order_by(c.position).limit(limit + 1)
        rows = (await connection.execute(stmt)).all()
        full = len(rows) > limit
        total = len(rows)
        if full:  # a short page holds every match: a count only when there are more
            counted = select(func.count()).select_from(table).where(where)
            total = int(await connection.scalar(counted) or 0)
    events = [event_from_row(row, source=source) for row in rows[:limit]]
    next_position = events[-1].position if full else max(after, high)
    return FeedPage(events, next_position, total)


def frame(event: EventRead, cursor: str) -> bytes:
    """One Server-Sent Event: `id` the cursor after it, `event` its type, `data` its JSON."""
    return b"id: %s\nevent: %s\ndata: %s\n\n" % (
        cursor.encode(),
        event.type.encode(),
        event.model_dump_json().encode(),
    )


HEARTBEAT = b": heartbeat\n\n"


def loads(document: Any) -> EventRead:
    """An event as a feed served it (the gateway reads the services' feeds)."""
    return EventRead.model_validate(document)
