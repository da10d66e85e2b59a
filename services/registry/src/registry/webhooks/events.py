"""The registry's own webhook event (its type is in `registry.events.EVENT_TYPES`)."""

from __future__ import annotations

from registry.models import WebhookSubscription
from tdi_kit.events import Event


def webhook_disabled(subscription: WebhookSubscription) -> Event:
    """Only its organisation (and admins) see it: a subscription is its owner's business."""
    return Event(
        type="webhook.disabled",
        subject_kind="webhook",
        subject_id=str(subscription.id),
        payload={
            "record": {
                "id": str(subscription.id),
                "organisation": subscription.organisation_code,
                "url": subscription.url,
                "enabled": False,
                "disabled_reason": subscription.disabled_reason,
            },
            "changed": ["enabled", "disabled_reason"],
        },
        audience=(subscription.organisation_code,),
    )
