"""Envelopes, their tranches, award rules and funders: what the API reads and writes."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from funding.schemas.common import (
    MAX_CENTS,
    Code,
    Day,
    FunderCode,
    Kind,
    LongText,
    OptionalCents,
    Reason,
    SourceList,
    Theme,
    Title,
    Utc,
    Write,
    Year,
)
from funding.schemas.reported import Reported
from tdi_kit.identifiers import OrganisationCode
from tdi_kit.schemas import examples


class Rules(BaseModel):
    """An envelope's award rules; null where it has none. Checked on every allocation."""

    model_config = ConfigDict(extra="forbid", from_attributes=True, strict=True)

    max_rate_percent: Annotated[int, Field(ge=1, le=100)] | None = Field(
        default=None, description="Highest share of the eligible spending the envelope pays."
    )
    cap_per_project_cents: OptionalCents = None
    cap_waivable: bool = Field(
        default=False, description="The cap may be waived by a decision named in `cap_waiver`."
    )
    min_eligible_spending_cents: OptionalCents = None
    examined_by: OrganisationCode | None = Field(
        default=None, description="Who examines applications; may record allocations too."
    )
    text: LongText = ""


class TrancheCreate(Write):
    year: Year
    amount_cents: Annotated[int, Field(ge=0, le=MAX_CENTS)]
    note: LongText = ""
    last_year: Year | None = Field(
        default=None,
        description="Where no annual split is published: the last year the amount covers "
        "(the tranche is then the period `year`-`last_year`, never one year).",
    )
    funder_code: FunderCode | None = Field(
        default=None, description="Who puts the amount in; null where the record does not say."
    )

    @model_validator(mode="after")
    def _period(self) -> TrancheCreate:
        if self.last_year is not None and self.last_year <= self.year:
            raise ValueError("last_year must be after year (leave it out for one year)")
        return self


class TrancheRead(BaseModel):
    year: int
    last_year: int | None = Field(
        default=None, description="Set when the amount covers year-last_year (no annual split)."
    )
    note: str
    amount_cents: int
    committed_cents: int
    disbursed_cents: int
    available_cents: int = Field(description="amount - committed: what can still be committed.")


class Adjustment(Write):
    """A top-up (positive) or a cut (negative, never below what is committed)."""

    delta_cents: Annotated[int, Field(ge=-MAX_CENTS, le=MAX_CENTS)]
    effective_on: Day | None = None
    funder_code: FunderCode | None = Field(
        default=None, description="Who puts the top-up in (or whose share is cut)."
    )
    reason: Reason

    @model_validator(mode="after")
    def _not_zero(self) -> Adjustment:
        if self.delta_cents == 0:
            raise ValueError("delta_cents must not be 0")
        return self


class EnvelopeCreate(Write):
    code: Code
    operator_code: OrganisationCode = Field(description="Who manages the envelope.")
    convention_code: Code | None = None
    part_of: Code | None = Field(
        default=None,
        description="The envelope whose money this one is part of: its amount is carved out "
        "of the parent's, never added to it.",
    )
    name: Title
    kind: Kind
    themes: Annotated[list[Theme], Field(max_length=14)] = Field(default_factory=list)
    description: LongText = ""
    start_year: Year
    end_year: Year
    tranches: Annotated[list[TrancheCreate], Field(max_length=101)] = Field(default_factory=list)
    rules: Rules = Field(default_factory=Rules)
    sources: SourceList = Field(default_factory=list)

    @model_validator(mode="after")
    def _years(self) -> EnvelopeCreate:
        if self.start_year > self.end_year:
            raise ValueError("start_year is after end_year")
        return self


class EnvelopeUpdate(Write):
    """Fields to change; absent fields stay as they are. Tranches change through their own
    endpoints, so that every change of money is a ledger entry."""

    name: Title | None = None
    convention_code: Code | None = None
    part_of: Code | None = None
    themes: Annotated[list[Theme], Field(max_length=14)] | None = None
    description: LongText | None = None
    start_year: Year | None = None
    end_year: Year | None = None
    rules: Rules | None = None
    sources: SourceList | None = None


class Totals(BaseModel):
    """Recorded here: the ledger's sums (endowments, and what operators pushed)."""

    amount_cents: int
    committed_cents: int
    disbursed_cents: int
    available_cents: int


class FunderShare(BaseModel):
    """What one funder put into an envelope (its endowments, net of cuts)."""

    funder_code: str | None = Field(description="Null: the public record does not say who.")
    funder_label: str = Field(
        description="A collective funder's label, or the registry's name of the organisation."
    )
    amount_cents: int


class EnvelopeRead(BaseModel):
    model_config = examples(
        {
            "code": "bdt-fonds-propres-2019-2022",
            "operator_code": "banque-des-territoires",
            "operator_name": "Banque des Territoires (groupe Caisse des Dépôts)",
            "convention_code": "2019-banque-des-territoires",
            "part_of": None,
            "parts": [],
            "name": "Banque des Territoires: fonds propres Territoires d'industrie 2019-2022",
            "kind": "equity",
            "themes": ["foncier", "friche", "immobilier-industriel"],
            "description": "100 M€ a year of equity until 2022.",
            "start_year": 2019,
            "end_year": 2022,
            "rules": {
                "max_rate_percent": None,
                "cap_per_project_cents": None,
                "cap_waivable": False,
                "min_eligible_spending_cents": None,
                "examined_by": None,
                "text": "",
            },
            "sources": ["Localtis / Banque des Territoires (March 2019)"],
            "tranches": [
                {
                    "year": 2020,
                    "last_year": None,
                    "note": "",
                    "amount_cents": 10000000000,
                    "committed_cents": 350000000,
                    "disbursed_cents": 350000000,
                    "available_cents": 9650000000,
                }
            ],
            "totals": {
                "amount_cents": 10000000000,
                "committed_cents": 350000000,
                "disbursed_cents": 350000000,
                "available_cents": 9650000000,
            },
            "funders": [
                {
                    "funder_code": "banque-des-territoires",
                    "funder_label": "Banque des Territoires (groupe Caisse des Dépôts)",
                    "amount_cents": 10000000000,
                }
            ],
            "reported": {
                "engaged": None,
                "committed": None,
                "disbursed": None,
                "figures": [],
            },
            "is_demo": False,
            "version": 1,
            "created_at": "2026-12-02T09:00:00Z",
            "updated_at": "2026-12-02T09:00:00Z",
        }
    )

    code: str
    operator_code: str = Field(description="Who manages it (`rules.examined_by` examines).")
    operator_name: str | None = Field(
        default=None,
        description="The registry's name of `operator_code`, as of the last write naming it.",
    )
    convention_code: str | None
    part_of: str | None = Field(description="The envelope whose money this one is part of.")
    parts: list[str] = Field(description="The envelopes that are part of this one.")
    name: str
    kind: Kind
    themes: list[str]
    description: str
    start_year: int
    end_year: int
    rules: Rules
    sources: list[str]
    tranches: list[TrancheRead]
    totals: Totals = Field(description="Recorded here: the ledger's sums.")
    funders: list[FunderShare] = Field(
        description="Who put the amount in; they sum to `totals.amount_cents`."
    )
    reported: Reported = Field(description="Reported in the public record, apart from `totals`.")
    is_demo: bool
    version: int
    created_at: Utc
    updated_at: Utc
