"""SQL for balances: one GROUP BY over the ledger's movements, nothing else.

The movements are the ledger's entries, each with its envelope's operator and theme set and its
tranche's period, plus one *carve-out* per endowment of an envelope that is part of another: the
same amount, negative, on the parent. So each euro of a nested envelope counts once, under the
innermost envelope that holds it, and every grouping sums to the same totals.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import (
    BigInteger,
    BindParameter,
    Select,
    Subquery,
    and_,
    bindparam,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import aliased

from funding.models import (
    AllocationRegion,
    BalanceSum,
    Envelope,
    EnvelopeTheme,
    LedgerEntry,
    Tranche,
)
from funding.references import organisation_name

MOVEMENT_COLUMNS = (
    "envelope_code",
    "operator_code",
    "theme_set",
    "year",
    "last_year",
    "funder_code",
    "territory_code",
    "allocation_id",
    "is_demo",
    "amount_cents",
    "committed_cents",
    "disbursed_cents",
)


def movements() -> Subquery:
    """Every movement once, and every nested envelope's endowments carved out of its parent."""
    last_year = func.coalesce(Tranche.last_year, Tranche.year)
    e = LedgerEntry
    own = _rows(
        e,
        last_year,
        [e.funder_code, e.territory_code, e.allocation_id, e.is_demo],
        [e.amount_delta_cents, e.committed_delta_cents, e.disbursed_delta_cents],
    )
    zero = literal(0, BigInteger)
    carved = _rows(
        e,
        last_year,
        [e.funder_code, null(), null(), e.is_demo],
        [-e.amount_delta_cents, zero, zero],
        e.amount_delta_cents != 0,
        carved=True,
    )
    union = union_all(own, carved).subquery("raw")
    # Name the columns once, whatever each dialect called them in the union.
    return select(
        *(column.label(name) for column, name in zip(union.c, MOVEMENT_COLUMNS, strict=True))
    ).subquery("movements")


def _rows(
    source: Any,
    last_year: Any,
    middle: list[Any],
    moves: list[Any],
    *where: Any,
    carved: bool = False,
) -> Select[Any]:
    """One side of the movements' union, from `source` (the ledger, or the kept sums: it has
    `envelope_code` and `tranche_id`): envelope, operator, theme set, year, last year, `middle`
    columns, then `moves` (amount, committed, disbursed). `carved`: the movements of an envelope
    that is part of another, under the whole's code, operator and themes (the caller gives the
    amount's opposite, and zeros): what a part holds is carved out of its whole, never added."""
    if not carved:
        head = [source.envelope_code, Envelope.operator_code, Envelope.theme_set]
        return (
            select(*head, Tranche.year, last_year, *middle, *moves)
            .join(Tranche, Tranche.id == source.tranche_id)
            .join(Envelope, Envelope.code == source.envelope_code)
            .where(*where)
        )
    parent = aliased(Envelope)
    part = aliased(Envelope)
    return (
        select(parent.code, parent.operator_code, parent.theme_set, Tranche.year, last_year)
        .add_columns(*middle, *moves)
        .join(Tranche, Tranche.id == source.tranche_id)
        .join(part, part.code == source.envelope_code)
        .join(parent, parent.code == part.part_of)
        .where(*where)
    )


def _dims(m: Subquery) -> dict[str, list[tuple[str, Any]]]:
    return {
        "envelope": [("envelope_code", m.c.envelope_code)],
        "tranche": [
            ("envelope_code", m.c.envelope_code),
            ("year", m.c.year),
            ("last_year", m.c.last_year),
        ],
        "operator": [("operator_code", m.c.operator_code)],
        "funder": [("funder_code", m.c.funder_code)],
        "year": [("year", m.c.year), ("last_year", m.c.last_year)],
        "theme": [("theme", m.c.theme_set)],
        "territory": [("territory_code", m.c.territory_code)],
        "region": [("region_code", AllocationRegion.region_code)],
    }


DIMENSIONS = tuple(_dims(movements()))


def _sums(m: Subquery) -> list[Any]:
    return [
        func.coalesce(func.sum(m.c.amount_cents), 0).label("amount_cents"),
        func.coalesce(func.sum(m.c.committed_cents), 0).label("committed_cents"),
        func.coalesce(func.sum(m.c.disbursed_cents), 0).label("disbursed_cents"),
    ]


def _filtered(stmt: Select[Any], m: Subquery, filters: dict[str, Any]) -> Select[Any]:
    for name, column in (
        ("envelope", m.c.envelope_code),
        ("operator", m.c.operator_code),
        ("territory", m.c.territory_code),
    ):
        if filters.get(name) is not None:
            stmt = stmt.where(column == filters[name])
    if filters.get("year") is not None:
        # Money of a period with no annual split counts for every year it covers.
        stmt = stmt.where(m.c.year <= filters["year"], m.c.last_year >= filters["year"])
    if filters.get("theme") is not None:
        stmt = stmt.where(
            exists().where(
                EnvelopeTheme.envelope_code == m.c.envelope_code,
                EnvelopeTheme.theme == filters["theme"],
            )
        )
    if filters.get("region") is not None:
        stmt = stmt.where(
            exists().where(
                AllocationRegion.allocation_id == m.c.allocation_id,
                AllocationRegion.region_code == filters["region"],
            )
        )
    if not filters.get("include_demo"):
        stmt = stmt.where(m.c.is_demo.is_(False))
    return stmt


