"""The outbox: the `events` table each service adds to its own metadata, and `emit`."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession

from tdi_kit import clock
from tdi_kit.db import Uuid

TABLE = "events"
# The session's `info` key `emit` sets: the relay (`tdi_kit.events.relay`) is woken when that
# session commits, rather than at its next round.
WAKE = "tdi_events_wake"

# SQLite gives an INTEGER PRIMARY KEY the rowid's autoincrement; PostgreSQL a BIGINT identity.
_SEQ = BigInteger().with_variant(Integer(), "sqlite")


def events_table(metadata: MetaData) -> Table:
    """The outbox each service adds to its own metadata (and creates in a migration)."""
    return Table(
        TABLE,
        metadata,
        # The order of insertion: only a tie-breaker. Sequences are handed out when a
        # transaction writes, not when it commits, so a feed read by `seq` could skip an event
        # whose transaction commits after a later one's: the feed reads by `position`.
        Column("seq", _SEQ, primary_key=True, autoincrement=True),
        Column("id", Uuid, nullable=False, unique=True),
        # `allocation.committed`, `contract.signed`...: `<subject kind>.<what happened>`.
        Column("type", String(64), nullable=False),
        Column("occurred_at", DateTime(timezone=True), nullable=False),
        Column("subject_kind", String(32), nullable=False),
        Column("subject_id", String(64), nullable=False),
        # The organisation of the caller who made the change (None: an admin or a batch job).
        Column("actor_org", String(64), nullable=True),
        # The record's version after the change, when the record has one.
        Column("version", Integer, nullable=True),
        # Who may see the event: NULL for everyone; otherwise a JSON list of organisation codes
        # (admins always): a proposal's events are its operator's and its examiner's.
        Column("audience", Text, nullable=True),
        # What changed, as a JSON object (the record's new fields, or before/after).
        Column("payload", Text, nullable=False),
        # The event's place in the feed, given once its transaction committed (the sequencer).
        Column("position", BigInteger, nullable=True, unique=True),
        # When the relay's broker accepted it (NULL: not yet, or no broker configured).
        Column("published_at", DateTime(timezone=True), nullable=True),
        Index("ix_events_subject", "subject_kind", "subject_id", "seq"),
        Index(
            "ix_events_unsequenced",
            "seq",
            postgresql_where=text("position IS NULL"),
            sqlite_where=text("position IS NULL"),
        ),
        # What the relay has to publish (migration step: tdi_kit.events.unpublished_index).
        Index(
            "ix_events_unpublished",
            "position",
            postgresql_where=text("position IS NOT NULL AND published_at IS NULL"),
            sqlite_where=text("position IS NOT NULL AND published_at IS NULL"),
        ),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class Event:
    """One change, as a service emits it."""

    type: str
    subject_kind: str
    subject_id: str
    payload: Mapping[str, Any]
    version: int | None = None
    actor_org: str | None = None
    # None: public. A tuple of organisation codes: only they (and admins) see it.
    audience: tuple[str, ...] | None = None
    id: uuid.UUID = dataclasses.field(default_factory=uuid.uuid4)
    occurred_at: dt.datetime = dataclasses.field(default_factory=clock.now)

    def row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "occurred_at": self.occurred_at,
            "subject_kind": self.subject_kind,
            "subject_id": str(self.subject_id),
            "actor_org": self.actor_org,
            "version": self.version,
            "audience": None
            if self.audience is None
            else orjson.dumps(sorted(set(self.audience))).decode(),
            "payload": orjson.dumps(self.payload, default=_jsonable).decode(),
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID | dt.date):
        return str(value) if isinstance(value, uuid.UUID) else value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


_outbox = Table(
    TABLE,
    MetaData(),
    Column("seq", _SEQ, primary_key=True),
    Column("id", Uuid),
    Column("type", String(64)),
    Column("occurred_at", DateTime(timezone=True)),
    Column("subject_kind", String(32)),
    Column("subject_id", String(64)),
    Column("actor_org", String(64)),
    Column("version", Integer),
    Column("audience", Text),
    Column("payload", Text),
)


async def emit(session: AsyncSession, events: Event | Iterable[Event]) -> None:
    """Write `events` in the session's transaction: they commit with the change, or not at all.

    Call it in the service layer, where the change is made, after the change is flushed or in
    the same unit of work; one statement for any number of events (bulk pushes emit theirs in
    one go)."""
    rows = [events.row()] if isinstance(events, Event) else [e.row() for e in events]
    if rows:
        await session.execute(insert(_outbox), rows)
        session.info[WAKE] = True
