"""Envelopes and tranches as served, rendered from rows: a read's, through the driver (no
session, a constant number of statements whatever the page's size), and a write's, through its
own session (`tdi_kit.rowreader.InSession`). One function renders both, so that what a write
answers and what a read answers (and their ETags) cannot differ.

An envelope shows the ledger's sums as the database keeps them (`balance_sums`, updated in the
transaction of every ledger entry: they never disagree with the ledger they sum).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from funding.envelopes import queries
from funding.ledger.sums import NO_FUNDER
from funding.models import Envelope
from funding.reported import service as reported
from funding.schemas import (
    COLLECTIVE_FUNDERS,
    EnvelopeRead,
    FunderShare,
    Rules,
    Totals,
    TrancheRead,
)
from tdi_kit.errors import NotFound, or_not_found
from tdi_kit.rowreader import Rows

_NAMES = [c.name for c in Envelope.__table__.columns] + [
    "operator_name",
    "theme_codes",
    "part_codes",
]


def funder_label(code: str | None, names: Mapping[str, str] | None = None) -> str:
    """A collective funder's label, an organisation's name in the registry, or the code."""
    if code is None:
        return "non publié"
    return COLLECTIVE_FUNDERS.get(code) or (names or {}).get(code, code)


def funder_shares(
    amounts: dict[str | None, int], names: Mapping[str, str] | None = None
) -> list[FunderShare]:
    """Each funder's net endowments; a funder whose share came to 0 (a correction) is left out."""
    return [
        FunderShare(funder_code=code, funder_label=funder_label(code, names), amount_cents=amount)
        for code, amount in sorted(amounts.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))
        if amount != 0
    ]


def tranche_read(year: int, last_year: int | None, note: str, sums: Sequence[Any]) -> TrancheRead:
    # PostgreSQL sums BIGINTs as NUMERIC: the driver hands Decimals out.
    amount, committed, disbursed = (int(s) for s in sums)
    return TrancheRead(
        year=year,
        last_year=last_year,
        note=note,
        amount_cents=amount,
        committed_cents=committed,
        disbursed_cents=disbursed,
        available_cents=amount - committed,
    )


async def render(
    rows: Rows, found: Sequence[Sequence[Any]], lines: Sequence[Sequence[Any]] | None = None
) -> list[EnvelopeRead]:
    """These rows of `queries.READ_COLUMNS` as served: two statements more, whatever their
    number (the tranches with their sums and funders; the reported figures), or one when the
    caller has read their `lines` of `queries.TRANCHES` already."""
    envelopes = [dict(zip(_NAMES, row, strict=True)) for row in found]
    if not envelopes:
        return []
    codes = [e["code"] for e in envelopes]
    conventions = sorted({e["convention_code"] for e in envelopes if e["convention_code"]})
    if lines is None:
        lines = await rows.all(queries.TRANCHES, codes=codes)
    tranches, funders, names = _tranches(lines)
    figures = [
        reported.read_row(row)
        for row in await rows.all(queries.FIGURES, codes=codes, conventions=conventions)
    ]
    return [_read(e, tranches, funders, names, figures) for e in envelopes]


def _tranches(
    found: Sequence[Sequence[Any]],
) -> tuple[dict[str, list[TrancheRead]], dict[str, dict[str | None, int]], dict[str, str]]:
    """Rows by tranche and funder: a tranche's figures add its funders' up, an envelope's
    funders add their tranches' up."""
    lines: dict[uuid.UUID, tuple[str, int, int | None, str, list[int]]] = {}
    funders: dict[str, dict[str | None, int]] = {}
    names: dict[str, str] = {}
    for tranche_id, code, year, last_year, note, funder, *sums, name in found:
        line = lines.setdefault(tranche_id, (code, year, last_year, note, [0, 0, 0]))
        for i, figure in enumerate(sums):
            line[4][i] += int(figure)
        if funder is None:  # no movement has touched this tranche
            continue
        shares = funders.setdefault(code, {})
        key = None if funder == NO_FUNDER else funder
        shares[key] = shares.get(key, 0) + int(sums[0])
        if name is not None:
            names[funder] = name
    tranches: dict[str, list[TrancheRead]] = {}
    for code, year, last_year, note, sums in lines.values():
        tranches.setdefault(code, []).append(tranche_read(year, last_year, note, sums))
    return tranches, funders, names


def _read(
    envelope: dict[str, Any],
    tranches: dict[str, list[TrancheRead]],
    funders: dict[str, dict[str | None, int]],
    names: dict[str, str],
    figures: list[Any],
) -> EnvelopeRead:
    code = envelope["code"]
    own = sorted(tranches.get(code, []), key=lambda t: t.year)
    amount = sum(t.amount_cents for t in own)
    committed = sum(t.committed_cents for t in own)
    convention = envelope["convention_code"]
    return EnvelopeRead(
        code=code,
        operator_code=envelope["operator_code"],
        operator_name=envelope["operator_name"],
        convention_code=convention,
        part_of=envelope["part_of"],
        parts=sorted(_split(envelope["part_codes"])),
        name=envelope["name"],
        kind=envelope["kind"],
        themes=sorted(_split(envelope["theme_codes"])),
        description=envelope["description"],
        start_year=envelope["start_year"],
        end_year=envelope["end_year"],
        rules=Rules(
            max_rate_percent=envelope["max_rate_percent"],
            cap_per_project_cents=envelope["cap_per_project_cents"],
            cap_waivable=envelope["cap_waivable"],
            min_eligible_spending_cents=envelope["min_eligible_spending_cents"],
            examined_by=envelope["examined_by"],
            text=envelope["rules_text"],
        ),
        sources=envelope["sources"],
        tranches=own,
        totals=Totals(
            amount_cents=amount,
            committed_cents=committed,
            disbursed_cents=sum(t.disbursed_cents for t in own),
            available_cents=amount - committed,
        ),
        funders=funder_shares(funders.get(code, {}), names),
        reported=reported.summary_of(
            [
                f
                for f in figures
                if f.envelope_code == code
                or (f.envelope_code is None and convention and f.convention_code == convention)
            ]
        ),
        is_demo=envelope["is_demo"],
        version=envelope["version"],
        created_at=envelope["created_at"],
        updated_at=envelope["updated_at"],
    )


def _split(joined: str | None) -> list[str]:
    return joined.split(",") if joined else []


async def by_code(rows: Rows, code: str) -> EnvelopeRead:
    """One envelope as served: two statements (its row beside each of its tranche lines, then
    the reported figures)."""
    found = await rows.all(queries.BY_CODE, code=code)
    envelope = or_not_found(found[0] if found else None, "envelope", code)[: len(_NAMES)]
    lines = [row[len(_NAMES) :] for row in found if row[len(_NAMES)] is not None]
    return (await render(rows, [envelope], lines))[0]


async def tranche(rows: Rows, *, code: str, year: int) -> TrancheRead:
    """One tranche as served: one statement."""
    found = await rows.all(queries.TRANCHE, code=code, year=year)
    _, found_year, last_year, note, *sums = or_not_found(
        found[0] if found else None, "envelope", code
    )
    if found_year is None:
        raise NotFound("tranche", f"{year} of envelope {code}")
    return tranche_read(found_year, last_year, note, sums)
