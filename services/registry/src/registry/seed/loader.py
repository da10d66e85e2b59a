"""Load the shipped seed (see PROVENANCE.md) into the registry's database.

Idempotent: each row of the seed is inserted when missing and updated when it differs; nothing
the seed does not mention is touched (territories created through the API, governance, a
membership an administrator added). The report says what was added, changed and left as it was.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from registry.models import (
    Base,
    Commune,
    Department,
    Groupement,
    GroupementDepartment,
    Organisation,
    ProgrammeMilestone,
    ProgrammePhase,
    Region,
    Territory,
    TerritoryCommune,
    TerritoryMember,
    TerritoryOutline,
)
from registry.programme.rules import phase_status, today
from registry.territories.documents import refresh
from tdi_kit.seeding import Counts
from tdi_kit.text import fold

DATA = Path(__file__).parent / "data"


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _int(value: str) -> int | None:
    return int(value) if value else None


def _none(value: str) -> str | None:
    return value or None


def _records(model: type[Base], rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    """The seed's CSV rows as `model`'s columns, each read by its column's type: a date, a
    number, text; empty is NULL where the column takes one. `search_text`, when the model has
    one and the file does not, is the folded name. Columns the file does not hold are left out
    (the seed does not own them), and so are the file's columns the model does not have."""
    table = model.__table__
    readers: dict[str, Callable[[str], Any]] = {}
    for column in table.columns:
        python_type = column.type.python_type
        if python_type is dt.date:
            readers[column.name] = lambda v: dt.date.fromisoformat(v) if v else None
        elif python_type is int:
            readers[column.name] = _int
        elif column.nullable:
            readers[column.name] = _none
        else:
            readers[column.name] = str
    fold_name = "search_text" in table.columns and "name" in table.columns
    records = []
    for row in rows:
        record = {k: readers[k](v) for k, v in row.items() if k in readers}
        if fold_name and "search_text" not in record:
            record["search_text"] = fold(row["name"])
        records.append(record)
    return records


async def _sync(
    session: AsyncSession, model: type[Base], rows: list[dict[str, Any]], keys: tuple[str, ...]
) -> tuple[Counts, set[tuple[Any, ...]]]:
    """Insert missing rows, update differing ones; return counts and the keys touched."""
    table = model.__table__
    columns = list(rows[0]) if rows else []
    existing = {
        tuple(r[k] for k in keys): r
        for r in (await session.execute(select(*(table.c[c] for c in columns)))).mappings()
    }
    counts, touched = Counts(), set()
    new, changed = [], []
    for row in rows:
        key = tuple(row[k] for k in keys)
        current = existing.get(key)
        if current is None:
            new.append(row)
        elif any(current[c] != row[c] for c in columns):
            changed.append(row)
        else:
            counts.unchanged += 1
            continue
        touched.add(key)
    if new:
        await session.execute(insert(model), new)
    if changed:
        await session.execute(update(model), changed)
    counts.added, counts.changed = len(new), len(changed)
    return counts, touched


