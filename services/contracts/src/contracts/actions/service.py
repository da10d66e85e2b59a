"""Requests on fiches-actions, and the operations on an action that amendments share.

Each change is an operation on a `ChangeSet` (`add_action`, `children.add_child`, ...), shared
by the direct endpoints (a draft, edited freely) and by amendments (a signed contract). The
rules the operations check are `actions.rules` (the plan never exceeds the budget, axes or
priorities, one financer a line), `contracts.access` (operators touch only what they finance)
and `contracts.contracts.lifecycle` (what may change when); the records an action holds are
`actions.children`. This module loads and locks, then applies one operation and records it.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.actions import queries, rules
from contracts.actions.children import (
    INDICATOR,
    MILESTONE,
    PLAN_LINE,
    ChildKind,
    add_child,
    check_financer,
    new_row,
    remove_child,
    update_child,
)
from contracts.contracts import queries as contract_queries
from contracts.contracts.changes import ChangeSet, record
from contracts.contracts.lifecycle import ensure_writable
from contracts.contracts.listing import DocumentList
from contracts.contracts.writes import WriteContext
from contracts.models import Action, ActionTheme, Contract
from contracts.references import References
from contracts.schemas import ActionUpdate, ActionWrite, Owner
from tdi_kit.conditional import check_if_match
from tdi_kit.errors import Conflict, NotFound, or_not_found
from tdi_kit.rowreader import RowReader

# Reads -------------------------------------------------------------------------------------


# The list (`listing.DocumentList`): its sorts and filters are `queries`'.
LIST = DocumentList(
    "actions", Action, queries.filtered, queries.SORTABLE, "territory_code,code", queries.LISTED
)
sort_for = LIST.sort_for
list_documents = LIST.page


async def get_document(rows: RowReader, *, action_id: uuid.UUID) -> tuple[str, str]:
    """The action's stored document and ETag, read by key through the driver (`queries.BY_ID`)."""
    found = await rows.all(queries.BY_ID, id=action_id)
    if not found:
        raise NotFound("action", action_id)
    return found[0][0], found[0][1]


# Operations (shared with amendments) ---------------------------------------------------------


async def _check_owner(references: References, owner: Owner | None) -> None:
    if owner is not None and owner.organisation_code is not None:
        await references.require_organisation(
            owner.organisation_code, location="body", field="owner.organisation_code"
        )


async def add_action(
    session: AsyncSession, changes: ChangeSet, *, payload: ActionWrite, references: References
) -> Action:
    contract = changes.contract
    assert contract is not None
    changes.permit("action")
    changes.editor.require_full("a new action")
    ensure_writable(contract)
    rules.check_axis(contract.phase, payload.axis, payload.priority)
    if await queries.code_taken(session, contract.id, payload.code, besides=None):
        raise Conflict(
            f"Contract {contract.id} already has an action {payload.code}.",
            action_code=payload.code,
        )
    await _check_owner(references, payload.owner)
    action = Action(
        id=uuid.uuid4(),
        contract_id=contract.id,
        territory_code=contract.territory_code,
        phase=contract.phase,
        code=payload.code,
        title=payload.title,
        description=payload.description,
        axis=payload.axis,
        priority=payload.priority,
        status=payload.status,
        budget_cents=payload.budget_cents,
        is_demo=contract.is_demo,
        sources=[],
        themes=[ActionTheme(theme=t) for t in dict.fromkeys(payload.themes)],
        plan_lines=[],
        indicators=[],
        milestones=[],
        version=0,
        **rules.owner_columns(payload.owner),
    )
    for i, line in enumerate(payload.plan_lines):
        await check_financer(references, line.financer_code, field=f"plan_lines.{i}.financer_code")
        action.plan_lines.append(new_row(PLAN_LINE, line, position=i))
    rules.check_plan(action, field="plan_lines")
    action.indicators.extend(
        new_row(INDICATOR, x, position=i) for i, x in enumerate(payload.indicators)
    )
    action.milestones.extend(
        new_row(MILESTONE, x, position=i) for i, x in enumerate(payload.milestones)
    )
    session.add(action)
    changes.add("action", action.id, "add", action=action, after=payload)
    return action


