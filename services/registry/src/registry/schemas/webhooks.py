"""Webhook subscriptions and their delivery log, as the API takes and serves them."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from registry.schemas.common import Model
from tdi_kit.clock import Timestamp
from tdi_kit.identifiers import OrganisationCode

EventTypePattern = Annotated[
    str,
    Field(
        min_length=3,
        max_length=64,
        pattern=r"^[a-z_]+\.([a-z_]+|\*)$",
        description="An event type (`allocation.committed`) or a whole kind (`allocation.*`).",
    ),
]
Url = Annotated[
    str,
    Field(
        min_length=8,
        max_length=2048,
        description="Where events are POSTed: https (http is refused in production); private, "
        "loopback and link-local addresses are refused.",
    ),
]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Url
    event_types: list[EventTypePattern] = Field(min_length=1, max_length=100)
    description: str | None = Field(None, max_length=500)
    enabled: bool = True
    organisation: OrganisationCode | None = Field(
        None,
        description="The owner: the token's organisation (an admin names one, or defaults to "
        "its own).",
    )


class WebhookUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Url | None = None
    event_types: list[EventTypePattern] | None = Field(None, min_length=1, max_length=100)
    description: str | None = Field(None, max_length=500)
    enabled: bool | None = Field(
        None, description="`true` re-enables a subscription disabled after failures."
    )


class WebhookRead(Model):
    id: uuid.UUID
    organisation: str = Field(validation_alias=AliasChoices("organisation_code", "organisation"))
    url: str
    event_types: list[str]
    description: str | None
    enabled: bool
    disabled_reason: str | None = Field(
        description="Why the subscription was disabled by the platform (failures), if it was."
    )
    created_at: Timestamp
    updated_at: Timestamp


class WebhookCreated(WebhookRead):
    secret: str = Field(
        description="The signing secret (`whsec_...`): shown this once; keep it to verify "
        "signatures."
    )


class WebhookSecret(BaseModel):
    id: uuid.UUID
    secret: str = Field(description="The new signing secret, shown this once.")


class DeliveryRead(Model):
    id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    status: Literal["pending", "delivered", "failed"] = Field(
        description="`pending`: an attempt is due at `next_attempt_at`; `failed`: given up."
    )
    attempts: int
    next_attempt_at: Timestamp | None
    last_attempt_at: Timestamp | None
    response_code: int | None = Field(description="The receiver's last HTTP status, if any.")
    latency_ms: int | None = Field(description="How long the last attempt took.")
    error: str | None = Field(description="Why the last attempt failed (trimmed).")
    created_at: Timestamp
    delivered_at: Timestamp | None