def grouped(by: list[str], filters: dict[str, Any]) -> Select[Any]:
    m = movements()
    dims = _dims(m)
    columns = list(dict.fromkeys(c for dim in by for c in dims[dim]))
    stmt = select(*(column.label(name) for name, column in columns), *_sums(m)).select_from(m)
    if "region" in by:
        stmt = stmt.join(AllocationRegion, AllocationRegion.allocation_id == m.c.allocation_id)
    if "territory" in by:
        stmt = stmt.where(m.c.territory_code.is_not(None))
    stmt = _filtered(stmt, m, filters)
    plain = [column for _, column in columns]
    return stmt.group_by(*plain).order_by(*plain)


def totals(filters: dict[str, Any]) -> Select[Any]:
    """Every matching movement once, however many Régions it falls under."""
    m = movements()
    return _filtered(select(*_sums(m)).select_from(m), m, filters)


def regions_shared(filters: dict[str, Any]) -> Select[Any]:
    """The Régions whose movements include those of a territory touching several Régions."""
    m = movements()
    several = (
        select(AllocationRegion.allocation_id)
        .group_by(AllocationRegion.allocation_id)
        .having(func.count() > 1)
    )
    scoped = _filtered(
        select(m.c.allocation_id).select_from(m).where(m.c.allocation_id.in_(several)), m, filters
    )
    return (
        select(AllocationRegion.region_code)
        .distinct()
        .where(AllocationRegion.allocation_id.in_(scoped))
        .order_by(AllocationRegion.region_code)
    )


def nested_in_scope(filters: dict[str, Any]) -> Select[str, str | None]:
    """The (part, whole) pairs of envelopes whose movements the report counts."""
    m = movements()
    scoped = _filtered(select(m.c.envelope_code).select_from(m), m, filters)
    return (
        select(Envelope.code, Envelope.part_of)
        .where(
            Envelope.part_of.is_not(None),
            or_(Envelope.code.in_(scoped), and_(Envelope.part_of.in_(scoped))),
        )
        .order_by(Envelope.code)
    )


def kept_movements(*, regional: bool) -> Subquery:
    """`movements()` already summed: the kept sums (`balance_sums`), one row per tranche, funder
    and demo flag, each nested envelope's endowments carved out of its parent again. The scope
    is bound as `region`: a Région's code, or '' for every movement.

    Of a Région (`regional`), only the money of its allocations: carve-outs are endowments, in
    no Région.
    """
    s = BalanceSum
    last_year = func.coalesce(Tranche.last_year, Tranche.year)
    funder = func.nullif(s.funder_code, "")
    scope = s.region_code == bindparam("region")
    own = _rows(
        s,
        last_year,
        [funder, s.is_demo],
        [s.amount_cents, s.committed_cents, s.disbursed_cents],
        scope,
    )
    if regional:
        union = own.subquery("raw")
    else:
        zero = literal(0, BigInteger)
        carved = _rows(
            s,
            last_year,
            [funder, s.is_demo],
            [-s.amount_cents, zero, zero],
            scope,
            s.amount_moves > 0,
            carved=True,
        )
        union = union_all(own, carved).subquery("raw")
    # The kept sums are per tranche and funder: no territory, no allocation.
    names = [n for n in MOVEMENT_COLUMNS if n not in ("territory_code", "allocation_id")]
    return select(
        *(column.label(name) for column, name in zip(union.c, names, strict=True))
    ).subquery("kept")


# What a row of `kept_grouped` holds, in order.
KEPT_COLUMNS = (
    "operator_code",
    "funder_code",
    "theme",
    "year",
    "last_year",
    "envelope_code",
    "amount_cents",
    "committed_cents",
    "disbursed_cents",
    "operator_name",
    "funder_name",
)


@functools.cache
def kept_grouped(*, regional: bool, by_operator: bool, include_demo: bool) -> Select[Any]:
    """The breakdowns' finest grouping (operator, funder, theme set, period, envelope) from the
    kept sums: the rows of `grouped` by those dimensions, filtered on Région, operator and demo,
    with the copy's names of each row's operator and funder (`KEPT_COLUMNS`).

    Built once per shape and kept, run with its values (`RowReader.all`: `region`, and
    `operator` when `by_operator`): building this union costs several times what the database
    takes to answer it.
    """
    m = kept_movements(regional=regional)
    columns = [
        m.c.operator_code,
        m.c.funder_code,
        m.c.theme_set.label("theme"),
        m.c.year,
        m.c.last_year,
        m.c.envelope_code,
    ]
    stmt = select(*columns, *_sums(m)).select_from(m)
    if by_operator:
        stmt = stmt.where(m.c.operator_code == bindparam("operator"))
    if not include_demo:
        stmt = stmt.where(m.c.is_demo.is_(False))
    plain = [m.c.operator_code, m.c.funder_code, m.c.theme_set, m.c.year, m.c.last_year]
    finest = stmt.group_by(*plain, m.c.envelope_code).subquery("finest")
    return select(
        finest,
        organisation_name(finest.c.operator_code).label("operator_name"),
        organisation_name(finest.c.funder_code).label("funder_name"),
    )


# `nested_in_scope` for the envelopes (`codes`) already known to have movements in scope.
_CODES: BindParameter[Any] = bindparam("codes", expanding=True)
NESTED_AMONG = (
    select(Envelope.code, Envelope.part_of)
    .where(
        Envelope.part_of.is_not(None), or_(Envelope.code.in_(_CODES), Envelope.part_of.in_(_CODES))
    )
    .order_by(Envelope.code)
)
