"""Balances: the ledger's sums by dimension."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from funding.schemas.reported import ReportedFigureRead

Dimension = Literal[
    "envelope", "tranche", "operator", "funder", "year", "theme", "territory", "region"
]


class BalanceRead(BaseModel):
    """Sums of the ledger for one group. `amount_cents` and `available_cents` are null when
    grouped by territory or region (envelopes are not split by territory in advance);
    `committed_cents` and `disbursed_cents` are null when grouped by funder (an allocation
    draws on the envelope, not on one funder's share)."""

    envelope_code: str | None = None
    year: int | None = Field(
        default=None, description="The year; null for money of a multi-year `period`."
    )
    period: str | None = Field(
        default=None, description="`2024`, or `2023-2026` for money with no annual split."
    )
    operator_code: str | None = None
    operator_name: str | None = Field(
        default=None, description="The registry's name of `operator_code`, under `by=operator`."
    )
    funder_code: str | None = Field(
        default=None, description="Null under `by=funder`: the record does not name the funder."
    )
    funder_label: str | None = None
    theme: str | None = Field(
        default=None, description="The envelope's theme set, comma-separated, counted once."
    )
    themes: list[str] | None = None
    territory_code: str | None = None
    region_code: str | None = None
    amount_cents: int | None
    committed_cents: int | None
    disbursed_cents: int | None
    undisbursed_cents: int | None = Field(description="committed - disbursed.")
    available_cents: int | None


class Overlap(BaseModel):
    """Items of a breakdown that share money, and why: their sum exceeds the total."""

    dimension: Dimension
    items: list[str]
    why: str


class BalanceReport(BaseModel):
    by: list[Dimension]
    include_demo: bool = Field(description="Whether demo movements are counted.")
    items: list[BalanceRead] = Field(
        description="They sum to `totals`, column by column, unless `overlaps` says otherwise."
    )
    totals: BalanceRead = Field(description="All the matching movements, each euro once.")
    overlaps: list[Overlap]
    notes: list[str] = Field(description="How the figures were counted.")
    reported: list[ReportedFigureRead] = Field(
        description="Figures of the public record within the filters: reported, not recorded "
        "here, and never added to the figures above."
    )


class BalanceBreakdowns(BaseModel):
    """The money of a dashboard: one report per breakdown, each summing to `totals`."""

    include_demo: bool = Field(description="Whether demo movements are counted.")
    by_operator: list[BalanceRead]
    by_funder: list[BalanceRead] = Field(description="Amounts only (see `notes`).")
    by_theme: list[BalanceRead]
    by_year: list[BalanceRead]
    by_envelope: list[BalanceRead]
    totals: BalanceRead = Field(description="All the matching movements, each euro once.")
    notes: list[str] = Field(description="How the figures were counted.")
    reported: list[ReportedFigureRead] = Field(
        description="Figures of the public record within the filters: reported, not recorded "
        "here, and never added to the figures above."
    )
