"""Balances: the ledger's sums, grouped by envelope, tranche, operator, funder, year, theme,
territory or Région, each grouping summing to the report's totals.

- Each euro counts once. An envelope that is part of another (Rebond industriel within phase 2)
  holds its own amount; the parent's line holds the rest (queries.movements carves it out).
- Money with no published annual split belongs to its period (`period` `2023-2026`, `year`
  null), never to one year.
- A multi-theme envelope counts once, under its theme set (`theme` `foncier,numerique`).
- An envelope is not split by territory or Région in advance: grouped or filtered so, there is
  no amount nor anything available, only what is committed and disbursed there. A territory
  that touches two Régions counts in both: the answer's `overlaps` names those Régions.
- Committed and disbursed money is not attributed to funders (an allocation draws on the
  envelope, not on one funder's share): grouped by funder, only amounts are given.
- Demo movements are left out unless `include_demo`.
- Figures reported in the public record come beside the sums (`reported`), never in them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from funding.balances import queries
from funding.envelopes.reads import funder_label
from funding.ledger.sums import EVERY_MOVEMENT
from funding.references import organisation_names
from funding.reported import service as reported
from funding.schemas import BalanceBreakdowns, BalanceRead, BalanceReport, Overlap
from tdi_kit.errors import Unprocessable
from tdi_kit.rowreader import Rows

DIMENSIONS = queries.DIMENSIONS
PERIOD_NOTE = (
    "Money with no published annual split is reported under its period (`period` such as "
    "2023-2026, `year` null), never on one year."
)
THEME_NOTE = (
    "Each envelope counts once, under its theme set (`themes`), never once per theme: the theme "
    "sets do not overlap."
)
FUNDER_NOTE = (
    "By funder, only amounts are given: committed and disbursed money is drawn on the envelope, "
    "not on one funder's share. `funder_code` null: the public record does not say who put "
    "the money in."
)
SPATIAL_NOTE = (
    "Envelopes are not split by territory or Région in advance: there is no amount nor "
    "anything available there, only what is committed and disbursed."
)


def parse_by(by: str) -> list[str]:
    dims = list(dict.fromkeys(d.strip() for d in by.split(",") if d.strip()))
    unknown = [d for d in dims if d not in DIMENSIONS]
    if unknown or not dims:
        raise Unprocessable.field(
            "query", "by", f"group by one or more of {', '.join(DIMENSIONS)} (comma-separated)"
        )
    return dims


def _row(
    values: dict[str, Any],
    *,
    spatial: bool,
    by_funder: bool,
    names: Mapping[str, str] | None = None,
) -> BalanceRead:
    amount = int(values.pop("amount_cents"))
    committed = int(values.pop("committed_cents"))
    disbursed = int(values.pop("disbursed_cents"))
    if "year" in values:
        first, last = values.pop("year"), values.pop("last_year")
        values["year"] = first if first == last else None
        values["period"] = str(first) if first == last else f"{first}-{last}"
    if "theme" in values:
        values["themes"] = [t for t in (values["theme"] or "").split(",") if t]
    if "funder_code" in values:
        values["funder_label"] = funder_label(values["funder_code"], names)
    if "operator_code" in values:
        values["operator_name"] = (names or {}).get(values["operator_code"] or "")
    return BalanceRead(
        **values,
        amount_cents=None if spatial else amount,
        committed_cents=None if by_funder else committed,
        disbursed_cents=None if by_funder else disbursed,
        undisbursed_cents=None if by_funder else committed - disbursed,
        available_cents=None if spatial or by_funder else amount - committed,
    )


def _notes(
    dims: list[str],
    items: list[BalanceRead],
    filters: dict[str, Any],
    *,
    spatial: bool,
    nested: Sequence[Sequence[Any]],
) -> list[str]:
    notes = []
    if {"year", "tranche"} & set(dims) and any(i.year is None for i in items):
        notes.append(PERIOD_NOTE)
    if "theme" in dims:
        notes.append(THEME_NOTE)
    if "funder" in dims:
        notes.append(FUNDER_NOTE)
    if spatial:
        notes.append(SPATIAL_NOTE)
    if nested and not spatial:
        pairs = "; ".join(f"{part} within {whole}" for part, whole in nested)
        notes.append(
            f"Envelopes part of another are counted once ({pairs}): a part's amount is its "
            "own, and its whole's line holds only what is outside its parts."
        )
    if filters.get("year") is not None:
        notes.append(
            "Filtered on a year: money of a multi-year period covering it is included whole."
        )
    return notes


async def _reported(session: AsyncSession, filters: dict[str, Any]) -> list[Any]:
    return await reported.matching(
        session,
        {
            "envelope": filters.get("envelope"),
            "operator": filters.get("operator"),
            "theme": filters.get("theme"),
            "is_demo": None if filters.get("include_demo") else False,
        },
    )


def _is_spatial(dims: Iterable[str], filters: dict[str, Any]) -> bool:
    return bool({"territory", "region"} & set(dims)) or any(
        filters.get(f) is not None for f in ("territory", "region")
    )


async def report(session: AsyncSession, *, by: str, filters: dict[str, Any]) -> BalanceReport:
    dims = parse_by(by)
    spatial = _is_spatial(dims, filters)
    by_funder = "funder" in dims
    rows = (await session.execute(queries.grouped(dims, filters))).mappings().all()
    total = dict((await session.execute(queries.totals(filters))).mappings().one())
    names = await organisation_names(
        session, [r.get("operator_code") for r in rows] + [r.get("funder_code") for r in rows]
    )
    items = [_row(dict(r), spatial=spatial, by_funder=by_funder, names=names) for r in rows]
    overlaps = []
    if "region" in dims:
        shared = list(await session.scalars(queries.regions_shared(filters)))
        if shared:
            overlaps.append(
                Overlap(
                    dimension="region",
                    items=shared,
                    why="Money of a territory that touches several Régions counts under each "
                    "of them; the totals count it once.",
                )
            )
    nested = (await session.execute(queries.nested_in_scope(filters))).all()
    notes = _notes(dims, items, filters, spatial=spatial, nested=nested)
    figures = [] if spatial else await _reported(session, filters)
    return BalanceReport(
        by=dims,
        include_demo=bool(filters.get("include_demo")),
        items=items,
        totals=_row(total, spatial=spatial, by_funder=False),
        overlaps=overlaps,
        notes=notes,
        reported=figures,
    )


# The dashboard's breakdowns, and the columns of the finest grouping that identify each.
BREAKDOWNS: dict[str, tuple[str, ...]] = {
    "operator": ("operator_code",),
    "funder": ("funder_code",),
    "theme": ("theme",),
    "year": ("year", "last_year"),
    "envelope": ("envelope_code",),
}
SUMS = ("amount_cents", "committed_cents", "disbursed_cents")


def _key_order(key: tuple[Any, ...]) -> tuple[Any, ...]:
    # The same order on both databases: by value, unknown (null) last.
    return tuple((value is None, value if value is not None else 0) for value in key)


async def breakdowns(rows: Rows, *, filters: dict[str, Any]) -> BalanceBreakdowns:
    """Every breakdown of the dashboard from the sums the database keeps (`balance_sums`),
    through the driver: three kept statements (the finest grouping with its names, the nested
    envelopes among those it names, the reported figures), none built per request.

    The database groups its kept sums by envelope, tranche period and funder at once (operator
    and theme set are the envelope's): a few rows per envelope, read from a few rows per
    tranche, however many entries the ledger holds. Each breakdown adds those rows up; integer
    sums of sums are the sums `report` gives over the ledger by each dimension alone
    (tests/funding/test_funding_breakdown_properties.py compares them, and both with a sum over
    the records).
    """
    spatial = _is_spatial((), filters)
    region, operator = filters.get("region"), filters.get("operator")
    include_demo = bool(filters.get("include_demo"))
    stmt = queries.kept_grouped(
        regional=region is not None, by_operator=operator is not None, include_demo=include_demo
    )
    values = {"region": region or EVERY_MOVEMENT}
    if operator is not None:
        values["operator"] = operator
    finest = [
        dict(zip(queries.KEPT_COLUMNS, row, strict=True)) for row in await rows.all(stmt, **values)
    ]
    names: dict[str, str] = {}
    for row in finest:
        for code, name in (
            (row["operator_code"], row.pop("operator_name")),
            (row["funder_code"], row.pop("funder_name")),
        ):
            if code and name is not None:
                names[code] = name
    in_scope = sorted({row["envelope_code"] for row in finest})
    nested = await rows.all(queries.NESTED_AMONG, codes=in_scope) if in_scope else []
    members: dict[str, list[BalanceRead]] = {}
    notes: list[str] = []
    for dim, columns in BREAKDOWNS.items():
        sums: dict[tuple[Any, ...], list[int]] = {}
        for row in finest:
            line = sums.setdefault(tuple(row[c] for c in columns), [0, 0, 0])
            for i, column in enumerate(SUMS):
                line[i] += int(row[column])
        items = [
            _row(
                {**dict(zip(columns, key, strict=True)), **dict(zip(SUMS, sums[key], strict=True))},
                spatial=spatial,
                by_funder=dim == "funder",
                names=names,
            )
            for key in sorted(sums, key=_key_order)
        ]
        members[f"by_{dim}"] = items
        notes.extend(
            n
            for n in _notes([dim], items, filters, spatial=spatial, nested=nested)
            if n not in notes
        )
    total = {c: sum(int(row[c]) for row in finest) for c in SUMS}
    return BalanceBreakdowns(
        include_demo=include_demo,
        **members,
        totals=_row(total, spatial=spatial, by_funder=False),
        notes=notes,
        reported=[]
        if spatial
        else await reported.matching_rows(rows, operator=operator, include_demo=include_demo),
    )
