"""Figures reported in the public record, apart from the ledger's recorded ones."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from funding.schemas.common import Measure, Model


class ReportedFigureRead(Model):
    """A figure of the public record: what a source said, as of a date. Never summed with the
    ledger's recorded figures."""

    code: str
    label: str
    measure: Measure
    measure_label: str
    value_cents: int | None = Field(description="Euro cents; null for a count of projects.")
    count: int | None = Field(description="For `projects`; null for money.")
    as_of: str | None = Field(
        description="ISO 8601 at the source's precision (`2019-09-24`, `2024`); null if none."
    )
    envelope_code: str | None = Field(description="The envelope it is about, if one.")
    convention_code: str | None = Field(
        description="The convention it is about (all its envelopes), if one."
    )
    operator_code: str | None = Field(description="The operator it is about, if one.")
    scope: Literal["envelope", "convention", "operator", "programme"]
    source_title: str
    source_url: str | None = Field(description="Null where the source is known by title only.")
    caveat: str
    is_demo: bool


class Reported(BaseModel):
    """The public record's latest figure per measure; null where nobody published one."""

    engaged: ReportedFigureRead | None
    committed: ReportedFigureRead | None
    disbursed: ReportedFigureRead | None
    figures: list[ReportedFigureRead]
