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
            [{"code": r["code"], "name": r["name"]} for r in _rows("regions.csv")],
            ("code",),
        ),
        ("departments", Department, _rows("departments.csv"), ("code",)),
    ]
    for name, model, rows, keys in geography:
        report[name], _ = await _sync(session, model, rows, keys)

    groupements = _rows("groupements.csv")
    report["groupements"], renamed = await _sync(
        session,
        Groupement,
        [
            {
                "siren": g["siren"],
                "name": g["name"],
                "kind": g["kind"],
                "nature": g["nature"],
                "seat_department_code": _none(g["seat_department_code"]),
                "region_code": _none(g["region_code"]),
                "population": _int(g["population"]),
                "search_text": fold(g["name"]),
            }
            for g in groupements
        ],
        ("siren",),
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
        session,
        Commune,
        [
            {
                "insee": c["insee"],
                "name": c["name"],
                "department_code": c["department_code"],
                "siren": _none(c["siren"]),
                "epci_siren": _none(c["epci_siren"]),
                "population": _int(c["population"]),
                "search_text": fold(c["name"]),
            }
            for c in _rows("communes.csv")
        ],
        ("insee",),
    )
    report["organisations"], _ = await _sync(
        session,
        Organisation,
        [
            {
                "code": o["code"],
                "name": o["name"],
                "kind": o["kind"],
                "region_code": _none(o["region_code"]),
                "siren": _none(o["siren"]),
                "website": _none(o["website"]),
                "search_text": fold(o["name"]),
            }
            for o in _rows("organisations.csv")
        ],
        ("code",),
    )
    # The programme's calendar comes before the territories: their status follows from it.
    report["programme_phases"], phases_touched = await _sync(
        session,
        ProgrammePhase,
        [
            {
                "phase": int(p["phase"]),
                "name": p["name"],
                "starts_on": dt.date.fromisoformat(p["starts_on"]),
                "ends_on": dt.date.fromisoformat(p["ends_on"]),
                "source_title": p["source_title"],
                "source_url": _none(p["source_url"]),
                "caveat": _none(p["caveat"]),
            }
            for p in _rows("programme_phases.csv")
        ],
        ("phase",),
    )
    report["programme_milestones"], _ = await _sync(
        session,
        ProgrammeMilestone,
        [
            {
                "code": m["code"],
                "date": dt.date.fromisoformat(m["date"]),
                "date_precision": m["date_precision"],
                "phase": int(m["phase"]),
                "kind": m["kind"],
                "measure": m["measure"],
                "value": _int(m["value"]),
                "amount_cents": _int(m["amount_cents"]),
                "organisation_code": _none(m["organisation_code"]),
                "description": m["description"],
                "source_title": m["source_title"],
                "source_url": _none(m["source_url"]),
                "caveat": _none(m["caveat"]),
            }
            for m in _rows("programme_milestones.csv")
        ],
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
