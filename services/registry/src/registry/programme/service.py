"""The programme resource: its phases with their dates and counts, and its dated milestones."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import orjson
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from registry.models import REGISTER, ProgrammeMilestone
from registry.programme import queries
from registry.programme.rules import (
    KIND_LABELS,
    MEASURE_LABELS,
    PHASE_STATUS_LABELS,
    phase_status,
    today,
)
from registry.schemas import (
    MilestoneRead,
    PhaseRead,
    PhaseTerritories,
    ProgrammeRead,
    RegionTally,
    Source,
)
from tdi_kit.counting import by_key
from tdi_kit.dataversions import Kept
from tdi_kit.pagination import ListParams, RowsPage
from tdi_kit.rowlists import RowList
from tdi_kit.rowreader import RowReader

PROGRAMME_NAME = "Territoires d'industrie"
# Said in the answer, not only in the docs: the record is partial, and silence is not zero.
RECORD = (
    "Partial by nature: the milestones are the figures the public record gives, each with its "
    "source; a figure the record does not give is absent, never 0. The register's phase-1 list "
    "is the official list of 2020 (`in_register`), the record's last count is `announced`."
)


async def current_phase(rows: RowReader, *, on: dt.date | None = None) -> int | None:
    on = on or today()
    return next(
        (p.phase for p in await queries.phase_dates(rows) if phase_status(p, on) == "current"),
        None,
    )


async def counted_phase(rows: RowReader, held: Iterable[int]) -> int:
    """The phase the dashboard counts when none is asked: the one under way; between two
    phases, the latest one started; with no calendar at all, the latest of the phases `held`
    (those of the territories counted), else 0."""
    on = today()
    statuses = [(p.phase, phase_status(p, on)) for p in await queries.phase_dates(rows)]
    current = [phase for phase, status in statuses if status == "current"]
    if current:
        return current[0]
    started = [phase for phase, status in statuses if status != "upcoming"]
    return max(started or list(held) or [0])


async def territory_counts_json(rows: RowReader, *, region: str | None, phase: int | None) -> bytes:
    """The dashboard's territory counts as sent, kept under the register's data version and the
    day (the phase counted by default is today's): one indexed row read while nothing changed."""
    key = (region, phase, today())
    return await _COUNTS.get(rows, key, lambda: _territory_counts_json(rows, region, phase))


async def _territory_counts_json(rows: RowReader, region: str | None, phase: int | None) -> bytes:
    return orjson.dumps(await territory_counts(rows, region=region, phase=phase))


async def territory_counts(
    rows: RowReader, *, region: str | None, phase: int | None
) -> dict[str, Any]:
    """`TerritoryCounts`, from one GROUP BY: a territory counts once, in its official Région
    (`region_code`), so that `by_region` adds up to the phase's total."""
    groups = await queries.territory_groups(rows, region=region)
    counted = phase or await counted_phase(rows, {g[0] for g in groups})
    in_phase = [g for g in groups if g[0] == counted]
    regions: dict[tuple[str | None, str | None, int], int] = defaultdict(int)
    for _, _, code, name, n in in_phase:
        regions[(code, name, counted)] += n
    return {
        "phase": counted,
        "total": sum(g[4] for g in in_phase),
        "by_phase": by_key((g[0], g[4]) for g in groups),
        "by_status": by_key((g[1], g[4]) for g in in_phase),
        "by_region": [
            {"region_code": code, "region_name": name, "phase": p, "count": n}
            # Ordered by the text of (code, name, phase), as the dashboard always has been.
            for (code, name, p), n in sorted(regions.items(), key=lambda kv: str(kv[0]))
        ],
    }


async def programme_json(rows: RowReader) -> bytes:
    """The programme's answer as sent, kept under the register's data version and the day
    (a phase's status is today's): one indexed row read while nothing changed."""
    return await _PROGRAMME.get(rows, today(), lambda: _programme_json(rows))


async def _programme_json(rows: RowReader) -> bytes:
    # Encoded as FastAPI encodes a `response_model=ProgrammeRead` answer: the same bytes.
    return bytes(JSONResponse(jsonable_encoder(await programme(rows))).body)


async def programme(rows: RowReader) -> ProgrammeRead:
    on = today()
    by_status: dict[int, dict[str, int]] = defaultdict(dict)
    for phase, status, n in await queries.counts_by_status(rows):
        by_status[phase][status] = n
    by_region: dict[int, list[RegionTally]] = defaultdict(list)
    for phase, code, name, n in await queries.counts_by_region(rows):
        by_region[phase].append(RegionTally(region_code=code, region_name=name, count=n))
    phases = []
    for p in await queries.phases(rows):
        announced = await queries.latest_count(rows, p.phase)
        status = phase_status(p, on)
        phases.append(
            PhaseRead(
                phase=p.phase,
                name=p.name,
                starts_on=p.starts_on,
                ends_on=p.ends_on,
                status=status,
                status_label=PHASE_STATUS_LABELS[status],
                source=Source(title=p.source_title, url=p.source_url),
                caveat=p.caveat,
                territories=PhaseTerritories(
                    in_register=sum(by_status[p.phase].values()),
                    by_status=dict(sorted(by_status[p.phase].items())),
                    by_region=sorted(
                        by_region[p.phase], key=lambda r: (r.region_code is None, r.region_code)
                    ),
                    announced=announced[_VALUE] if announced else None,
                    announced_by=(
                        MilestoneRead.model_validate(milestone_item(announced))
                        if announced
                        else None
                    ),
                ),
            )
        )
    return ProgrammeRead(
        name=PROGRAMME_NAME,
        current_phase=next((p.phase for p in phases if p.status == "current"), None),
        phases=phases,
        record=RECORD,
    )


async def milestones(
    rows: RowReader,
    *,
    params: ListParams,
    as_of: dt.date | str | None,  # the route passes the ISO day it checked, as text
    phase: int | None,
    kind: str | None,
    measure: str | None,
) -> RowsPage:
    stmt = queries.milestones(as_of=as_of, phase=phase, kind=kind, measure=measure)
    return await MILESTONES.page(rows, stmt, params=params)


_COLUMN_NAMES = tuple(c.key for c in queries.MILESTONE_COLUMNS)
_VALUE = _COLUMN_NAMES.index("value")
# One entry per day asked (today's, and yesterday's around midnight).
_PROGRAMME: Kept[bytes] = Kept(REGISTER, size=2)
# One entry per Région, phase and day asked: 18 Régions (and the nation) by three phases.
_COUNTS: Kept[bytes] = Kept(REGISTER, size=64)


def milestone_item(row: tuple[Any, ...]) -> dict[str, Any]:
    """A milestone as served (`MilestoneRead`'s members, in order), from a row of
    `queries.MILESTONE_COLUMNS`."""
    m = dict(zip(_COLUMN_NAMES, row, strict=True))
    return {
        "code": m["code"],
        "date": m["date"],
        "date_precision": m["date_precision"],
        "phase": m["phase"],
        "kind": m["kind"],
        "kind_label": KIND_LABELS[m["kind"]],
        "measure": m["measure"],
        "measure_label": MEASURE_LABELS[m["measure"]],
        "value": m["value"],
        "amount_cents": m["amount_cents"],
        "organisation_code": m["organisation_code"],
        "description": m["description"],
        "source": {"title": m["source_title"], "url": m["source_url"]},
        "caveat": m["caveat"],
    }


_SOURCE_COLUMNS = ("source_title", "source_url")


def _csv_row(item: dict[str, Any]) -> dict[str, Any]:
    # The CSV flattens the source into two columns.
    source = item["source"]
    row = {k: v for k, v in item.items() if k != "source"}
    return {**row, "source_title": source["title"], "source_url": source["url"]}


MILESTONES = RowList(
    sortable=queries.SORTABLE,
    default="date",
    unique=("code", ProgrammeMilestone.code),
    item=milestone_item,
    columns=[
        *(f for f in MilestoneRead.model_fields if f != "source"),
        "source_title",
        "source_url",
    ],
    csv_row=_csv_row,
)
