"""SQL for the dashboard's counts: the lists' own filters (`contracts.queries.filtered`,
`actions.queries.filtered`), grouped by what is counted instead of read row by row."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Select, func, select

from contracts.actions import queries as actions
from contracts.contracts import queries as contracts
from contracts.models import Action, Contract
from tdi_kit.rowreader import RowReader


def _contract_groups(**filters: Any) -> Select[Any]:
    columns = (Contract.status, Contract.kind)
    stmt = cast("Select[Any]", select(*columns, func.count()))
    return contracts.filtered(stmt, **filters).group_by(*columns)


def _action_groups(**filters: Any) -> Select[Any]:
    columns = (Action.phase, Action.axis, Action.priority, Action.status)
    stmt = cast("Select[Any]", select(*columns, func.count()))
    return actions.filtered(stmt, **filters).group_by(*columns)


async def contract_groups(rows: RowReader, filters: dict[str, Any]) -> list[tuple[Any, ...]]:
    """(status, kind, contracts) of the contracts the list gives with these filters."""
    stmt, values = contracts.kept_list("contract-counts", _contract_groups, filters)
    return await rows.all(stmt, **(values or {}))


async def action_groups(rows: RowReader, filters: dict[str, Any]) -> list[tuple[Any, ...]]:
    """(phase, axis, priority, status, actions) of the actions the list gives with these
    filters."""
    stmt, values = contracts.kept_list("action-counts", _action_groups, filters)
    return await rows.all(stmt, **(values or {}))
