"""An action's children (plan lines, indicators, milestones): what the API reads and writes."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, Field, model_validator

from contracts.schemas.common import REGISTRY_NAME, Cents, Measure, Name, Unit, Update, Write
from tdi_kit.identifiers import OrganisationCode
from tdi_kit.schemas import one_of


class PlanLineWrite(Write):
    financer_code: OrganisationCode | None = None
    financer_name: Name | None = Field(default=None, description="A financer not in the registry.")
    label: Name | None = Field(default=None, examples=["France 2030"])
    amount_cents: Cents
    allocation_id: uuid.UUID | None = Field(
        default=None, description="The funding service's allocation behind this line."
    )

    @model_validator(mode="after")
    def _one_financer(self) -> PlanLineWrite:
        one_of(self, "financer_code", "financer_name")
        return self


class PlanLineUpdate(Update):
    not_null_fields = ("amount_cents",)

    financer_code: OrganisationCode | None = None
    financer_name: Name | None = None
    label: Name | None = None
    amount_cents: Cents | None = None
    allocation_id: uuid.UUID | None = None


class PlanLineRead(BaseModel):
    id: uuid.UUID
    financer_code: str | None
    financer_organisation_name: str | None = Field(
        default=None, description=REGISTRY_NAME.format(code="financer_code")
    )
    financer_name: str | None
    label: str | None
    amount_cents: int
    allocation_id: uuid.UUID | None


class IndicatorWrite(Write):
    label: Name
    unit: Unit | None = None
    target: Measure | None = None
    actual: Measure | None = None
    as_of: dt.date | None = None


class IndicatorUpdate(Update):
    not_null_fields = ("label",)

    label: Name | None = None
    unit: Unit | None = None
    target: Measure | None = None
    actual: Measure | None = None
    as_of: dt.date | None = None


class IndicatorRead(BaseModel):
    id: uuid.UUID
    label: str
    unit: str | None
    target: float | None
    actual: float | None
    as_of: dt.date | None


class MilestoneWrite(Write):
    label: Name
    due_on: dt.date | None = None
    done_on: dt.date | None = None


class MilestoneUpdate(Update):
    not_null_fields = ("label",)

    label: Name | None = None
    due_on: dt.date | None = None
    done_on: dt.date | None = None


class MilestoneRead(BaseModel):
    id: uuid.UUID
    label: str
    due_on: dt.date | None
    done_on: dt.date | None
