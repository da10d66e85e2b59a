"""Protocoles and contracts with their signatories: what the API reads and writes."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, Field, model_validator

from contracts.schemas.actions import ActionRead, ActionWrite
from contracts.schemas.common import (
    REGISTRY_NAME,
    CodeName,
    ContractKind,
    ContractStatus,
    Enjeu,
    LongText,
    Name,
    Phase,
    Role,
    Title,
    Update,
    Write,
    Year,
)
from tdi_kit.clock import Timestamp
from tdi_kit.identifiers import OrganisationCode, Siren, TerritoryCode
from tdi_kit.schemas import examples


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
    organisation_name: str | None = Field(
        default=None, description=REGISTRY_NAME.format(code="organisation_code")
    )
    siren: str | None
    name: str | None
    signed_on: dt.date | None
    required: bool = Field(
        description="The State, the Région and member EPCIs must sign before the contract is."
    )


class SignatureWrite(Write):
    signed_on: dt.date


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


class ContractUpdate(Update):
    not_null_fields = (
        "title",
        "enjeux",
    )

    title: Title | None = None
    enjeux: list[Enjeu] | None = Field(default=None, max_length=30)
    start_year: Year | None = None
    end_year: Year | None = None
    signature_place: Name | None = None
    notes: LongText | None = None


class ContractRead(BaseModel):
    model_config = examples(
        {
            "id": "19dbc807-1097-54eb-b10e-6454a4c1f279",
            "territory_code": "2402",
            "territory_name": "Grand Est Touraine",
            "phase": 1,
            "regions": [{"code": "24", "name": "Centre-Val de Loire"}],
            "kind": "contrat",
            "title": "Contrat Territoire d'industrie Grand Est Touraine",
            "enjeux": [],
            "start_year": None,
            "end_year": None,
            "status": "signed",
            "signed_on": "2021-03-29",
            "signature_place": "Montlouis-sur-Loire",
            "notes": "The full contract that followed the protocol of 23 April 2019.",
            "signatories": [],
            "action_count": 0,
            "budget_cents": None,
            "planned_cents": 0,
            "amendment_count": 0,
            "is_demo": False,
            "sources": ["France Bleu", "DREETS Centre-Val de Loire"],
            "version": 1,
            "created_at": "2026-12-02T09:00:00Z",
            "updated_at": "2026-12-02T09:00:00Z",
        }
    )

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
    created_at: Timestamp
    updated_at: Timestamp


class ContractDetail(ContractRead):
    actions: list[ActionRead]


class TerritoryPlan(BaseModel):
    """A territory's contracts with their actions, and its actions in no contract (yet)."""

    territory_code: str
    contracts: list[ContractDetail] = Field(description="In the contracts list's default order.")
    actions_without_contract: list[ActionRead] = Field(
        description="Projects on record whose act is not known."
    )
