"""SQL for envelopes and their tranches."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BindParameter, Select, and_, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from funding.ledger.sums import EVERY_MOVEMENT
from funding.models import BalanceSum, Envelope, EnvelopeTheme, ReportedFigure, Tranche
from funding.references import organisation_name
from funding.reported.queries import COLUMNS as FIGURE_COLUMNS
from tdi_kit.db import lock_by_id
from tdi_kit.rowlists import where_given

SORTABLE = {
    "code": Envelope.code,
    "name": Envelope.name,
    "start_year": Envelope.start_year,
    "operator": Envelope.operator_code,
}


def envelopes(
    *,
    operator: Any,
    kind: Any,
    theme: Any,
    year: Any,
    convention: Any,
    is_demo: Any,
    part_of: Any = None,
    selected: Any = (Envelope,),
) -> Select[Any]:
    """`selected`: the records (the default), or `READ_COLUMNS` for a read through the driver;
    each filter a value, or a `bindparam` in a kept statement (`kept_list`)."""
    stmt = where_given(
        select(*selected),
        (Envelope.operator_code, operator),
        (Envelope.kind, kind),
        (Envelope.convention_code, convention),
        (Envelope.is_demo, is_demo),
        (Envelope.part_of, part_of),
    )
    if theme is not None:
        stmt = stmt.where(
            Envelope.code.in_(
                select(EnvelopeTheme.envelope_code).where(EnvelopeTheme.theme == theme)
            )
        )
    if year is not None:
        stmt = stmt.where(Envelope.start_year <= year, Envelope.end_year >= year)
    return stmt


async def by_code(session: AsyncSession, code: str) -> Envelope | None:
    return await session.get(Envelope, code)


async def lock(session: AsyncSession, code: str) -> Envelope | None:
    """The envelope, locked until the transaction ends (PostgreSQL: FOR UPDATE; SQLite writers
    are serialised already) and read afresh: a write compares If-Match under the lock, so two
    writers holding the same ETag cannot both pass and the second overwrite the first."""
    return await session.get(Envelope, code, with_for_update=True, populate_existing=True)


async def parts_of(session: AsyncSession, codes: list[str]) -> dict[str, list[str]]:
    """The codes of the envelopes that are part of each of these."""
    if not codes:
        return {}
    stmt = (
        select(Envelope.part_of, Envelope.code)
        .where(Envelope.part_of.in_(codes))
        .order_by(Envelope.code)
    )
    out: dict[str, list[str]] = {}
    for parent, code in await session.execute(stmt):
        assert parent is not None  # the WHERE keeps parts only
        out.setdefault(parent, []).append(code)
    return out


async def tranche(session: AsyncSession, envelope_code: str, year: int) -> Tranche | None:
    stmt = select(Tranche).where(Tranche.envelope_code == envelope_code, Tranche.year == year)
    return await session.scalar(stmt)


async def lock_tranches(session: AsyncSession, ids: list[Any]) -> dict[Any, Tranche]:
    """The tranches, locked (in id order) and read afresh (`tdi_kit.db.lock_by_id`)."""
    return await lock_by_id(session, Tranche, ids)


# What a read of an envelope selects of its own row, in one statement with the names and codes
# it shows: its operator's name (the copy of the registry's), its themes and the codes of its
# parts (aggregated: each database in its own order, so the reader sorts them).
_PART = Envelope.__table__.alias("part")
READ_COLUMNS = (
    *Envelope.__table__.columns,
    organisation_name(Envelope.operator_code).label("operator_name"),
    select(func.aggregate_strings(EnvelopeTheme.theme, ","))
    .where(EnvelopeTheme.envelope_code == Envelope.code)
    .correlate(Envelope)
    .scalar_subquery()
    .label("theme_codes"),
    select(func.aggregate_strings(_PART.c.code, ","))
    .where(_PART.c.part_of == Envelope.code)
    .correlate(Envelope)
    .scalar_subquery()
    .label("part_codes"),
)

_CODES: BindParameter[Any] = bindparam("codes", expanding=True)
# The sums an envelope shows are the ledger's, as the database keeps them (`balance_sums`,
# every movement: region ''), by tranche and funder: one statement answers both a page's
# tranches (summed over their funders) and its envelopes' funders (summed over their
# tranches), with each funder's name. A tranche no movement touched has one row, funder NULL.
_EVERY = and_(BalanceSum.tranche_id == Tranche.id, BalanceSum.region_code == EVERY_MOVEMENT)
_TRANCHE = (Tranche.id, Tranche.envelope_code, Tranche.year, Tranche.last_year, Tranche.note)
_SUMS = (
    func.coalesce(func.sum(BalanceSum.amount_cents), 0),
    func.coalesce(func.sum(BalanceSum.committed_cents), 0),
    func.coalesce(func.sum(BalanceSum.disbursed_cents), 0),
)
TRANCHES = (
    select(
        *_TRANCHE,
        BalanceSum.funder_code,
        *_SUMS,
        organisation_name(BalanceSum.funder_code).label("funder_name"),
    )
    .outerjoin(BalanceSum, _EVERY)
    .where(Tranche.envelope_code.in_(_CODES))
    .group_by(*_TRANCHE, BalanceSum.funder_code)
    .order_by(Tranche.envelope_code, Tranche.year, BalanceSum.funder_code)
)
# One tranche and its sums; the envelope's row whatever the year, so that a missing envelope
# and a missing year are told apart (two 404s of their own).
TRANCHE = (
    select(Envelope.code, *_TRANCHE[2:], *_SUMS)
    .select_from(Envelope)
    .outerjoin(
        Tranche, and_(Tranche.envelope_code == Envelope.code, Tranche.year == bindparam("year"))
    )
    .outerjoin(BalanceSum, _EVERY)
    .where(Envelope.code == bindparam("code"))
    .group_by(Envelope.code, *_TRANCHE[2:])
)
# One envelope's row beside each line of `TRANCHES` (once, tranche NULL, when it has none):
# a read by code reads both in one statement. Grouped by the primary keys, on which the other
# columns depend (PostgreSQL cannot group by a JSON column).
BY_CODE = (
    select(*READ_COLUMNS, *TRANCHES.selected_columns)
    .select_from(Envelope)
    .outerjoin(Tranche, Tranche.envelope_code == Envelope.code)
    .outerjoin(BalanceSum, _EVERY)
    .where(Envelope.code == bindparam("code"))
    .group_by(Envelope.code, Tranche.id, BalanceSum.funder_code)
)
# The figures reported about these envelopes, and about their conventions as a whole.
FIGURES = select(*FIGURE_COLUMNS).where(
    or_(
        ReportedFigure.envelope_code.in_(_CODES),
        and_(
            ReportedFigure.envelope_code.is_(None),
            ReportedFigure.convention_code.in_(bindparam("conventions", expanding=True)),
        ),
    )
)

# The kept list statements, one per shape (which filters are given): a request binds its
# values (`tdi_kit.pagination.read_page(values=...)`), as the allocations' list does.
_LISTS: dict[frozenset[str], Select[Any]] = {}


def kept_list(filters: dict[str, Any]) -> tuple[Select[Any], dict[str, Any]]:
    """The kept statement of `READ_COLUMNS` for these filters, and the values it binds."""
    values = {name: value for name, value in filters.items() if value is not None}
    shape = frozenset(values)
    stmt = _LISTS.get(shape)
    if stmt is None:
        unset = dict.fromkeys(filters)
        stmt = _LISTS[shape] = envelopes(
            **{**unset, **{name: bindparam(name) for name in values}}, selected=READ_COLUMNS
        )
    return stmt, values
