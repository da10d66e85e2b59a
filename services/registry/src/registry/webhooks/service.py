"""Webhook subscriptions: an organisation's own; admins see and manage every one.

A token with scope `webhooks:write` manages its organisation's subscriptions and nobody
else's (another organisation's is not found); a token without an organisation has none.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from registry.models import Organisation, WebhookDelivery, WebhookSubscription
from registry.schemas.webhooks import WebhookCreate, WebhookUpdate
from registry.webhooks import queries
from registry.webhooks.types import check_patterns
from tdi_kit import clock
from tdi_kit.auth import Caller
from tdi_kit.errors import Conflict, Forbidden, NotFound, Unprocessable
from tdi_kit.events.webhooks.signing import new_secret
from tdi_kit.events.webhooks.targets import Resolver, UnsafeTarget, resolve
from tdi_kit.pagination import ListParams, paginate, parse_sort


def _organisation_of(caller: Caller) -> str | None:
    """The organisation whose subscriptions `caller` manages; None: all (an admin)."""
    if caller.is_admin:
        return None
    if caller.org is None:
        raise Forbidden("Webhooks belong to an organisation: this token names none.")
    return caller.org


async def _check_url(
    url: str, *, require_https: bool, allow_private: bool, resolver: Resolver
) -> None:
    try:
        await resolve(
            url, require_https=require_https, allow_private=allow_private, resolver=resolver
        )
    except UnsafeTarget as exc:
        raise Unprocessable.field("body", "url", str(exc)) from None


async def create(
    session: AsyncSession,
    caller: Caller,
    body: WebhookCreate,
    *,
    known: Mapping[str, str],
    require_https: bool,
    allow_private: bool,
    resolver: Resolver,
) -> tuple[WebhookSubscription, str]:
    """The new subscription, and its secret (never served again)."""
    own = _organisation_of(caller)
    organisation = body.organisation or own or caller.org
    if own is not None and organisation != own:
        raise Forbidden("A token manages its own organisation's webhooks only.")
    if organisation is None:
        raise Unprocessable.field("body", "organisation", "an admin names the owner")
    if await session.get(Organisation, organisation) is None:
        raise Unprocessable.field("body", "organisation", f"no organisation {organisation!r}")
    event_types = check_patterns(body.event_types, known)
    await _check_url(
        body.url, require_https=require_https, allow_private=allow_private, resolver=resolver
    )
    now = clock.now()
    secret = new_secret()
    subscription = WebhookSubscription(
        id=uuid.uuid4(),
        organisation_code=organisation,
        url=body.url,
        event_types=event_types,
        description=body.description,
        enabled=body.enabled,
        secret=secret,
        consecutive_failures=0,
        created_at=now,
        updated_at=now,
    )
    session.add(subscription)
    await session.flush()
    return subscription, secret


async def subscriptions(
    session: AsyncSession, caller: Caller, *, params: ListParams, enabled: bool | None
) -> tuple[list[WebhookSubscription], str | None, int]:
    sort = parse_sort(
        params.sort,
        allowed=queries.SUBSCRIPTIONS_SORTABLE,
        default="created_at",
        unique=("id", WebhookSubscription.id),
    )
    stmt = queries.subscriptions(organisation=_organisation_of(caller), enabled=enabled)
    return await paginate(session, stmt, sort=sort, params=params)


async def subscription(
    session: AsyncSession, caller: Caller, subscription_id: uuid.UUID
) -> WebhookSubscription:
    own = _organisation_of(caller)
    found = await session.get(WebhookSubscription, subscription_id)
    # Another organisation's subscription is not found: its existence is not this caller's.
    if found is None or (own is not None and found.organisation_code != own):
        raise NotFound("webhook", subscription_id)
    return found


async def update(
    session: AsyncSession,
    caller: Caller,
    subscription_id: uuid.UUID,
    body: WebhookUpdate,
    *,
    known: Mapping[str, str],
    require_https: bool,
    allow_private: bool,
    resolver: Resolver,
) -> WebhookSubscription:
    found = await subscription(session, caller, subscription_id)
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    if changes.get("event_types") is not None:
        changes["event_types"] = check_patterns(changes["event_types"], known)
    if changes.get("url") is not None:
        await _check_url(
            changes["url"],
            require_https=require_https,
            allow_private=allow_private,
            resolver=resolver,
        )
    for name in ("url", "event_types", "enabled"):
        if name in changes and changes[name] is None:
            raise Unprocessable.field("body", name, "must not be null")
    if changes.get("enabled") is True and not found.enabled:
        # Re-enabled by its owner: the failures that disabled it are forgiven.
        found.consecutive_failures = 0
        found.disabled_reason = None
    for name, value in changes.items():
        setattr(found, name, value)
    found.updated_at = clock.now()
    await session.flush()
    return found


async def delete(session: AsyncSession, caller: Caller, subscription_id: uuid.UUID) -> None:
    found = await subscription(session, caller, subscription_id)
    await session.delete(found)
    await session.flush()


async def rotate_secret(
    session: AsyncSession, caller: Caller, subscription_id: uuid.UUID
) -> tuple[WebhookSubscription, str]:
    found = await subscription(session, caller, subscription_id)
    found.secret = new_secret()
    found.updated_at = clock.now()
    await session.flush()
    return found, found.secret


async def deliveries(
    session: AsyncSession,
    caller: Caller,
    subscription_id: uuid.UUID,
    *,
    params: ListParams,
    status: str | None,
) -> tuple[list[WebhookDelivery], str | None, int]:
    await subscription(session, caller, subscription_id)
    sort = parse_sort(
        params.sort,
        allowed=queries.DELIVERIES_SORTABLE,
        default="-created_at",
        unique=("id", WebhookDelivery.id),
    )
    stmt = queries.deliveries(subscription_id, status=status)
    return await paginate(session, stmt, sort=sort, params=params)


async def redeliver(
    session: AsyncSession, caller: Caller, subscription_id: uuid.UUID, delivery_id: uuid.UUID
) -> WebhookDelivery:
    """Try a delivery again now, with a new round of retries, whatever became of it."""
    found = await subscription(session, caller, subscription_id)
    delivery = await session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.subscription_id != found.id:
        raise NotFound("delivery", delivery_id)
    if not found.enabled:
        raise Conflict("The subscription is disabled: enable it (PATCH) before redelivering.")
    delivery.status = "pending"
    delivery.round_start = delivery.attempts
    delivery.next_attempt_at = clock.now()
    await session.flush()
    return delivery