async def load(session: AsyncSession, *, say: Callable[[str], None] = print) -> dict[str, Counts]:
    """Bring the database up to the seed. The caller commits."""
    report: dict[str, Counts] = {}
    geography = [
        (
            "regions",
            Region,
            _records(Region, _rows("regions.csv")),
            ("code",),
        ),
        ("departments", Department, _records(Department, _rows("departments.csv")), ("code",)),
    ]
    for name, model, rows, keys in geography:
        report[name], _ = await _sync(session, model, rows, keys)

    groupements = _rows("groupements.csv")
    report["groupements"], renamed = await _sync(
        session, Groupement, _records(Groupement, groupements), ("siren",)
    )
    report["groupement_departments"], _ = await _sync(
        session,
        GroupementDepartment,
        [
            {"siren": g["siren"], "department_code": d}
            for g in groupements
            for d in g["department_codes"].split("|")
            if d
        ],
        ("siren", "department_code"),
    )
    report["communes"], _ = await _sync(
        session, Commune, _records(Commune, _rows("communes.csv")), ("insee",)
    )
    report["organisations"], _ = await _sync(
        session, Organisation, _records(Organisation, _rows("organisations.csv")), ("code",)
    )
    # The programme's calendar comes before the territories: their status follows from it.
    report["programme_phases"], phases_touched = await _sync(
        session, ProgrammePhase, _records(ProgrammePhase, _rows("programme_phases.csv")), ("phase",)
    )
    report["programme_milestones"], _ = await _sync(
        session,
        ProgrammeMilestone,
        _records(ProgrammeMilestone, _rows("programme_milestones.csv")),
        ("code",),
    )
    territory_rows = _rows("territories.csv")
    # Fields derived from members (search text, document, ...) are filled by refresh() below.
    report["territories"], dirty = await _sync(
        session,
        Territory,
        [
            {
                "code": t["code"],
                "name": t["name"],
                "phase": int(t["phase"]),
                "region_code": _none(t["region_code"]),
                "region_source": _none(t["region_source"]),
                "phase1_overlaps": [c for c in t["phase1_overlaps"].split("|") if c],
            }
            for t in territory_rows
        ],
        ("code",),
    )
    phase_of = {t["code"]: int(t["phase"]) for t in territory_rows}
    report["territory_members"], members_touched = await _sync_members(
        session, _rows("territory_members.csv"), phase_of
    )
    report["territory_communes"], communes_touched = await _sync(
        session, TerritoryCommune, _rows("territory_communes.csv"), ("territory_code", "insee")
    )
    report["territory_outlines"], _ = await _sync(
        session,
        TerritoryOutline,
        [
            {
                "territory_code": f["properties"]["code"],
                "geometry": json.dumps(f["geometry"], separators=(",", ":")),
            }
            for f in json.loads((DATA / "outlines.geojson").read_text(encoding="utf-8"))["features"]
        ],
        ("territory_code",),
    )

    to_refresh = (
        {c for (c,) in dirty} | {c for c, _ in members_touched} | {c for c, _ in communes_touched}
    )
    if (
        renamed
        or phases_touched
        or report["groupement_departments"].added
        or report["communes"].added
    ):
        to_refresh |= set(phase_of)  # names, coverage or phase dates in documents may have moved
    to_refresh |= await _outdated_status(session)
    await _refresh(session, sorted(to_refresh))
    for name, counts in report.items():
        say(f"{name}: {counts}")
        for line in counts.skipped:
            say(f"  skipped: {line}")
    return report


async def _sync_members(
    session: AsyncSession, rows: list[dict[str, str]], phase_of: dict[str, int]
) -> tuple[Counts, set[tuple[Any, ...]]]:
    """Memberships of the official lists, unless the groupement was moved since by an admin."""
    held = {
        (phase, siren): code
        for code, siren, phase in await session.execute(
            select(TerritoryMember.territory_code, TerritoryMember.siren, TerritoryMember.phase)
        )
    }
    wanted = []
    skipped = []
    for r in rows:
        phase = phase_of[r["territory_code"]]
        holder = held.get((phase, r["siren"]))
        if holder is not None and holder != r["territory_code"]:
            skipped.append(f"{r['siren']} is held by {holder}, not {r['territory_code']}")
            continue
        coverage = float(r["coverage"]) if r["coverage"] else None
        wanted.append(
            {
                "territory_code": r["territory_code"],
                "siren": r["siren"],
                "phase": phase,
                "coverage": coverage,
            }
        )
    counts, touched = await _sync(session, TerritoryMember, wanted, ("territory_code", "siren"))
    counts.skipped = skipped
    return counts, touched


async def _outdated_status(session: AsyncSession) -> set[str]:
    """Territories still `active` in a phase that has ended since they were last written."""
    on = today()
    ended = [
        p.phase
        for p in await session.scalars(select(ProgrammePhase))
        if phase_status(p, on) == "ended"
    ]
    stmt = select(Territory.code).where(Territory.phase.in_(ended), Territory.status == "active")
    return set(await session.scalars(stmt))


async def _refresh(session: AsyncSession, codes: Iterable[str]) -> None:
    codes = list(codes)
    for start in range(0, len(codes), 100):
        batch = codes[start : start + 100]
        territories = await session.scalars(
            select(Territory)
            .where(Territory.code.in_(batch))
            .options(selectinload(Territory.members), selectinload(Territory.referents))
        )
        for territory in territories:
            await refresh(session, territory)
