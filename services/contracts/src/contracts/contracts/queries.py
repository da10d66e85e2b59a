"""SQL for contracts: the filters of the list, the live-contract check, the rows a write locks."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.contracts.lifecycle import live_slot
from contracts.models import Action, ActionTheme, Contract, PlanLine, TerritoryRegion
from tdi_kit.text import search_terms

SORTABLE = {
    "territory_code": Contract.territory_code,
    "title": Contract.title_key,
    # Unsigned contracts sort first ascending on both databases, and keyset paging stays exact.
    "signed_on": func.coalesce(Contract.signed_on, dt.date(1, 1, 1)),
    "status": Contract.status,
    "kind": Contract.kind,
    "phase": Contract.phase,
    "updated_at": Contract.updated_at,
}


def filtered(
    stmt: Select[Any],
    *,
    territory: str | None = None,
    region: str | None = None,
    phase: int | None = None,
    status: str | None = None,
    kind: str | None = None,
    axis: str | None = None,
    priority: str | None = None,
    theme: str | None = None,
    financer: str | None = None,
    is_demo: bool | None = None,
    q: str | None = None,
) -> Select[Any]:
    """Action filters keep the contracts having at least one matching action."""
    stmt = shared_filters(
        stmt, Contract, territory=territory, region=region, phase=phase, status=status
    )
    if kind is not None:
        stmt = stmt.where(Contract.kind == kind)
    action_tests = action_conditions(axis=axis, priority=priority, theme=theme, financer=financer)
    if action_tests:
        stmt = stmt.where(exists().where(Action.contract_id == Contract.id, *action_tests))
    return shared_filters(stmt, Contract, is_demo=is_demo, q=q)


def action_conditions(
    *, axis: str | None, priority: str | None, theme: str | None, financer: str | None
) -> list[ColumnElement[bool]]:
    """The tests of an action that both lists filter on (a contract's: one of its actions passes
    them all); the themes and financers are an EXISTS on an indexed table."""
    tests: list[ColumnElement[bool]] = []
    if axis is not None:
        tests.append(Action.axis == axis)
    if priority is not None:
        tests.append(Action.priority == priority)
    if theme is not None:
        tests.append(exists().where(ActionTheme.action_id == Action.id, ActionTheme.theme == theme))
    if financer is not None:
        tests.append(
            exists().where(PlanLine.action_id == Action.id, PlanLine.financer_code == financer)
        )
    return tests


def shared_filters(
    stmt: Select[Any],
    model: type[Contract] | type[Action],
    *,
    territory: str | None = None,
    region: str | None = None,
    phase: int | None = None,
    status: str | None = None,
    is_demo: bool | None = None,
    q: str | None = None,
) -> Select[Any]:
    """The filters of the contracts' and the actions' lists alike: columns both tables have,
    a Région by its territories (an EXISTS on an indexed table), words of the search text."""
    if territory is not None:
        stmt = stmt.where(model.territory_code == territory)
    if region is not None:
        stmt = stmt.where(
            exists().where(
                TerritoryRegion.territory_code == model.territory_code,
                TerritoryRegion.region_code == region,
            )
        )
    if phase is not None:
        stmt = stmt.where(model.phase == phase)
    if status is not None:
        stmt = stmt.where(model.status == status)
    if is_demo is not None:
        stmt = stmt.where(model.is_demo == is_demo)
    for term in search_terms(q or ""):
        stmt = stmt.where(model.search_text.contains(term, autoescape=True))
    return stmt


async def of_territory(session: AsyncSession, code: str) -> list[tuple[uuid.UUID, str]]:
    """A territory's contracts (id, document) in the list's default order."""
    stmt = (
        select(Contract.id, Contract.document)
        .where(Contract.territory_code == code)
        .order_by(Contract.kind, Contract.id)
    )
    return [(row[0], row[1]) for row in await session.execute(stmt)]


async def document(session: AsyncSession, contract_id: uuid.UUID) -> tuple[str, str] | None:
    row = (
        await session.execute(
            select(Contract.document, Contract.etag).where(Contract.id == contract_id)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def for_update(session: AsyncSession, contract_id: uuid.UUID) -> Contract | None:
    # FOR UPDATE OF the contract row only: the territory is joined in, and never changed here.
    stmt = select(Contract).where(Contract.id == contract_id).with_for_update(of=Contract)
    return await session.scalar(stmt)


async def live_holder(session: AsyncSession, *, territory_code: str, phase: int) -> Contract | None:
    """The act holding the territory's live slot for the phase (see `lifecycle`), if any."""
    stmt = select(Contract).where(Contract.live_slot == live_slot(territory_code, phase))
    return await session.scalar(stmt)
