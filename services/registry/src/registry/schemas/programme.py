"""The programme's phases and dated milestones: what the API reads."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from registry.schemas.common import Phase
from tdi_kit.schemas import examples

PhaseStatus = Literal["upcoming", "current", "ended"]

MilestoneKind = Literal["launch", "deployment", "signature", "count", "funding"]

DatePrecision = Literal["day", "month", "year"]

Measure = Literal[
    "territories",
    "new_territories",
    "prefigurateurs",
    "conventions_signed",
    "protocoles_signed",
    "territories_with_protocol_or_contract",
    "projects_identified",
    "projects_supported",
    "chefs_de_projet",
    "amount_announced",
    "amount_announced_per_year",
    "amount_engaged",
    "subsidies",
    "amount_reported",
]


class Source(BaseModel):
    title: str = Field(description="The source as the public record names it.")
    url: str | None = Field(description="Null when the record gives no address.")


class PhaseTerritories(BaseModel):
    in_register: int = Field(description="Territories of the phase held by this registry.")
    by_status: dict[str, int]
    by_region: list[RegionTally] = Field(
        description="Per official Région; the counts add up to `in_register`."
    )
    announced: int | None = Field(
        description="The latest count the public record gives for the phase (null: none)."
    )
    announced_by: MilestoneRead | None = Field(description="The milestone that gives it.")


class RegionTally(BaseModel):
    region_code: str | None
    region_name: str | None
    count: int


class PhaseRead(BaseModel):
    phase: Phase
    name: str
    starts_on: dt.date
    ends_on: dt.date
    status: PhaseStatus = Field(description="Against today's date (UTC).")
    status_label: str
    source: Source
    caveat: str | None
    territories: PhaseTerritories


class ProgrammeRead(BaseModel):
    name: str
    current_phase: Phase | None = Field(description="The phase under way today; null between.")
    phases: list[PhaseRead]
    record: str = Field(description="What the milestones are, and what they are not.")


class MilestoneRead(BaseModel):
    code: str
    date: dt.date
    date_precision: DatePrecision = Field(
        description="`month` or `year`: the record gives no day; `date` is the first day."
    )
    phase: Phase
    kind: MilestoneKind
    kind_label: str
    measure: Measure
    measure_label: str
    value: int | None = Field(description="A count; null when the figure is money.")
    amount_cents: int | None = Field(description="Money in euro cents; null when a count.")
    organisation_code: str | None = Field(description="Whom the figure is about, if not all.")
    description: str
    source: Source
    caveat: str | None


class Count(BaseModel):
    key: str | int | None = Field(description="The value counted (a phase, a status).")
    count: int


class RegionCount(BaseModel):
    region_code: str | None = Field(description="The official Région; null if none is known.")
    region_name: str | None
    phase: int
    count: int


class TerritoryCounts(BaseModel):
    """The register's territories counted by the database: per phase, and for one phase per
    status and official Région. Each list is ordered by its key's text, null last."""

    # Région 27's counts (`?region=27`): a whole answer, its breakdowns adding up.
    model_config = examples(
        {
            "phase": 2,
            "total": 10,
            "by_phase": [{"key": 1, "count": 10}, {"key": 2, "count": 10}],
            "by_status": [{"key": "active", "count": 10}],
            "by_region": [
                {
                    "region_code": "27",
                    "region_name": "Bourgogne-Franche-Comté",
                    "phase": 2,
                    "count": 10,
                }
            ],
        }
    )

    phase: int = Field(
        description="The phase counted: the one asked for, else the phase under way; between "
        "two phases, the latest one started (with no calendar, the latest in the register)."
    )
    total: int = Field(description="Territories of the phase counted.")
    by_phase: list[Count] = Field(description="Every phase, the other ones included.")
    by_status: list[Count] = Field(description="Territories of the phase counted, by status.")
    by_region: list[RegionCount] = Field(
        description="Territories of the phase counted, by official Région (a territory counts "
        "once, in its `region_code`): adds up to `total`."
    )


PhaseTerritories.model_rebuild()
