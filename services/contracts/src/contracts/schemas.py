"""What the contracts API reads and writes. Models live in models.py; these are the contract."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tdi_kit.app import problem_responses
from tdi_kit.identifiers import OrganisationCode, Siren, TerritoryCode
from tdi_kit.pagination import CSV_RESPONSE
from tdi_kit.strings import text

# Each read or write documents the problems it may answer, in this service's words.
_PROBLEMS = {
    403: "The token lacks the scope, or an operator's token reaches beyond what it finances.",
    404: "No such record.",
    409: "The contract's state forbids this (signed: use an amendment; closed; live elsewhere).",
    503: "The registry, which checks territories and organisations, cannot be reached.",
}
READ_ONE = problem_responses(304, 404, descriptions=_PROBLEMS)
# 200 is JSON, or CSV with `format=csv` / `Accept: text/csv`.
LIST = {**CSV_RESPONSE, **problem_responses(304, descriptions=_PROBLEMS)}
CREATE = problem_responses(401, 403, 404, 409, 412, 413, 503, descriptions=_PROBLEMS)
UPDATE = problem_responses(401, 403, 404, 409, 412, 413, 428, 503, descriptions=_PROBLEMS)
Theme = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{1,47}$",
        examples=["ecole-de-production"],
        description="A theme slug: `orientation`, `alternance`, `transition-energetique`, ...",
    ),
]
ActionCode = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$", examples=["FA-01"])]
# Text fields (tdi_kit.strings): single lines, except the prose of LongText (descriptions,
# notes, an amendment's reason).
if TYPE_CHECKING:
    # `text()` builds its `Annotated` type at run time, which mypy cannot read: a str to mypy.
    Name = str
    Title = str
    LongText = str
    Enjeu = str
    Unit = str
else:
    Name = text(200)
    Title = text(300)
    LongText = text(10_000, min_length=0, multiline=True)
    Enjeu = text(500)
    Unit = text(40)
Year = Annotated[int, Field(ge=2018, le=2100)]
Cents = Annotated[
    int, Field(ge=0, le=10**15, description="Euro cents (integer).", examples=[600_000_000])
]
Measure = Annotated[float, Field(allow_inf_nan=False, ge=-1e15, le=1e15)]

ContractKind = Literal["protocole", "contrat"]
ContractStatus = Literal["draft", "signed", "in_progress", "closed", "cancelled"]
ActionStatus = Literal["idea", "planned", "in_progress", "done", "abandoned"]
Axis = Literal["recruter", "innover", "attirer", "simplifier"]
Priority = Literal["competences", "transition_ecologique", "innovation", "foncier"]
Role = Literal[
    "prefet",
    "president_region",
    "president_department",
    "president_epci",
    "operator",
    "industrialist",
    "partner",
]
Phase = Literal[1, 2]


class Write(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _not_null(model: BaseModel, *names: str) -> None:
    """Fields an update may leave out but not clear."""
    for name in names:
        if name in model.model_fields_set and getattr(model, name) is None:
            raise ValueError(f"{name} cannot be null")


class CodeName(BaseModel):
    code: str
    name: str


# Owners, financers, signatories ------------------------------------------------------------


class Owner(Write):
    """The maître d'ouvrage: a registry organisation, or a name with an optional SIREN."""

    organisation_code: OrganisationCode | None = None
    name: Name | None = None
    siren: Siren | None = None

    @model_validator(mode="after")
    def _one_identity(self) -> Owner:
        if (self.organisation_code is None) == (self.name is None):
            raise ValueError("give either organisation_code or name")
        if self.siren is not None and self.name is None:
            raise ValueError("a SIREN goes with a name")
        return self


class SignatoryWrite(Write):
    role: Role
    organisation_code: OrganisationCode | None = Field(
        default=None, description="The State (`prefecture-27`), a Région, an operator..."
    )
    siren: Siren | None = Field(default=None, description="A member EPCI, for `president_epci`.")
    name: Name | None = Field(default=None, description="A person or a company.")
    signed_on: dt.date | None = None

    @model_validator(mode="after")
    def _identity(self) -> SignatoryWrite:
        if self.organisation_code is None and self.siren is None and self.name is None:
            raise ValueError("give organisation_code, siren or name")
        return self


class SignatoryRead(BaseModel):
    id: uuid.UUID
    role: Role
    organisation_code: str | None
    siren: str | None
    name: str | None
    signed_on: dt.date | None
    required: bool = Field(
        description="The State, the Région and member EPCIs must sign before the contract is."
    )


class SignatureWrite(Write):
    signed_on: dt.date


# Plan lines, indicators, milestones ----------------------------------------------------------


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
        if (self.financer_code is None) == (self.financer_name is None):
            raise ValueError("give either financer_code or financer_name")
        return self


