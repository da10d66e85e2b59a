"""Disbursements: what the API reads and writes."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import model_validator

from funding.schemas.common import Cents, Day, Model, Reference, Utc, UuidText, Write
from tdi_kit.schemas import one_of


class DisbursementCreate(Write):
    amount_cents: Cents
    paid_on: Day | None = None
    reference: Reference | None = None


class DisbursementRow(DisbursementCreate):
    """A disbursement in a bulk push: the allocation by id or by the operator's reference."""

    allocation_id: UuidText | None = None
    allocation_reference: Reference | None = None

    @model_validator(mode="after")
    def _one_allocation(self) -> DisbursementRow:
        one_of(
            self,
            "allocation_id",
            "allocation_reference",
            "give exactly one of allocation_id and allocation_reference",
        )
        return self


class DisbursementRead(Model):
    id: uuid.UUID
    allocation_id: uuid.UUID
    amount_cents: int
    paid_on: dt.date | None
    reference: str | None
    is_demo: bool
    created_at: Utc
