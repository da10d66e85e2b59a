"""A contract's history and its amendments (avenants): what the API reads and writes."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from contracts.schemas.actions import ActionUpdate, ActionWrite
from contracts.schemas.children import (
    IndicatorUpdate,
    IndicatorWrite,
    MilestoneUpdate,
    MilestoneWrite,
    PlanLineUpdate,
    PlanLineWrite,
)
from contracts.schemas.common import LongText, Title, Write
from contracts.schemas.contracts import ContractUpdate
from tdi_kit.clock import Timestamp

Target = Literal["contract", "signatory", "action", "plan_line", "indicator", "milestone"]


class ChangeRead(BaseModel):
    """One change: a field updated (before → after), or a record added or removed."""

    target: Target
    target_id: str | None = Field(description="The changed record (null for the contract).")
    action_id: str | None = Field(
        default=None, description="The action a plan line, indicator or milestone belongs to."
    )
    op: Literal["add", "update", "remove"]
    field: str | None = None
    before: Any = None
    after: Any = None


class HistoryEntryRead(BaseModel):
    version: int
    kind: str = Field(
        description="`created`, `edited`, `signature`, `status`, `amendment`, `follow_up` or "
        "`recorded` (loaded from public sources)."
    )
    summary: str
    amendment_number: int | None
    changes: list[ChangeRead]
    by: str | None = Field(
        description="The token subject who acted: shown only to callers of `org` and admins."
    )
    org: str | None = Field(description="The organisation that acted (null: the State's tools).")
    at: Timestamp


class UpdateContract(Write):
    op: Literal["update_contract"]
    fields: ContractUpdate


class AddAction(Write):
    op: Literal["add_action"]
    action: ActionWrite


class UpdateAction(Write):
    op: Literal["update_action"]
    action_id: uuid.UUID
    fields: ActionUpdate


class RemoveAction(Write):
    op: Literal["remove_action"]
    action_id: uuid.UUID


class AddPlanLine(Write):
    op: Literal["add_plan_line"]
    action_id: uuid.UUID
    line: PlanLineWrite


class UpdatePlanLine(Write):
    op: Literal["update_plan_line"]
    action_id: uuid.UUID
    line_id: uuid.UUID
    fields: PlanLineUpdate


class RemovePlanLine(Write):
    op: Literal["remove_plan_line"]
    action_id: uuid.UUID
    line_id: uuid.UUID


class AddIndicator(Write):
    op: Literal["add_indicator"]
    action_id: uuid.UUID
    indicator: IndicatorWrite


class UpdateIndicator(Write):
    op: Literal["update_indicator"]
    action_id: uuid.UUID
    indicator_id: uuid.UUID
    fields: IndicatorUpdate


class RemoveIndicator(Write):
    op: Literal["remove_indicator"]
    action_id: uuid.UUID
    indicator_id: uuid.UUID


class AddMilestone(Write):
    op: Literal["add_milestone"]
    action_id: uuid.UUID
    milestone: MilestoneWrite


class UpdateMilestone(Write):
    op: Literal["update_milestone"]
    action_id: uuid.UUID
    milestone_id: uuid.UUID
    fields: MilestoneUpdate


class RemoveMilestone(Write):
    op: Literal["remove_milestone"]
    action_id: uuid.UUID
    milestone_id: uuid.UUID


AmendmentChange = Annotated[
    UpdateContract
    | AddAction
    | UpdateAction
    | RemoveAction
    | AddPlanLine
    | UpdatePlanLine
    | RemovePlanLine
    | AddIndicator
    | UpdateIndicator
    | RemoveIndicator
    | AddMilestone
    | UpdateMilestone
    | RemoveMilestone,
    Field(discriminator="op"),
]


class AmendmentWrite(Write):
    """An avenant: what it changes, applied at once, numbered in sequence."""

    title: Title = Field(examples=["Avenant n°1: ajout de la fiche ISTHY"])
    reason: LongText | None = None
    signed_on: dt.date | None = None
    changes: list[AmendmentChange] = Field(min_length=1, max_length=100)


class AmendmentRead(BaseModel):
    number: int
    title: str
    reason: str | None
    signed_on: dt.date | None
    version: int = Field(description="The contract version this amendment produced.")
    changes: list[ChangeRead]
    org: str | None = Field(description="The organisation that recorded the amendment.")
    created_by: str | None = Field(
        description="The token subject who recorded it: shown only to callers of `org` and admins."
    )
    created_at: Timestamp
