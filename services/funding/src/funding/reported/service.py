"""Figures reported in the public record: what a source said (engaged, committed, disbursed,
announced, a count of projects), as of a date, with its caveat. They live beside the ledger and
are never added to it: the ledger holds what is recorded here, and a figure nobody published is
null, not 0."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from funding.models import Envelope, ReportedFigure
from funding.reported import queries
from funding.schemas import MEASURE_LABELS, Reported, ReportedFigureRead
from tdi_kit.errors import or_not_found
from tdi_kit.pagination import ListParams, paginate, parse_sort


def scope_of(figure: ReportedFigure) -> Any:
    if figure.envelope_code:
        return "envelope"
    if figure.convention_code:
        return "convention"
    return "operator" if figure.operator_code else "programme"


def read(figure: ReportedFigure) -> ReportedFigureRead:
    return ReportedFigureRead(
        code=figure.code,
        label=figure.label,
        measure=figure.measure,
        measure_label=MEASURE_LABELS[figure.measure],
        value_cents=figure.value_cents,
        count=figure.count,
        as_of=figure.as_of,
        envelope_code=figure.envelope_code,
        convention_code=figure.convention_code,
        operator_code=figure.operator_code,
        scope=scope_of(figure),
        source_title=figure.source_title,
        source_url=figure.source_url,
        caveat=figure.caveat,
        is_demo=figure.is_demo,
    )


def summary(figures: Sequence[ReportedFigure]) -> Reported:
    """The latest figure of each money measure, null where none was published."""
    reads = sorted((read(f) for f in figures), key=lambda f: (f.as_of or "", f.code))

    def latest(measure: str) -> ReportedFigureRead | None:
        found = [f for f in reads if f.measure == measure]
        return found[-1] if found else None

    return Reported(
        engaged=latest("engaged"),
        committed=latest("committed"),
        disbursed=latest("disbursed"),
        figures=reads,
    )


async def of_envelopes(
    session: AsyncSession, envelopes: Sequence[Envelope]
) -> dict[str, list[ReportedFigure]]:
    """Each envelope's figures: its own and those of its convention (which cover all the
    convention's envelopes, and say so in their `scope`)."""
    own = await queries.of_envelopes(session, [e.code for e in envelopes])
    conventions = await queries.of_conventions(
        session, {e.convention_code for e in envelopes if e.convention_code}
    )
    return {
        e.code: [*own.get(e.code, []), *conventions.get(e.convention_code or "", [])]
        for e in envelopes
    }


async def matching(session: AsyncSession, filters: dict[str, Any]) -> list[ReportedFigureRead]:
    stmt = queries.figures(**filters).order_by(
        queries.ReportedFigure.as_of, queries.ReportedFigure.code
    )
    return [read(f) for f in await session.scalars(stmt)]


async def figures(
    session: AsyncSession, *, params: ListParams, filters: dict[str, Any]
) -> tuple[list[ReportedFigure], str | None, int]:
    sort = parse_sort(
        params.sort,
        allowed=queries.SORTABLE,
        default="code",
        unique=("code", queries.SORTABLE["code"]),
    )
    stmt = queries.figures(**filters)
    return await paginate(session, stmt, sort=sort, params=params)


async def figure(session: AsyncSession, *, code: str) -> ReportedFigure:
    return or_not_found(await queries.by_code(session, code), "reported figure", code)
