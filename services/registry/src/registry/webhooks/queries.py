"""SQL for webhook subscriptions, their deliveries and the dispatcher's feed cursors."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from registry.models import WebhookDelivery, WebhookFeedCursor, WebhookSubscription

SUBSCRIPTIONS_SORTABLE = {
    "created_at": WebhookSubscription.created_at,
    "url": WebhookSubscription.url,
    "organisation": WebhookSubscription.organisation_code,
}
DELIVERIES_SORTABLE = {
    "created_at": WebhookDelivery.created_at,
    "status": WebhookDelivery.status,
    "next_attempt_at": WebhookDelivery.next_attempt_at,
}


def subscriptions(*, organisation: str | None, enabled: bool | None) -> Select[Any]:
    stmt = select(WebhookSubscription)
    if organisation is not None:
        stmt = stmt.where(WebhookSubscription.organisation_code == organisation)
    if enabled is not None:
        stmt = stmt.where(WebhookSubscription.enabled == enabled)
    return stmt


def deliveries(subscription_id: uuid.UUID, *, status: str | None) -> Select[Any]:
    stmt = select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status)
    return stmt


async def enabled_subscriptions(session: AsyncSession) -> Sequence[WebhookSubscription]:
    return (
        await session.scalars(select(WebhookSubscription).where(WebhookSubscription.enabled))
    ).all()


async def add_deliveries(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert deliveries, skipping those already made (an event given again by the source)."""
    if not rows:
        return
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(WebhookDelivery).on_conflict_do_nothing(
        index_elements=["subscription_id", "event_id"]
    )
    await session.execute(stmt, rows)


async def claim_due(
    session: AsyncSession, *, now: dt.datetime, lease_until: dt.datetime, limit: int
) -> list[WebhookDelivery]:
    """Deliveries due now, of enabled subscriptions, leased until `lease_until`: another
    dispatcher (scaled out) passes over them, and a dispatcher that dies before recording the
    attempt leaves them due again when the lease ends."""
    stmt = (
        select(WebhookDelivery)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(
            WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= now,
            WebhookSubscription.enabled,
        )
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
        .with_for_update(of=WebhookDelivery, skip_locked=True)
    )
    claimed = list((await session.scalars(stmt)).all())
    if claimed:
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_([d.id for d in claimed]))
            .values(next_attempt_at=lease_until)
        )
    return claimed


async def cursor(session: AsyncSession, source: str) -> str | None:
    row = await session.get(WebhookFeedCursor, source)
    return None if row is None else row.cursor


async def save_cursor(session: AsyncSession, source: str, value: str, now: dt.datetime) -> None:
    row = await session.get(WebhookFeedCursor, source)
    if row is None:
        session.add(WebhookFeedCursor(source=source, cursor=value, updated_at=now))
    else:
        row.cursor, row.updated_at = value, now
