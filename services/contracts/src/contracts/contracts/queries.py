"""SQL for contracts: the filters of the list, the live-contract check, the rows a write locks."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any, TypedDict, Unpack

from sqlalchemy import (
    ColumnElement,
    Select,
    bindparam,
    exists,
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.contracts.lifecycle import live_slot
from contracts.models import Action, ActionTheme, Contract, PlanLine, TerritoryRegion
from tdi_kit.rowlists import where_given, where_linked, where_words

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


class ListFilters(TypedDict, total=False):
    """The filters both lists take, named as their routes give them: each a value, or a
    `bindparam` in a kept statement (`kept_list`). The contracts' list adds `kind`, the
    actions' `contract`; the action tests keep, of contracts, those with a matching action."""

    territory: str | None
    region: str | None
    phase: int | None
    status: str | None
    axis: str | None
    priority: str | None
    theme: str | None
    financer: str | None
    is_demo: bool | None
    q: str | None


def filtered(
    stmt: Select[Any], *, kind: str | None = None, **filters: Unpack[ListFilters]
) -> Select[Any]:
    """Action filters keep the contracts having at least one matching action."""
    stmt = place_filters(stmt, Contract, filters)
    if kind is not None:
        stmt = stmt.where(Contract.kind == kind)
    action_tests = action_conditions(filters)
    if action_tests:
        stmt = stmt.where(exists().where(Action.contract_id == Contract.id, *action_tests))
    return demo_and_words(stmt, Contract, filters)


# The lists' kept statements, one per list and shape (which filters are given): a request binds
# its values in (`tdi_kit.pagination.read_page(values=...)`) rather than building, and hashing,
# a statement of its own, as funding's allocations do.
_LISTS: dict[tuple[str, frozenset[str]], Select[Any]] = {}


def kept_list(
    name: str, build: Callable[..., Select[Any]], filters: dict[str, Any]
) -> tuple[Select[Any], dict[str, Any] | None]:
    """The kept statement `build(**filters)` of list `name` for this shape of filters, and the
    values it binds (named after the filters); a text search is built per request (each word
    is a LIKE pattern escaped from its text), with no values."""
    values = {key: value for key, value in filters.items() if value is not None}
    if "q" in values:
        return build(**filters), None
    shape = (name, frozenset(values))
    stmt = _LISTS.get(shape)
    if stmt is None:
        stmt = _LISTS[shape] = build(**{key: bindparam(key) for key in values})
    return stmt, values


def action_conditions(filters: ListFilters) -> list[ColumnElement[bool]]:
    """The tests of an action that both lists filter on (a contract's: one of its actions passes
    them all); the themes and financers are an EXISTS on an indexed table."""
    axis, priority = filters.get("axis"), filters.get("priority")
    theme, financer = filters.get("theme"), filters.get("financer")
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


# The filters of the contracts' and the actions' lists alike, in two steps so that each list's
# own tests stand between them in the statement: columns both tables have and a Région by its
# territories first, the demo flag and words of the search text last.


def place_filters(
    stmt: Select[Any], model: type[Contract] | type[Action], filters: ListFilters
) -> Select[Any]:
    """Territory, Région (an EXISTS on an indexed table), phase, status."""
    stmt = where_given(stmt, (model.territory_code, filters.get("territory")))
    stmt = where_linked(
        stmt,
        model.territory_code,
        (TerritoryRegion.territory_code, TerritoryRegion.region_code, filters.get("region")),
    )
    return where_given(
        stmt, (model.phase, filters.get("phase")), (model.status, filters.get("status"))
    )


def demo_and_words(
    stmt: Select[Any], model: type[Contract] | type[Action], filters: ListFilters
) -> Select[Any]:
    """The demo flag, and each word of the search text."""
    stmt = where_given(stmt, (model.is_demo, filters.get("is_demo")))
    return where_words(stmt, model.search_text, filters.get("q"))


# Reads by key, kept and run with their values through the driver (`RowReader.all(stmt, ...)`):
# compiled once, no session, one statement (one round trip on PostgreSQL) each. Each is a UNION
# ALL of the contracts' and the actions' rows, `part` 0 and 1, in the order the answer lists them.


def _parts(contracts: Select[*tuple[Any, ...]], actions: Select[*tuple[Any, ...]]) -> Select[Any]:
    """Contract rows then action rows: (part, owning contract id, document, ETag), ordered by
    `key` (contracts: their kind, actions: their code) then id, as the answers list them."""
    both = union_all(contracts, actions).subquery()
    return select(both.c.part, both.c.owner, both.c.document, both.c.etag).order_by(
        both.c.part, both.c.key, both.c.id
    )


def _contract_rows(*where: ColumnElement[bool]) -> Select[*tuple[Any, ...]]:
    return select(
        literal_column("0").label("part"),
        Contract.kind.label("key"),
        Contract.id.label("id"),
        Contract.id.label("owner"),
        Contract.document.label("document"),
        Contract.etag.label("etag"),
    ).where(*where)


def _action_rows(*where: ColumnElement[bool]) -> Select[*tuple[Any, ...]]:
    return select(
        literal_column("1"),
        Action.code,
        Action.id,
        Action.contract_id,
        Action.document,
        null(),
    ).where(*where)


# A territory's contracts (by kind, then id) and its actions (by code, then id), `code` bound.
PLAN = _parts(
    _contract_rows(Contract.territory_code == bindparam("code")),
    _action_rows(Action.territory_code == bindparam("code")),
)
# One contract and its actions (by code, unique in a contract), `id` bound.
DETAIL = _parts(
    _contract_rows(Contract.id == bindparam("id")),
    _action_rows(Action.contract_id == bindparam("id")),
)


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