async def update_action(
    session: AsyncSession,
    changes: ChangeSet,
    *,
    action: Action,
    payload: ActionUpdate,
    references: References,
) -> None:
    fields = payload.model_fields_set
    changes.permit("action", fields)
    changes.editor.require_full(f"action {action.code}")
    axis = payload.axis if "axis" in fields else action.axis
    priority = payload.priority if "priority" in fields else action.priority
    rules.check_axis(action.phase, axis, priority)
    if (
        "code" in fields
        and payload.code is not None  # refused as null by the schema; narrows the type
        and payload.code != action.code
        and action.contract_id is not None
        and await queries.code_taken(session, action.contract_id, payload.code, besides=action.id)
    ):
        raise Conflict(f"This contract already has an action {payload.code}.")
    for name in ("code", "title", "description", "axis", "priority", "status", "budget_cents"):
        if name in fields:
            changes.set("action", action, name, getattr(payload, name), action=action)
    if "themes" in fields and payload.themes is not None:
        before = sorted(t.theme for t in action.themes)
        after = sorted(set(payload.themes))
        if before != after:
            for theme in [t for t in action.themes if t.theme not in after]:
                action.themes.remove(theme)
            action.themes.extend(ActionTheme(theme=t) for t in after if t not in before)
            changes.add(
                "action",
                action.id,
                "update",
                action=action,
                field="themes",
                before=before,
                after=after,
            )
    if "owner" in fields:
        await _check_owner(references, payload.owner)
        before_owner = rules.owner_columns_of(action)
        after_owner = rules.owner_columns(payload.owner)
        if before_owner != after_owner:
            for name, value in after_owner.items():
                setattr(action, name, value)
            changes.add(
                "action",
                action.id,
                "update",
                action=action,
                field="owner",
                before=rules.owner_dict(before_owner),
                after=rules.owner_dict(after_owner),
            )
    if "budget_cents" in fields:
        rules.check_plan(action, field="budget_cents")


async def remove_action(session: AsyncSession, changes: ChangeSet, *, action: Action) -> None:
    changes.permit("action")
    changes.editor.require_full(f"action {action.code}")
    changes.add(
        "action",
        action.id,
        "remove",
        action=action,
        before={"code": action.code, "title": action.title},
    )
    changes.removed.add(action.id)
    await session.delete(action)


# Requests: one operation on one action, recorded -------------------------------------------

Operation = Callable[[ChangeSet, Action], Awaitable[Any]]


async def create(write: WriteContext, *, contract_id: uuid.UUID, payload: ActionWrite) -> Action:
    editor = await write.editor()
    contract = await write.locked_contract(contract_id, if_match_required=False)
    changes = ChangeSet(editor, contract)
    action = await add_action(write.session, changes, payload=payload, references=write.references)
    await record(write.session, changes)
    return action


async def edit(
    write: WriteContext,
    *,
    action_id: uuid.UUID,
    operation: Operation,
    if_match_required: bool = True,
) -> Action:
    """Lock the contract then the action (always in that order), check If-Match, apply, record."""
    session, if_match = write.session, write.if_match
    editor = await write.editor()
    found, contract_id = await queries.contract_id_of(session, action_id)
    if not found:
        raise NotFound("action", action_id)
    contract: Contract | None = None
    if contract_id is not None:
        contract = await contract_queries.for_update(session, contract_id)
    action = or_not_found(await queries.for_update(session, action_id), "action", action_id)
    if if_match_required or if_match is not None:
        check_if_match(if_match, action.etag, what="action")
    ensure_writable(contract)
    changes = ChangeSet(editor, contract)
    await operation(changes, action)
    await record(session, changes)
    return action


async def patch(write: WriteContext, *, action_id: uuid.UUID, payload: ActionUpdate) -> Action:
    async def operation(changes: ChangeSet, action: Action) -> None:
        await update_action(
            write.session, changes, action=action, payload=payload, references=write.references
        )

    return await edit(write, action_id=action_id, operation=operation)


async def delete(write: WriteContext, *, action_id: uuid.UUID) -> None:
    async def operation(changes: ChangeSet, action: Action) -> None:
        await remove_action(write.session, changes, action=action)

    await edit(write, action_id=action_id, operation=operation)


def child_of(kind: ChildKind, action: Action, child_id: uuid.UUID) -> Any:
    found = kind.find(action, child_id)
    if found is None:
        raise NotFound(kind.noun, f"{child_id} in action {action.id}")
    return found


async def change_child(
    write: WriteContext,
    *,
    kind: ChildKind,
    verb: str,
    action_id: uuid.UUID,
    child_id: uuid.UUID | None = None,
    payload: BaseModel | None = None,
) -> Action:
    """`add`, `update` or `remove` a plan line, an indicator or a milestone. If-Match is the
    action's ETag, optional to add (nothing is overwritten)."""

    async def operation(changes: ChangeSet, action: Action) -> None:
        if verb == "add":
            assert payload is not None
            await add_child(
                kind, changes, action=action, payload=payload, references=write.references
            )
            return
        assert child_id is not None
        row = child_of(kind, action, child_id)
        if verb == "update":
            assert payload is not None
            await update_child(
                kind, changes, action=action, row=row, payload=payload, references=write.references
            )
        else:
            await remove_child(kind, changes, action=action, row=row)

    return await edit(
        write, action_id=action_id, operation=operation, if_match_required=verb != "add"
    )
