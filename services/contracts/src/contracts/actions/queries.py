"""SQL for fiches-actions: the filters of the list, and the rows a write locks."""

from __future__ import annotations

import uuid
from typing import Any, Unpack

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.contracts.queries import (
    ListFilters,
    action_conditions,
    demo_and_words,
    place_filters,
)
from contracts.models import Action, Amendment

SORTABLE = {
    "code": Action.code,
    "title": Action.title_key,
    # Unknown budgets sort as -1 (first ascending) on both databases, and keep keyset paging exact.
    "budget_cents": func.coalesce(Action.budget_cents, -1),
    "status": Action.status,
    "territory_code": Action.territory_code,
    "phase": Action.phase,
    "updated_at": Action.updated_at,
}


def filtered(
    stmt: Select[Any], *, contract: uuid.UUID | None = None, **filters: Unpack[ListFilters]
) -> Select[Any]:
    """Each filter is a column test or an EXISTS on an indexed table: a page stays one statement."""
    stmt = place_filters(stmt, Action, filters)
    for test in action_conditions(filters):
        stmt = stmt.where(test)
    if contract is not None:
        stmt = stmt.where(Action.contract_id == contract)
    return demo_and_words(stmt, Action, filters)


# What the list reads of each action: its stored document, and its ETag (the hash of the
# document), which makes the page's own without hashing the page again.
LISTED: tuple[Any, ...] = (Action.document, Action.etag)

# Kept and run with its value through the driver (`RowReader.all(BY_ID, id=...)`): compiled once,
# no session, as the registry's territory by code.
BY_ID = select(Action.document, Action.etag).where(Action.id == bindparam("id"))


async def contract_id_of(session: AsyncSession, action_id: uuid.UUID) -> tuple[bool, Any]:
    """(found, contract id or None)."""
    row = (await session.execute(select(Action.contract_id).where(Action.id == action_id))).first()
    return (False, None) if row is None else (True, row[0])


async def for_update(session: AsyncSession, action_id: uuid.UUID) -> Action | None:
    # FOR UPDATE serialises writers of one action on PostgreSQL (SQLite writers queue anyway).
    stmt = select(Action).where(Action.id == action_id).with_for_update(of=Action)
    return await session.scalar(stmt)


async def of_contract(session: AsyncSession, contract_id: uuid.UUID) -> list[Action]:
    stmt = select(Action).where(Action.contract_id == contract_id).order_by(Action.code)
    return list(await session.scalars(stmt))


async def documents_of_contract(session: AsyncSession, contract_id: uuid.UUID) -> list[str]:
    stmt = select(Action.document).where(Action.contract_id == contract_id).order_by(Action.code)
    return list(await session.scalars(stmt))


async def code_taken(
    session: AsyncSession, contract_id: uuid.UUID, code: str, *, besides: uuid.UUID | None
) -> bool:
    stmt = select(Action.id).where(Action.contract_id == contract_id, Action.code == code)
    if besides is not None:
        stmt = stmt.where(Action.id != besides)
    return await session.scalar(stmt.limit(1)) is not None


async def amendment_count(session: AsyncSession, contract_id: uuid.UUID) -> int:
    stmt = select(func.count()).where(Amendment.contract_id == contract_id)
    return await session.scalar(stmt) or 0
