"""HTTP for webhook subscriptions and their delivery log (scope `webhooks:write`)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response, status

from registry.access import WebhookManager
from registry.schemas.paths import WebhookId
from registry.schemas.webhooks import (
    DeliveryRead,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
    WebhookSecret,
    WebhookUpdate,
)
from registry.settings import RegistrySettings
from registry.webhooks import service
from tdi_kit.app import problem_responses
from tdi_kit.db import SessionDep
from tdi_kit.pagination import ListParamsDep, Page, list_answer

router = APIRouter(tags=["webhooks"])

READ_PROBLEMS = problem_responses(401, 403, 404)
WRITE_PROBLEMS = problem_responses(401, 403, 404, 413)


def _target_rules(request: Request) -> dict[str, Any]:
    settings: RegistrySettings = request.app.state.settings
    return {
        "known": request.app.state.event_types,
        "require_https": settings.webhook_require_https,
        "allow_private": settings.webhook_allow_private_targets,
        "resolver": request.app.state.webhook_resolver,
    }


@router.post(
    "/webhooks",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookCreated,
    responses=problem_responses(401, 403, 413),
)
async def create_webhook(
    request: Request,
    response: Response,
    body: WebhookCreate,
    session: SessionDep,
    caller: WebhookManager,
) -> Any:
    """Subscribe a URL to event types; the answer shows the signing secret, this once."""
    subscription, secret = await service.create(session, caller, body, **_target_rules(request))
    response.headers["Location"] = f"/api/v1/webhooks/{subscription.id}"
    return WebhookCreated(**WebhookRead.model_validate(subscription).model_dump(), secret=secret)


@router.get("/webhooks", response_model=Page[WebhookRead], responses=READ_PROBLEMS)
async def list_webhooks(
    request: Request,
    response: Response,
    session: SessionDep,
    params: ListParamsDep,
    caller: WebhookManager,
    enabled: Annotated[bool | None, Query()] = None,
) -> Any:
    """The caller's organisation's subscriptions (an admin: everyone's); sort on
    `created_at`, `url`, `organisation`."""
    items, next_cursor, total = await service.subscriptions(
        session, caller, params=params, enabled=enabled
    )
    return list_answer(
        request, response, params, items, next_cursor, total, model=WebhookRead, filename="webhooks"
    )


@router.get("/webhooks/{webhook_id}", response_model=WebhookRead, responses=READ_PROBLEMS)
async def get_webhook(webhook_id: WebhookId, session: SessionDep, caller: WebhookManager) -> Any:
    """One subscription (its secret is never shown again)."""
    return await service.subscription(session, caller, webhook_id)


@router.patch("/webhooks/{webhook_id}", response_model=WebhookRead, responses=WRITE_PROBLEMS)
async def update_webhook(
    request: Request,
    webhook_id: WebhookId,
    body: WebhookUpdate,
    session: SessionDep,
    caller: WebhookManager,
) -> Any:
    """Change the URL, the event types, the description; `enabled` pauses or resumes."""
    return await service.update(session, caller, webhook_id, body, **_target_rules(request))


@router.delete(
    "/webhooks/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT, responses=WRITE_PROBLEMS
)
async def delete_webhook(
    webhook_id: WebhookId, session: SessionDep, caller: WebhookManager
) -> Response:
    """Unsubscribe: nothing more is sent, and the delivery log goes with it."""
    await service.delete(session, caller, webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/webhooks/{webhook_id}/secret", response_model=WebhookSecret, responses=WRITE_PROBLEMS
)
async def create_webhook_secret(
    webhook_id: WebhookId, session: SessionDep, caller: WebhookManager
) -> Any:
    """A new signing secret, shown this once; the old one signs nothing from now on."""
    subscription, secret = await service.rotate_secret(session, caller, webhook_id)
    return WebhookSecret(id=subscription.id, secret=secret)


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    response_model=Page[DeliveryRead],
    responses=READ_PROBLEMS,
)
async def list_webhook_deliveries(
    request: Request,
    response: Response,
    webhook_id: WebhookId,
    session: SessionDep,
    params: ListParamsDep,
    caller: WebhookManager,
    status: Annotated[Literal["pending", "delivered", "failed"] | None, Query()] = None,
) -> Any:
    """The delivery log, newest first: attempts, status, the receiver's answer, latency, the
    next attempt."""
    items, next_cursor, total = await service.deliveries(
        session, caller, webhook_id, params=params, status=status
    )
    return list_answer(
        request,
        response,
        params,
        items,
        next_cursor,
        total,
        model=DeliveryRead,
        filename="webhook-deliveries",
    )


@router.post(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryRead,
    responses=problem_responses(401, 403, 404, 409),
)
async def create_webhook_redelivery(
    webhook_id: WebhookId,
    delivery_id: Annotated[uuid.UUID, Path()],
    session: SessionDep,
    caller: WebhookManager,
) -> Any:
    """Send a delivery again now, with a new round of retries."""
    return await service.redeliver(session, caller, webhook_id, delivery_id)
