"""The ledger's movements, as the API reads them."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import Field

from funding.schemas.common import LedgerKind, Model, Utc


class LedgerEntryRead(Model):
    id: int
    kind: LedgerKind
    at: Utc
    effective_on: dt.date | None
    actor: str
    actor_org: str | None
    request_id: str | None
    envelope_code: str
    year: int
    operator_code: str
    allocation_id: uuid.UUID | None
    disbursement_id: uuid.UUID | None
    territory_code: str | None
    funder_code: str | None = Field(
        description="Who put the money of an endowment in; null on other movements."
    )
    amount_delta_cents: int
    committed_delta_cents: int
    disbursed_delta_cents: int
    note: str
    is_demo: bool
