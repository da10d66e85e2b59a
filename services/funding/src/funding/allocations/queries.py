"""SQL for allocations."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Select, String, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import raiseload

from funding.models import Allocation, AllocationRegion, Envelope, Tranche
from funding.references import organisation_name
from tdi_kit.db import lock_by_id

# The allocation rules read an envelope's own columns only: loading its collections would cost
# two queries per write.
_ENVELOPE_ONLY = (raiseload(Envelope.tranches), raiseload(Envelope.themes))

SORTABLE = {
    "created_at": Allocation.created_at,
    "amount_cents": Allocation.amount_cents,
    "territory_code": Allocation.territory_code,
    "year": Allocation.year,
}


def allocated_by(org: str | ColumnElement[str]) -> ColumnElement[bool]:
    """The allocations of the envelopes `org` operates or examines."""
    examined = select(Envelope.code).where(Envelope.examined_by == org)
    return (Allocation.operator_code == org) | Allocation.envelope_code.in_(examined)


# What a list reads of an allocation: `AllocationRead`'s fields in its order, those a column
# holds, and what is computed from them (`funding.allocations.reads`): its regions (sorted by
# the reader: each database aggregates in its own order) and its operator's name from the copy
# of the registry's (subqueries in the same statement: no query more per page). Only what is
# served is read: a column the answer lacks (tranche, author) costs a driver's conversion per row.
_A = Allocation.__table__.c
READ_COLUMNS = (
    _A.id,
    _A.envelope_code,
    _A.year,
    _A.operator_code,
    organisation_name(Allocation.operator_code).label("operator_name"),
    _A.territory_code,
    select(func.aggregate_strings(AllocationRegion.region_code, ","))
    .where(AllocationRegion.allocation_id == Allocation.id)
    .correlate(Allocation)
    .scalar_subquery()
    .label("region_codes"),
    _A.action_id,
    _A.title,
    _A.beneficiary_name,
    _A.beneficiary_siren,
    _A.reference,
    _A.amount_cents,
    _A.eligible_spending_cents,
    _A.cap_waiver,
    _A.decision_date,
    _A.status,
    _A.disbursed_cents,
    _A.released_cents,
    _A.cancel_reason,
    _A.is_demo,
    _A.version,
    _A.created_at,
    _A.updated_at,
    _A.committed_at,
    _A.cancelled_at,
)


# Statements kept and run with their values (`RowReader.all(stmt, id=...)`): compiled once.
_EXAMINED_BY = (
    select(Envelope.examined_by)
    .where(Envelope.code == Allocation.envelope_code)
    .correlate(Allocation)
    .scalar_subquery()
    .label("examined_by")
)
# One allocation as a list reads it (`READ_COLUMNS`), and its envelope's examiner, which the
# visibility rule needs (`funding.access`): one statement, through the driver.
BY_ID = select(*READ_COLUMNS, _EXAMINED_BY).where(Allocation.id == bindparam("id"))
# What the visibility rule reads of an allocation (`funding.access.check_visible`).
VISIBILITY = select(Allocation.committed_at, Allocation.operator_code, _EXAMINED_BY).where(
    Allocation.id == bindparam("id")
)


def allocations(
    *,
    private_for: str | ColumnElement[str] | None,
    all_private: bool,
    selected: Any = (Allocation,),
    **filters: Any,
) -> Select[Any]:
    """`private_for`: the organisation whose private (never committed) allocations the caller
    sees besides the public ones; `all_private`: the caller sees them all (admin). `selected`:
    the records (the default), or `READ_COLUMNS` for a list read through the driver."""
    stmt = select(*selected)
    if not all_private:
        visible: ColumnElement[bool] = Allocation.committed_at.is_not(None)
        if private_for is not None:
            visible = visible | allocated_by(private_for)
        stmt = stmt.where(visible)
    columns = {
        "envelope": Allocation.envelope_code,
        "operator": Allocation.operator_code,
        "year": Allocation.year,
        "territory": Allocation.territory_code,
        "status": Allocation.status,
        "action": Allocation.action_id,
        "is_demo": Allocation.is_demo,
        "beneficiary_siren": Allocation.beneficiary_siren,
        "reference": Allocation.reference,
    }
    for name, value in filters.items():
        if value is None:
            continue
        if name == "region":
            stmt = stmt.where(
                Allocation.id.in_(
                    select(AllocationRegion.allocation_id).where(
                        AllocationRegion.region_code == value
                    )
                )
            )
        else:
            stmt = stmt.where(columns[name] == value)
    return stmt


# The kept list statements, one per shape (which filters are given, whose private allocations
# are seen): a request binds its values in (`tdi_kit.pagination.read_page(values=...)`) rather
# than building, and hashing, a statement of its own.
_LISTS: dict[tuple[frozenset[str], bool, bool], Select[Any]] = {}


def kept_list(
    *, private_for: str | None, all_private: bool, filters: dict[str, Any]
) -> tuple[Select[Any], dict[str, Any]]:
    """The kept statement of `READ_COLUMNS` for this shape of request, and the values it
    binds (named after the filters; `private_for` for the caller's organisation)."""
    values = {name: value for name, value in filters.items() if value is not None}
    sees_own = not all_private and private_for is not None
    shape = (frozenset(values), all_private, sees_own)
    stmt = _LISTS.get(shape)
    if stmt is None:
        stmt = _LISTS[shape] = allocations(
            private_for=bindparam("private_for", type_=String) if sees_own else None,
            all_private=all_private,
            selected=READ_COLUMNS,
            **{name: bindparam(name) for name in values},
        )
    if sees_own:
        values["private_for"] = private_for
    return stmt, values


async def envelopes_by_code(session: AsyncSession, codes: Iterable[str]) -> dict[str, Envelope]:
    """The envelopes alone: their tranches and themes are not loaded (and raise if read)."""
    wanted = set(codes)
    if not wanted:
        return {}
    stmt = select(Envelope).where(Envelope.code.in_(wanted)).options(*_ENVELOPE_ONLY)
    return {e.code: e for e in await session.scalars(stmt)}


async def tranches_of(
    session: AsyncSession, pairs: Iterable[tuple[str, int]]
) -> tuple[dict[str, Envelope], dict[tuple[str, int], Tranche]]:
    """The envelopes and the tranches named by (envelope code, year), in one query; an envelope
    without the year asked for is still found, so that the two mistakes are told apart."""
    wanted = set(pairs)
    if not wanted:
        return {}, {}
    years = {y for _, y in wanted}
    stmt = (
        select(Envelope, Tranche)
        .outerjoin(Tranche, (Tranche.envelope_code == Envelope.code) & Tranche.year.in_(years))
        .where(Envelope.code.in_({c for c, _ in wanted}))
        .options(*_ENVELOPE_ONLY)
    )
    envelopes: dict[str, Envelope] = {}
    tranches: dict[tuple[str, int], Tranche] = {}
    for envelope, tranche in await session.execute(stmt):
        envelopes[envelope.code] = envelope
        if tranche is not None:
            tranches[(envelope.code, tranche.year)] = tranche
    return envelopes, tranches


async def taken_references(
    session: AsyncSession, pairs: Iterable[tuple[str, str]]
) -> set[tuple[str, str]]:
    """The (operator, reference) pairs already used."""
    wanted = set(pairs)
    if not wanted:
        return set()
    references = {r for _, r in wanted}
    stmt = select(Allocation.operator_code, Allocation.reference).where(
        Allocation.reference.in_(references)
    )
    return {(o, r) for o, r in await session.execute(stmt) if r is not None and (o, r) in wanted}


async def lock_allocations(
    session: AsyncSession, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Allocation]:
    """The allocations, locked (in id order) and read afresh (`tdi_kit.db.lock_by_id`)."""
    return await lock_by_id(session, Allocation, ids)