class PlanLineUpdate(Write):
    financer_code: OrganisationCode | None = None
    financer_name: Name | None = None
    label: Name | None = None
    amount_cents: Cents | None = None
    allocation_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _checks(self) -> PlanLineUpdate:
        _not_null(self, "amount_cents")
        return self


class PlanLineRead(BaseModel):
    id: uuid.UUID
    financer_code: str | None
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


class IndicatorUpdate(Write):
    label: Name | None = None
    unit: Unit | None = None
    target: Measure | None = None
    actual: Measure | None = None
    as_of: dt.date | None = None

    @model_validator(mode="after")
    def _checks(self) -> IndicatorUpdate:
        _not_null(self, "label")
        return self


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


class MilestoneUpdate(Write):
    label: Name | None = None
    due_on: dt.date | None = None
    done_on: dt.date | None = None

    @model_validator(mode="after")
    def _checks(self) -> MilestoneUpdate:
        _not_null(self, "label")
        return self


class MilestoneRead(BaseModel):
    id: uuid.UUID
    label: str
    due_on: dt.date | None
    done_on: dt.date | None


# Fiches-actions ------------------------------------------------------------------------------


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


class ActionUpdate(Write):
    """Fields to change; absent fields stay as they are, null clears an optional one."""

    code: ActionCode | None = None
    title: Title | None = None
    description: LongText | None = None
    axis: Axis | None = None
    priority: Priority | None = None
    themes: list[Theme] | None = Field(default=None, max_length=20)
    owner: Owner | None = None
    status: ActionStatus | None = None
    budget_cents: Cents | None = None

    @model_validator(mode="after")
    def _checks(self) -> ActionUpdate:
        _not_null(self, "code", "title", "themes", "status")
        return self


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
    owner: Owner | None
    status: ActionStatus
    budget_cents: int | None
    planned_cents: int = Field(description="The sum of the plan lines.")
    plan_lines: list[PlanLineRead]
    indicators: list[IndicatorRead]
    milestones: list[MilestoneRead]
    is_demo: bool = Field(description="Invented for demonstrations: not a real project.")
    sources: list[str] = Field(description="The public sources of a record loaded from them.")
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


# Contracts -----------------------------------------------------------------------------------


class ContractWrite(Write):
    """A new draft, optionally with its signatories and fiches-actions."""

    territory_code: TerritoryCode
    kind: ContractKind
    title: Title
    enjeux: list[Enjeu] = Field(default_factory=list, max_length=30)
    start_year: Year | None = None
    end_year: Year | None = None
    signature_place: Name | None = None
    notes: LongText | None = None
    signatories: list[SignatoryWrite] = Field(default_factory=list, max_length=100)
    actions: list[ActionWrite] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _period(self) -> ContractWrite:
        if self.start_year and self.end_year and self.end_year < self.start_year:
            raise ValueError("end_year comes before start_year")
        return self


class ContractUpdate(Write):
    title: Title | None = None
    enjeux: list[Enjeu] | None = Field(default=None, max_length=30)
    start_year: Year | None = None
    end_year: Year | None = None
    signature_place: Name | None = None
    notes: LongText | None = None

    @model_validator(mode="after")
    def _checks(self) -> ContractUpdate:
        _not_null(self, "title", "enjeux")
        return self


class ContractRead(BaseModel):
    id: uuid.UUID
    territory_code: str
    territory_name: str
    phase: Phase
    regions: list[CodeName]
    kind: ContractKind = Field(description="`protocole` (d'accord) or `contrat`.")
    title: str
    enjeux: list[str] = Field(description="The territory's stakes.")
    start_year: int | None
    end_year: int | None
    status: ContractStatus
    signed_on: dt.date | None = Field(description="The date of the last required signature.")
    signature_place: str | None
    notes: str | None = Field(description="What the record says beyond the fields.")
    signatories: list[SignatoryRead]
    action_count: int
    budget_cents: int | None = Field(
        description="The sum of the actions' known budgets; null when none is known."
    )
    planned_cents: int = Field(description="The sum of the actions' plan lines.")
    amendment_count: int
    is_demo: bool = Field(description="Invented for demonstrations: not a real act.")
    sources: list[str] = Field(description="The public sources of an act loaded from them.")
    version: int = Field(description="Grows by one with each recorded change.")
    created_at: dt.datetime
    updated_at: dt.datetime


class ContractDetail(ContractRead):
    actions: list[ActionRead]


class TerritoryPlan(BaseModel):
    """A territory's contracts with their actions, and its actions in no contract (yet)."""

    territory_code: str
    contracts: list[ContractDetail] = Field(description="In the contracts list's default order.")
    actions_without_contract: list[ActionRead] = Field(
        description="Projects on record whose act is not known."
    )


# History and amendments ----------------------------------------------------------------------

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
    at: dt.datetime


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
    created_at: dt.datetime
