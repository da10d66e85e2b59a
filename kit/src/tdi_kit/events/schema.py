"""The event as the feeds serve it, the broker carries it and webhooks deliver it: one shape."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from tdi_kit import clock


class EventSubject(BaseModel):
    """The record the event is about."""

    kind: str = Field(description="The record's kind: `territory`, `allocation`, `contract`...")
    id: str = Field(description="The record's id or code, as its own API names it.")


class EventRead(BaseModel):
    """One change of a record. Delivered at least once: deduplicate by `id`."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID = Field(
        description="The event's id, the same in the feed, the broker and webhooks."
    )
    type: str = Field(description="`<subject kind>.<what happened>`, e.g. `allocation.committed`.")
    source: str = Field(
        description="The service whose record changed: `registry`, `funding`, `contracts`."
    )
    occurred_at: dt.datetime = Field(description="When the change was made (UTC).")
    subject: EventSubject
    actor_org: str | None = Field(
        description=(
            "The organisation of the caller who made the change; null for an admin or a batch job."
        )
    )
    version: int | None = Field(
        description="The record's version after the change, when it has one."
    )
    position: int = Field(description="The event's place in its service's feed (increasing).")
    payload: dict[str, Any] = Field(description="What changed: see the event type's description.")
    audience: list[str] | None = Field(
        None,
        description=(
            "Who may see the event besides admins: null for everyone, else organisation codes "
            "(the webhooks dispatcher, which reads every event, delivers it to them only)."
        ),
    )


def event_from_row(row: Any, *, source: str) -> EventRead:
    """An `events` row (the table's columns by name) as served."""
    return EventRead(
        id=row.id,
        type=row.type,
        source=source,
        # SQLite gives the column back without its zone: it was written in UTC.
        occurred_at=clock.utc(row.occurred_at),
        subject=EventSubject(kind=row.subject_kind, id=row.subject_id),
        actor_org=row.actor_org,
        version=row.version,
        position=row.position,
        payload=orjson.loads(row.payload),
        audience=None if row.audience is None else orjson.loads(row.audience),
    )
