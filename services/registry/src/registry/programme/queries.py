"""SQL for the programme: its phases, its milestones, and the register's counts per phase."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import aliased

from registry.models import ProgrammeMilestone, ProgrammePhase, Region, Territory
from tdi_kit.rowlists import where_given
from tdi_kit.rowreader import RowReader

# What the milestones list reads, through the driver (see `service.milestone_item`).
MILESTONE_COLUMNS = tuple(ProgrammeMilestone.__table__.columns)
SORTABLE = {
    "date": ProgrammeMilestone.date,
    "code": ProgrammeMilestone.code,
    "measure": ProgrammeMilestone.measure,
}


# A phase as the programme's answer shows it, read through the driver.
PHASES = select(
    ProgrammePhase.phase,
    ProgrammePhase.name,
    ProgrammePhase.starts_on,
    ProgrammePhase.ends_on,
    ProgrammePhase.source_title,
    ProgrammePhase.source_url,
    ProgrammePhase.caveat,
).order_by(ProgrammePhase.phase)


@dataclass
class PhaseRow:
    phase: int
    name: str
    starts_on: dt.date
    ends_on: dt.date
    source_title: str
    source_url: str | None
    caveat: str | None


async def phases(rows: RowReader) -> list[PhaseRow]:
    return [PhaseRow(*row) for row in await rows.all(PHASES)]


@dataclass
class PhaseDates:
    phase: int
    starts_on: dt.date
    ends_on: dt.date


async def phase_dates(rows: RowReader) -> list[PhaseDates]:
    """Each phase's dates, through the driver (lists filter on the phase under way)."""
    stmt = select(ProgrammePhase.phase, ProgrammePhase.starts_on, ProgrammePhase.ends_on)
    return [PhaseDates(*row) for row in await rows.all(stmt.order_by(ProgrammePhase.phase))]


# The dashboard's counts: (phase, status, official Région's code, its name, territories), all
# of them or those of one official Région (`:region`), as the territories list filters it.
_GROUPS = (
    select(Territory.phase, Territory.status, Territory.region_code, Region.name, func.count())
    .outerjoin(Region, Region.code == Territory.region_code)
    .group_by(Territory.phase, Territory.status, Territory.region_code, Region.name)
)
GROUPS = {False: _GROUPS, True: _GROUPS.where(Territory.region_code == bindparam("region"))}


async def territory_groups(rows: RowReader, *, region: str | None) -> list[tuple[Any, ...]]:
    """The register's territories grouped by phase, status and official Région (`GROUPS`)."""
    if region is None:
        return await rows.all(GROUPS[False])
    return await rows.all(GROUPS[True], region=region)


async def counts_by_status(rows: RowReader) -> list[tuple[Any, ...]]:
    """(phase, status, territories)."""
    stmt = select(Territory.phase, Territory.status, func.count()).group_by(
        Territory.phase, Territory.status
    )
    return await rows.all(stmt)


async def counts_by_region(rows: RowReader) -> list[tuple[Any, ...]]:
    """(phase, official Région's code, its name, territories)."""
    stmt = (
        select(Territory.phase, Territory.region_code, Region.name, func.count())
        .outerjoin(Region, Region.code == Territory.region_code)
        .group_by(Territory.phase, Territory.region_code, Region.name)
    )
    return await rows.all(stmt)


def milestones(
    *,
    as_of: dt.date | str | None = None,
    phase: int | None = None,
    kind: str | None = None,
    measure: str | None = None,
) -> Select[Any]:
    stmt = select(*MILESTONE_COLUMNS)
    if as_of is not None:
        # What the record said on that day: for each measure (and whom it is about), the latest
        # figure dated on or before it; later ones did not exist yet.
        later = aliased(ProgrammeMilestone)
        stmt = stmt.where(
            ProgrammeMilestone.date <= as_of,
            ~select(later.code)
            .where(
                later.measure == ProgrammeMilestone.measure,
                later.organisation_code.is_not_distinct_from(ProgrammeMilestone.organisation_code),
                later.date > ProgrammeMilestone.date,
                later.date <= as_of,
            )
            .exists(),
        )
    return where_given(
        stmt,
        (ProgrammeMilestone.phase, phase),
        (ProgrammeMilestone.kind, kind),
        (ProgrammeMilestone.measure, measure),
    )


async def latest_count(rows: RowReader, phase: int) -> tuple[Any, ...] | None:
    """The last number of territories the record gives for a phase (`MILESTONE_COLUMNS`)."""
    found = await rows.all(
        select(*MILESTONE_COLUMNS)
        .where(
            ProgrammeMilestone.phase == phase,
            ProgrammeMilestone.measure == "territories",
            ProgrammeMilestone.organisation_code.is_(None),
        )
        .order_by(ProgrammeMilestone.date.desc(), ProgrammeMilestone.code.desc())
        .limit(1)
    )
    return found[0] if found else None
