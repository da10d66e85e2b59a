"""Allocations, and the answers of bulk pushes: what the API reads and writes."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, Field

from funding.schemas.common import (
    AllocationStatus,
    Cents,
    Code,
    CodeName,
    Day,
    Model,
    Name,
    OptionalCents,
    Reason,
    Reference,
    Title,
    Utc,
    UuidText,
    Write,
    Year,
)
from tdi_kit.identifiers import Siren, TerritoryCode


class AllocationFields(Write):
    territory_code: TerritoryCode
    action_id: UuidText | None = Field(
        default=None, description="A fiche-action of the contracts service."
    )
    title: Title = Field(description="The project.")
    beneficiary_name: Name
    beneficiary_siren: Siren | None = None
    reference: Reference | None = Field(
        default=None, description="The operator's own reference: unique per operator."
    )
    amount_cents: Cents
    eligible_spending_cents: OptionalCents = Field(
        default=None, description="The project's eligible spending, for the rate and minimum."
    )
    cap_waiver: Name | None = Field(
        default=None, description="The decision waiving the envelope's cap, where it may be."
    )
    decision_date: Day | None = None


class AllocationCreate(AllocationFields):
    envelope_code: Code
    year: Year = Field(description="The tranche's year.")
    status: Literal["proposed", "committed"] = Field(
        default="proposed", description="`committed` commits at once (409 if the tranche lacks)."
    )


class AllocationUpdate(Write):
    """A proposed allocation's fields; absent fields stay as they are."""

    territory_code: TerritoryCode | None = None
    action_id: UuidText | None = None
    title: Title | None = None
    beneficiary_name: Name | None = None
    beneficiary_siren: Siren | None = None
    reference: Reference | None = None
    amount_cents: Cents | None = None
    eligible_spending_cents: OptionalCents = None
    cap_waiver: Name | None = None
    decision_date: Day | None = None


class Cancellation(Write):
    reason: Reason


class AllocationRead(Model):
    id: uuid.UUID
    envelope_code: str
    year: int
    operator_code: str
    operator_name: str | None = Field(
        default=None,
        description="The registry's name of `operator_code`, as of the last write naming it.",
    )
    territory_code: str
    region_codes: list[str]
    regions: list[CodeName] = Field(
        default_factory=list,
        description="`region_codes` with their names (the registry's Régions, frozen in a "
        "release: `tdi_kit.copies`).",
    )
    action_id: uuid.UUID | None
    title: str
    beneficiary_name: str
    beneficiary_siren: str | None
    reference: str | None
    amount_cents: int
    eligible_spending_cents: int | None
    cap_waiver: str | None
    decision_date: dt.date | None
    status: AllocationStatus
    disbursed_cents: int
    released_cents: int = Field(description="Given back to the tranche by a cancellation.")
    undisbursed_cents: int = Field(description="Committed and not yet disbursed.")
    cancel_reason: str | None
    is_demo: bool
    version: int
    created_at: Utc
    updated_at: Utc
    committed_at: Utc | None
    cancelled_at: Utc | None


class RowProblem(BaseModel):
    """Why one row of a bulk push was refused."""

    row: int = Field(description="1-based position among the pushed rows (CSV: after the header).")
    status: int = Field(description="What the row would have got on its own: 403, 404, 409, 422.")
    detail: str
    errors: list[dict[str, str]] = Field(default_factory=list)


class BulkResult(BaseModel):
    created: int
    ids: list[uuid.UUID]
