"""Fiches-actions and their owners: what the API reads and writes."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field, model_validator

from contracts.schemas.children import (
    IndicatorRead,
    IndicatorWrite,
    MilestoneRead,
    MilestoneWrite,
    PlanLineRead,
    PlanLineWrite,
)
from contracts.schemas.common import (
    REGISTRY_NAME,
    ActionCode,
    ActionStatus,
    Axis,
    Cents,
    LongText,
    Name,
    Phase,
    Priority,
    Theme,
    Title,
    Update,
    Write,
)
from tdi_kit.clock import Timestamp
from tdi_kit.identifiers import OrganisationCode, Siren
from tdi_kit.schemas import one_of


class Owner(Write):
    """The maître d'ouvrage: a registry organisation, or a name with an optional SIREN."""

    organisation_code: OrganisationCode | None = None
    name: Name | None = None
    siren: Siren | None = None

    @model_validator(mode="after")
    def _one_identity(self) -> Owner:
        one_of(self, "organisation_code", "name")
        if self.siren is not None and self.name is None:
            raise ValueError("a SIREN goes with a name")
        return self


class ActionWrite(Write):
    """A new fiche-action, with its co-financing plan, indicators and milestones."""

    code: ActionCode
    title: Title
    description: LongText | None = None
    axis: Axis | None = Field(default=None, description="Phase 1: the axis of the programme.")
    priority: Priority | None = Field(default=None, description="Phase 2: the priority.")
    themes: list[Theme] = Field(default_factory=list, max_length=20)
    owner: Owner | None = None
    status: ActionStatus = "planned"
    budget_cents: Cents | None = None
    plan_lines: list[PlanLineWrite] = Field(default_factory=list, max_length=50)
    indicators: list[IndicatorWrite] = Field(default_factory=list, max_length=50)
    milestones: list[MilestoneWrite] = Field(default_factory=list, max_length=50)


class ActionUpdate(Update):
    """Fields to change; absent fields stay as they are, null clears an optional one."""

    not_null_fields = (
        "code",
        "title",
        "themes",
        "status",
    )
    code: ActionCode | None = None
    title: Title | None = None
    description: LongText | None = None
    axis: Axis | None = None
    priority: Priority | None = None
    themes: list[Theme] | None = Field(default=None, max_length=20)
    owner: Owner | None = None
    status: ActionStatus | None = None
    budget_cents: Cents | None = None


class OwnerRead(BaseModel):
    """The maître d'ouvrage as read: with the registry's name of its organisation."""

    organisation_code: str | None
    organisation_name: str | None = Field(
        default=None, description=REGISTRY_NAME.format(code="organisation_code")
    )
    name: str | None
    siren: str | None


class ActionRead(BaseModel):
    id: uuid.UUID
    contract_id: uuid.UUID | None = Field(
        description="Null for a project on record whose act is not known."
    )
    territory_code: str
    phase: Phase
    code: str
    title: str
    description: str | None
    axis: Axis | None
    priority: Priority | None
    themes: list[str]
    owner: OwnerRead | None
    status: ActionStatus
    budget_cents: int | None
    planned_cents: int = Field(description="The sum of the plan lines.")
    plan_lines: list[PlanLineRead]
    indicators: list[IndicatorRead]
    milestones: list[MilestoneRead]
    is_demo: bool = Field(description="Invented for demonstrations: not a real project.")
    sources: list[str] = Field(description="The public sources of a record loaded from them.")
    version: int
    created_at: Timestamp
    updated_at: Timestamp
