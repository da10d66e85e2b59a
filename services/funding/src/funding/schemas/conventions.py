"""Conventions de mobilisation: what the API reads and writes."""

from __future__ import annotations

import datetime as dt

from pydantic import Field, model_validator

from funding.schemas.common import Code, Day, LongText, Model, Name, SourceList, Title, Utc, Write
from tdi_kit.identifiers import OrganisationCode


class ConventionCreate(Write):
    code: Code
    operator_code: OrganisationCode
    title: Title
    signed_on: Day | None = None
    place: Name | None = None
    period_start: Day | None = None
    period_end: Day | None = None
    commitments: LongText = ""
    documents: SourceList = Field(default_factory=list, description="References of the texts.")
    sources: SourceList = Field(default_factory=list, description="Where the facts come from.")

    @model_validator(mode="after")
    def _period(self) -> ConventionCreate:
        if self.period_start and self.period_end and self.period_start > self.period_end:
            raise ValueError("period_start is after period_end")
        return self


class ConventionUpdate(Write):
    """Fields to change; absent fields stay as they are."""

    title: Title | None = None
    signed_on: Day | None = None
    place: Name | None = None
    period_start: Day | None = None
    period_end: Day | None = None
    commitments: LongText | None = None
    documents: SourceList | None = None
    sources: SourceList | None = None


class ConventionRead(Model):
    code: str
    operator_code: str
    operator_name: str | None = Field(
        default=None,
        description="The registry's name of `operator_code`, as of the last write naming it.",
    )
    title: str
    signed_on: dt.date | None
    place: str | None
    period_start: dt.date | None
    period_end: dt.date | None
    commitments: str
    documents: list[str]
    sources: list[str]
    is_demo: bool
    version: int
    created_at: Utc
    updated_at: Utc
