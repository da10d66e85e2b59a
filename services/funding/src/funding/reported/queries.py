"""SQL for the figures reported in the public record."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Select, bindparam, or_, select

from funding.models import Convention, Envelope, EnvelopeTheme, ReportedFigure

SORTABLE = {"code": ReportedFigure.code, "as_of": ReportedFigure.as_of}
# A figure's own columns, as a list reads them through the driver.
COLUMNS = tuple(ReportedFigure.__table__.columns)
NAMES = tuple(c.key for c in COLUMNS)


def figures(
    *,
    envelope: str | None = None,
    operator: Any = None,
    measure: str | None = None,
    theme: str | None = None,
    is_demo: bool | None = None,
    selected: Any = (ReportedFigure,),
) -> Select[Any]:
    """`selected`: the records (the default), or `COLUMNS` for a list read through the driver;
    `operator` a value, or a `bindparam` in a kept statement (`kept_matching`)."""
    stmt = select(*selected)
    if envelope is not None:
        # The envelope's own figures, and those of the convention it belongs to.
        convention = select(Envelope.convention_code).where(Envelope.code == envelope)
        stmt = stmt.where(
            or_(
                ReportedFigure.envelope_code == envelope,
                ReportedFigure.envelope_code.is_(None)
                & ReportedFigure.convention_code.in_(convention),
            )
        )
    if operator is not None:
        # An operator's figure, or one of an envelope it manages.
        managed = select(Envelope.code).where(Envelope.operator_code == operator)
        signed = select(Convention.code).where(Convention.operator_code == operator)
        stmt = stmt.where(
            or_(
                ReportedFigure.operator_code == operator,
                ReportedFigure.envelope_code.in_(managed),
                ReportedFigure.convention_code.in_(signed),
            )
        )
    if theme is not None:
        themed = select(EnvelopeTheme.envelope_code).where(EnvelopeTheme.theme == theme)
        stmt = stmt.where(ReportedFigure.envelope_code.in_(themed))
    if measure is not None:
        stmt = stmt.where(ReportedFigure.measure == measure)
    if is_demo is not None:
        stmt = stmt.where(ReportedFigure.is_demo == is_demo)
    return stmt


# One figure, run with its `code` (`RowReader.all`): compiled once.
BY_CODE = select(*COLUMNS).where(ReportedFigure.code == bindparam("code"))


@functools.cache
def kept_matching(*, by_operator: bool, is_demo: bool | None) -> Select[Any]:
    """The figures beside the breakdowns (of an operator, bound as `operator`, when
    `by_operator`), oldest first: built once per shape, run with its values."""
    return figures(
        operator=bindparam("operator") if by_operator else None,
        is_demo=is_demo,
        selected=COLUMNS,
    ).order_by(ReportedFigure.as_of, ReportedFigure.code)
