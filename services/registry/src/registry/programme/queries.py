"""SQL for the programme: its phases, its milestones, and the register's counts per phase."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
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


async def phases(session: AsyncSession) -> list[ProgrammePhase]:
    return list(await session.scalars(select(ProgrammePhase).order_by(ProgrammePhase.phase)))


@dataclass
class PhaseDates:
    phase: int
    starts_on: dt.date
    ends_on: dt.date


async def phase_dates(rows: RowReader) -> list[PhaseDates]:
    """Each phase's dates, through the driver (lists filter on the phase under way)."""
    stmt = select(ProgrammePhase.phase, ProgrammePhase.starts_on, ProgrammePhase.ends_on)
    return [PhaseDates(*row) for row in await rows.all(stmt.order_by(ProgrammePhase.phase))]


async def counts_by_status(session: AsyncSession) -> list[tuple[int, str, int]]:
    stmt = select(Territory.phase, Territory.status, func.count()).group_by(
        Territory.phase, Territory.status
    )
    return [(p, s, n) for p, s, n in (await session.execute(stmt)).all()]


async def counts_by_region(session: AsyncSession) -> list[tuple[int, str | None, str | None, int]]:
    stmt = (
        select(Territory.phase, Territory.region_code, Region.name, func.count())
        .outerjoin(Region, Region.code == Territory.region_code)
        .group_by(Territory.phase, Territory.region_code, Region.name)
    )
    return [(p, c, name, n) for p, c, name, n in (await session.execute(stmt)).all()]


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


async def latest_count(session: AsyncSession, phase: int) -> ProgrammeMilestone | None:
    """The last number of territories the record gives for a phase."""
    return await session.scalar(
        select(ProgrammeMilestone)
        .where(
            ProgrammeMilestone.phase == phase,
            ProgrammeMilestone.measure == "territories",
            ProgrammeMilestone.organisation_code.is_(None),
        )
        .order_by(ProgrammeMilestone.date.desc(), ProgrammeMilestone.code.desc())
        .limit(1)
    )
