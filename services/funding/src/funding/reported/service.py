"""Figures reported in the public record: what a source said (engaged, committed, disbursed,
announced, a count of projects), as of a date, with its caveat. They live beside the ledger and
are never added to it: the ledger holds what is recorded here, and a figure nobody published is
null, not 0."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from funding.models import ReportedFigure
from funding.reported import queries
from funding.schemas import MEASURE_LABELS, Reported, ReportedFigureRead
from tdi_kit.errors import or_not_found
from tdi_kit.pagination import ListParams, parse_sort, read_page
from tdi_kit.rowreader import RowReader, Rows


def scope_of(values: Mapping[str, Any]) -> Any:
    if values["envelope_code"]:
        return "envelope"
    if values["convention_code"]:
        return "convention"
    return "operator" if values["operator_code"] else "programme"


def read_values(values: Mapping[str, Any]) -> ReportedFigureRead:
    """A figure as served, from its columns (a record's, or a row the driver read)."""
    return ReportedFigureRead.model_validate(
        {
            **values,
            "measure_label": MEASURE_LABELS[values["measure"]],
            "scope": scope_of(values),
        }
    )


def read(figure: ReportedFigure) -> ReportedFigureRead:
    return read_values({name: getattr(figure, name) for name in queries.NAMES})


def read_row(row: Sequence[Any]) -> ReportedFigureRead:
    return read_values(dict(zip(queries.NAMES, row, strict=True)))


def summary_of(figures: Sequence[ReportedFigureRead]) -> Reported:
    """The latest figure of each money measure, null where none was published."""
    reads = sorted(figures, key=lambda f: (f.as_of or "", f.code))

    def latest(measure: str) -> ReportedFigureRead | None:
        found = [f for f in reads if f.measure == measure]
        return found[-1] if found else None

    return Reported(
        engaged=latest("engaged"),
        committed=latest("committed"),
        disbursed=latest("disbursed"),
        figures=reads,
    )


async def matching(session: AsyncSession, filters: dict[str, Any]) -> list[ReportedFigureRead]:
    stmt = queries.figures(**filters).order_by(
        queries.ReportedFigure.as_of, queries.ReportedFigure.code
    )
    return [read(f) for f in await session.scalars(stmt)]


async def matching_rows(
    rows: Rows, *, operator: str | None, include_demo: bool
) -> list[ReportedFigureRead]:
    """`matching` with only an operator and the demo flag, through the driver (one kept
    statement): the figures beside the dashboard's breakdowns."""
    stmt = queries.kept_matching(
        by_operator=operator is not None, is_demo=None if include_demo else False
    )
    values = {} if operator is None else {"operator": operator}
    return [read_row(row) for row in await rows.all(stmt, **values)]


async def figures(
    rows: RowReader, *, params: ListParams, filters: dict[str, Any]
) -> tuple[list[ReportedFigureRead], str | None, int]:
    """A page of figures through the driver: one statement, whatever the page's size."""
    sort = parse_sort(
        params.sort,
        allowed=queries.SORTABLE,
        default="code",
        unique=("code", queries.SORTABLE["code"]),
    )
    stmt = queries.figures(**filters, selected=queries.COLUMNS)
    page = await read_page(rows, stmt, sort=sort, params=params)
    return [read_row(row) for row in page.rows], page.next_cursor, page.total


async def figure(rows: RowReader, *, code: str) -> ReportedFigureRead:
    """One figure through the driver."""
    found = await rows.all(queries.BY_CODE, code=code)
    return read_row(or_not_found(found[0] if found else None, "reported figure", code))
