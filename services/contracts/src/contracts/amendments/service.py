"""Amendments (avenants) and the history of a contract.

Once a contract is signed, its terms change only through a numbered amendment: a set of
changes applied at once by the same operations that edit a draft (so the same rules hold),
recorded with what each changed. Every change to a contract, amendment or not, appends a
history entry with the contract as it then was: any past version can be read back.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.actions import children
from contracts.actions import queries as action_queries
from contracts.actions import service as actions
from contracts.amendments import queries
from contracts.contracts import lifecycle
from contracts.contracts.changes import ChangeSet, nested, record
from contracts.contracts.service import require, update_contract
from contracts.contracts.writes import WriteContext
from contracts.models import Action, Amendment
from contracts.references import References
from contracts.schemas import (
    AddAction,
    AmendmentChange,
    AmendmentWrite,
    RemoveAction,
    UpdateAction,
    UpdateContract,
)
from tdi_kit.errors import NotFound, Unprocessable, or_not_found
from tdi_kit.pagination import ListParams, RowsPage, parse_sort, read_page
from tdi_kit.rowreader import RowReader

# Reads -------------------------------------------------------------------------------------


async def orgs_of(
    session: AsyncSession, *, contract_id: uuid.UUID, amendments: list[Amendment]
) -> dict[int, str | None]:
    """Who recorded each amendment (an organisation, public; its subject is not)."""
    return await queries.amendment_orgs(session, contract_id, [a.number for a in amendments])


async def list_amendments(
    rows: RowReader, *, contract_id: uuid.UUID, params: ListParams
) -> RowsPage:
    """A page of amendments (rows of `queries.AMENDMENT_COLUMNS`), in order of number."""
    stmt = queries.amendments(contract_id)
    return await _page(rows, stmt, contract_id, params, key="number", default="number")


async def get_amendment(session: AsyncSession, *, contract_id: uuid.UUID, number: int) -> Amendment:
    return or_not_found(
        await queries.amendment(session, contract_id, number),
        "amendment",
        f"{number} of contract {contract_id}",
    )


async def history(rows: RowReader, *, contract_id: uuid.UUID, params: ListParams) -> RowsPage:
    """A page of history entries (rows of `queries.HISTORY_COLUMNS`), newest first."""
    stmt = queries.history(contract_id)
    return await _page(rows, stmt, contract_id, params, key="version", default="-version")


async def _page(
    rows: RowReader,
    stmt: Select[Any],
    contract_id: uuid.UUID,
    params: ListParams,
    *,
    key: str,
    default: str,
) -> RowsPage:
    """A page of one contract's records, sorted on their one key, read through the driver."""
    column = stmt.selected_columns[key]
    sort = parse_sort(params.sort, allowed={key: column}, default=default, unique=(key, column))
    page = await read_page(rows, stmt, sort=sort, params=params)
    # A row names its contract, which therefore exists: only an empty page costs the check.
    if not page.rows and not await rows.all(queries.exists(contract_id)):
        raise NotFound("contract", contract_id)
    return page


async def version(session: AsyncSession, *, contract_id: uuid.UUID, version: int) -> str:
    found = await queries.snapshot(session, contract_id, version)
    if found is None:
        await require(session, contract_id)
        raise NotFound("version", f"{version} of contract {contract_id}")
    return found


# Writes ------------------------------------------------------------------------------------


async def create(
    write: WriteContext, *, contract_id: uuid.UUID, payload: AmendmentWrite
) -> Amendment:
    session, references = write.session, write.references
    editor = await write.editor()
    contract = await write.locked_contract(contract_id)
    lifecycle.ensure_writable(contract)
    lifecycle.check_amendable(contract)
    number = await queries.next_number(session, contract.id)
    amendment = Amendment(
        id=uuid.uuid4(),
        contract_id=contract.id,
        number=number,
        title=payload.title,
        reason=payload.reason,
        signed_on=payload.signed_on,
        version=contract.version,
        changes=[],
        created_by=editor.sub,
    )
    session.add(amendment)
    changes = ChangeSet(
        editor,
        contract,
        kind="amendment",
        amendment=amendment,
        summary=f"Amendment n°{number}: {payload.title}"[:300],
    )
    by_id = {a.id: a for a in await action_queries.of_contract(session, contract.id)}
    for i, change in enumerate(payload.changes):
        await _apply(session, changes, change, by_id, references, index=i)
    if not changes.changes:
        raise Unprocessable.field("body", "changes", "this amendment changes nothing")
    await record(session, changes)
    return amendment


async def _apply(
    session: AsyncSession,
    changes: ChangeSet,
    change: AmendmentChange,
    by_id: dict[uuid.UUID, Action],
    references: References,
    *,
    index: int,
) -> None:
    at = f"changes.{index}"
    contract = changes.contract
    assert contract is not None

    def action() -> Action:
        assert not isinstance(change, UpdateContract | AddAction)
        found = by_id.get(change.action_id)
        if found is None:
            raise Unprocessable.field(
                "body", f"{at}.action_id", f"no action {change.action_id} in this contract"
            )
        return found

    match change:
        case UpdateContract():
            with nested(f"{at}.fields"):
                update_contract(changes, contract=contract, payload=change.fields)
        case AddAction():
            with nested(f"{at}.action"):
                new = await actions.add_action(
                    session, changes, payload=change.action, references=references
                )
            by_id[new.id] = new
        case UpdateAction():
            target = action()
            with nested(f"{at}.fields"):
                await actions.update_action(
                    session, changes, action=target, payload=change.fields, references=references
                )
        case RemoveAction():
            await actions.remove_action(session, changes, action=by_id.pop(action().id))
        case _:
            # `add_plan_line`, `update_indicator`, `remove_milestone`, ...: a record of an action.
            verb, kind = change.op.split("_", 1)
            await _apply_to_child(
                changes, change, children.KINDS[kind], verb, action(), at, references
            )


async def _apply_to_child(
    changes: ChangeSet,
    # AddPlanLine, UpdateIndicator, ...: the kind names its fields (`line`, `line_id`, ...).
    change: Any,
    kind: children.ChildKind,
    verb: str,
    action: Action,
    at: str,
    references: References,
) -> None:
    if verb == "add":
        with nested(f"{at}.{kind.field}"):
            await children.add_child(
                kind,
                changes,
                action=action,
                payload=getattr(change, kind.field),
                references=references,
            )
        return
    id_field = f"{kind.field}_id"
    child_id = getattr(change, id_field)
    row = kind.find(action, child_id)
    if row is None:
        raise Unprocessable.field(
            "body",
            f"{at}.{id_field}",
            f"no {kind.field} {child_id} in that action",
        )
    if verb == "update":
        with nested(f"{at}.fields"):
            await children.update_child(
                kind, changes, action=action, row=row, payload=change.fields, references=references
            )
    else:
        await children.remove_child(kind, changes, action=action, row=row)
