"""The programme's rules for fiches-actions, their co-financing plans, indicators and milestones.

Each change is an operation on a `ChangeSet` (`add_action`, `update_plan_line`, ...), shared by
the direct endpoints (a draft, edited freely) and by amendments (a signed contract). The rules
each operation checks live here: the plan never exceeds the budget, phase 1 speaks of axes and
phase 2 of priorities, operators touch only what they finance, references exist in the registry.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.access import Editor
from contracts.actions import queries
from contracts.changes import ChangeSet, ensure_writable, record
from contracts.contracts import queries as contract_queries
from contracts.models import Action, ActionTheme, Contract, Indicator, Milestone, PlanLine
from contracts.references import References
from contracts.schemas import (
    ActionUpdate,
    ActionWrite,
    IndicatorUpdate,
    IndicatorWrite,
    MilestoneUpdate,
    MilestoneWrite,
    Owner,
    PlanLineUpdate,
    PlanLineWrite,
)
from tdi_kit.auth import Caller
from tdi_kit.conditional import check_if_match
from tdi_kit.errors import Conflict, NotFound, Unprocessable
from tdi_kit.pagination import ListParams, Sort, all_rows, paginate, parse_sort

# Reads -------------------------------------------------------------------------------------


def sort_for(params: ListParams) -> Sort:
    return parse_sort(
        params.sort,
        allowed=queries.SORTABLE,
        default="territory_code,code",
        unique=("id", Action.id),
    )


async def get_document(session: AsyncSession, *, action_id: uuid.UUID) -> tuple[str, str]:
    found = await queries.document(session, action_id)
    if found is None:
        raise NotFound("action", action_id)
    return found


async def list_documents(
    session: AsyncSession, *, params: ListParams, filters: dict[str, Any]
) -> tuple[list[str], str | None]:
    stmt = queries.filtered(select(Action.document), **filters)
    sort = sort_for(params)
    if params.format == "csv":
        return await all_rows(session, stmt, sort=sort), None
    return await paginate(session, stmt, sort=sort, params=params)


# Operations (shared with amendments) ---------------------------------------------------------


def check_axis(phase: int, axis: str | None, priority: str | None) -> None:
    """Phase 1 set out the four axes; phase 2 replaced them with four priorities."""
    if phase == 1 and priority is not None:
        raise Unprocessable.field(
            "body", "priority", "a phase-1 action has an axis (recruter, innover, ...), no priority"
        )
    if phase == 2 and axis is not None:
        raise Unprocessable.field(
            "body", "axis", "a phase-2 action has a priority (competences, ...), no axis"
        )


def check_plan(action: Action, *, field: str) -> None:
    """A co-financing plan never exceeds the action's budget."""
    if not action.plan_lines:
        return
    planned = sum(line.amount_cents for line in action.plan_lines)
    if action.budget_cents is None:
        raise Unprocessable.field(
            "body",
            field,
            f"the co-financing plan totals {planned} cents but action {action.code} has no "
            "budget; set budget_cents first",
            budget_cents=None,
            planned_cents=planned,
        )
    if planned > action.budget_cents:
        raise Unprocessable.field(
            "body",
            field,
            f"the co-financing plan would total {planned} cents, over the budget of action "
            f"{action.code} ({action.budget_cents} cents) by {planned - action.budget_cents}",
            budget_cents=action.budget_cents,
            planned_cents=planned,
            over_by_cents=planned - action.budget_cents,
        )


async def _check_owner(references: References, owner: Owner | None) -> None:
    if owner is not None and owner.organisation_code is not None:
        await references.require_organisation(
            owner.organisation_code, location="body", field="owner.organisation_code"
        )


async def _check_financer(references: References, code: str | None, *, field: str) -> None:
    if code is not None:
        await references.require_organisation(code, location="body", field=field)


def _owner_columns(owner: Owner | None) -> dict[str, str | None]:
    return {
        "owner_organisation_code": owner.organisation_code if owner else None,
        "owner_name": owner.name if owner else None,
        "owner_siren": owner.siren if owner else None,
    }


async def add_action(
    session: AsyncSession, changes: ChangeSet, *, payload: ActionWrite, references: References
) -> Action:
    contract = changes.contract
    assert contract is not None
    changes.permit("action")
    changes.editor.require_full("a new action")
    ensure_writable(contract)
    check_axis(contract.phase, payload.axis, payload.priority)
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
        **_owner_columns(payload.owner),
    )
    for i, line in enumerate(payload.plan_lines):
        await _check_financer(references, line.financer_code, field=f"plan_lines.{i}.financer_code")
        action.plan_lines.append(_new_line(line, position=i))
    check_plan(action, field="plan_lines")
    action.indicators.extend(
        _new_indicator(x, position=i) for i, x in enumerate(payload.indicators)
    )
    action.milestones.extend(
        _new_milestone(x, position=i) for i, x in enumerate(payload.milestones)
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
    check_axis(action.phase, axis, priority)
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
        before_owner = _owner_columns_of(action)
        after_owner = _owner_columns(payload.owner)
        if before_owner != after_owner:
            for name, value in after_owner.items():
                setattr(action, name, value)
            changes.add(
                "action",
                action.id,
                "update",
                action=action,
                field="owner",
                before=_owner_dict(before_owner),
                after=_owner_dict(after_owner),
            )
    if "budget_cents" in fields:
        check_plan(action, field="budget_cents")


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


async def add_plan_line(
    changes: ChangeSet, *, action: Action, payload: PlanLineWrite, references: References
) -> PlanLine:
    changes.permit("plan_line")
    changes.editor.require_financer(payload.financer_code)
    await _check_financer(references, payload.financer_code, field="financer_code")
    line = _new_line(payload, position=_next_position(action.plan_lines))
    action.plan_lines.append(line)
    check_plan(action, field="amount_cents")
    changes.add("plan_line", line.id, "add", action=action, after=payload)
    return line


async def update_plan_line(
    changes: ChangeSet,
    *,
    action: Action,
    line: PlanLine,
    payload: PlanLineUpdate,
    references: References,
) -> None:
    changes.permit("plan_line", payload.model_fields_set)
    changes.editor.require_financer(line.financer_code)
    updates = {name: getattr(payload, name) for name in payload.model_fields_set}
    # Naming one kind of financer replaces the other: a line has exactly one.
    if updates.get("financer_code") is not None:
        if updates.get("financer_name") is not None:
            raise Unprocessable.field(
                "body", "financer_name", "give financer_code or financer_name"
            )
        updates["financer_name"] = None
        await _check_financer(references, updates["financer_code"], field="financer_code")
    elif updates.get("financer_name") is not None:
        updates["financer_code"] = None
    # An operator may not hand its line to another financer.
    changes.editor.require_financer(updates.get("financer_code", line.financer_code))
    for name, value in updates.items():
        changes.set("plan_line", line, name, value, action=action)
    if line.financer_code is None and line.financer_name is None:
        raise Unprocessable.field("body", "financer_code", "a plan line needs a financer")
    check_plan(action, field="amount_cents")


async def remove_plan_line(changes: ChangeSet, *, action: Action, line: PlanLine) -> None:
    changes.permit("plan_line")
    changes.editor.require_financer(line.financer_code)
    changes.add(
        "plan_line",
        line.id,
        "remove",
        action=action,
        before={
            "financer_code": line.financer_code,
            "financer_name": line.financer_name,
            "amount_cents": line.amount_cents,
        },
    )
    action.plan_lines.remove(line)


async def add_indicator(
    changes: ChangeSet, *, action: Action, payload: IndicatorWrite
) -> Indicator:
    changes.permit("indicator")
    await changes.require_finances(action)
    indicator = _new_indicator(payload, position=_next_position(action.indicators))
    action.indicators.append(indicator)
    changes.add("indicator", indicator.id, "add", action=action, after=payload)
    return indicator


async def update_indicator(
    changes: ChangeSet, *, action: Action, indicator: Indicator, payload: IndicatorUpdate
) -> None:
    changes.permit("indicator", payload.model_fields_set)
    await changes.require_finances(action)
    for name in ("label", "unit", "target", "actual", "as_of"):
        if name in payload.model_fields_set:
            changes.set("indicator", indicator, name, getattr(payload, name), action=action)


async def remove_indicator(changes: ChangeSet, *, action: Action, indicator: Indicator) -> None:
    changes.permit("indicator")
    await changes.require_finances(action)
    changes.add(
        "indicator", indicator.id, "remove", action=action, before={"label": indicator.label}
    )
    action.indicators.remove(indicator)


async def add_milestone(
    changes: ChangeSet, *, action: Action, payload: MilestoneWrite
) -> Milestone:
    changes.permit("milestone")
    changes.editor.require_full(f"the milestones of action {action.code}")
    milestone = _new_milestone(payload, position=_next_position(action.milestones))
    action.milestones.append(milestone)
    changes.add("milestone", milestone.id, "add", action=action, after=payload)
    return milestone


async def update_milestone(
    changes: ChangeSet, *, action: Action, milestone: Milestone, payload: MilestoneUpdate
) -> None:
    changes.permit("milestone", payload.model_fields_set)
    changes.editor.require_full(f"the milestones of action {action.code}")
    for name in ("label", "due_on", "done_on"):
        if name in payload.model_fields_set:
            changes.set("milestone", milestone, name, getattr(payload, name), action=action)


async def remove_milestone(changes: ChangeSet, *, action: Action, milestone: Milestone) -> None:
    changes.permit("milestone")
    changes.editor.require_full(f"the milestones of action {action.code}")
    changes.add(
        "milestone", milestone.id, "remove", action=action, before={"label": milestone.label}
    )
    action.milestones.remove(milestone)


def plan_line_of(action: Action, line_id: uuid.UUID) -> PlanLine:
    line = next((x for x in action.plan_lines if x.id == line_id), None)
    if line is None:
        raise NotFound("plan line", f"{line_id} in action {action.id}")
    return line


def indicator_of(action: Action, indicator_id: uuid.UUID) -> Indicator:
    found = next((x for x in action.indicators if x.id == indicator_id), None)
    if found is None:
        raise NotFound("indicator", f"{indicator_id} in action {action.id}")
    return found


def milestone_of(action: Action, milestone_id: uuid.UUID) -> Milestone:
    found = next((x for x in action.milestones if x.id == milestone_id), None)
    if found is None:
        raise NotFound("milestone", f"{milestone_id} in action {action.id}")
    return found


# Requests: one operation on one action, recorded -------------------------------------------

Operation = Callable[[ChangeSet, Action], Awaitable[Any]]


async def create(
    session: AsyncSession,
    *,
    references: References,
    caller: Caller,
    contract_id: uuid.UUID,
    payload: ActionWrite,
    if_match: str | None,
) -> Action:
    editor = await Editor.of(caller, references)
    contract = await contract_queries.for_update(session, contract_id)
    if contract is None:
        raise NotFound("contract", contract_id)
    if if_match is not None:
        check_if_match(if_match, contract.etag, what="contract")
    changes = ChangeSet(editor, contract)
    action = await add_action(session, changes, payload=payload, references=references)
    await record(session, changes)
    return action


async def edit(
    session: AsyncSession,
    *,
    references: References,
    caller: Caller,
    action_id: uuid.UUID,
    if_match: str | None,
    operation: Operation,
    if_match_required: bool = True,
) -> Action:
    """Lock the contract then the action (always in that order), check If-Match, apply, record."""
    editor = await Editor.of(caller, references)
    found, contract_id = await queries.contract_id_of(session, action_id)
    if not found:
        raise NotFound("action", action_id)
    contract: Contract | None = None
    if contract_id is not None:
        contract = await contract_queries.for_update(session, contract_id)
    action = await queries.for_update(session, action_id)
    if action is None:
        raise NotFound("action", action_id)
    if if_match_required or if_match is not None:
        check_if_match(if_match, action.etag, what="action")
    ensure_writable(contract)
    changes = ChangeSet(editor, contract)
    await operation(changes, action)
    await record(session, changes)
    return action


async def patch(
    session: AsyncSession,
    *,
    references: References,
    caller: Caller,
    action_id: uuid.UUID,
    payload: ActionUpdate,
    if_match: str | None,
) -> Action:
    async def operation(changes: ChangeSet, action: Action) -> None:
        await update_action(session, changes, action=action, payload=payload, references=references)

    return await edit(
        session,
        references=references,
        caller=caller,
        action_id=action_id,
        if_match=if_match,
        operation=operation,
    )


async def delete(
    session: AsyncSession,
    *,
    references: References,
    caller: Caller,
    action_id: uuid.UUID,
    if_match: str | None,
) -> None:
    async def operation(changes: ChangeSet, action: Action) -> None:
        await remove_action(session, changes, action=action)

    await edit(
        session,
        references=references,
        caller=caller,
        action_id=action_id,
        if_match=if_match,
        operation=operation,
    )


async def post_child(
    session: AsyncSession,
    *,
    references: References,
    caller: Caller,
    action_id: uuid.UUID,
    payload: PlanLineWrite | IndicatorWrite | MilestoneWrite,
    if_match: str | None,
) -> Action:
    """Add a plan line, an indicator or a milestone (If-Match optional: nothing is overwritten)."""

    async def operation(changes: ChangeSet, action: Action) -> None:
        if isinstance(payload, PlanLineWrite):
            await add_plan_line(changes, action=action, payload=payload, references=references)
        elif isinstance(payload, IndicatorWrite):
            await add_indicator(changes, action=action, payload=payload)
        else:
            await add_milestone(changes, action=action, payload=payload)

    return await edit(
        session,
        references=references,
        caller=caller,
        action_id=action_id,
        if_match=if_match,
        operation=operation,
        if_match_required=False,
    )


async def patch_child(
    session: AsyncSession,
    *,
    references: References,
    caller: Caller,
    action_id: uuid.UUID,
    child_id: uuid.UUID,
    payload: PlanLineUpdate | IndicatorUpdate | MilestoneUpdate,
    if_match: str | None,
) -> Action:
    """Change a plan line, an indicator or a milestone; If-Match is the action's ETag."""

    async def operation(changes: ChangeSet, action: Action) -> None:
        if isinstance(payload, PlanLineUpdate):
            line = plan_line_of(action, child_id)
            await update_plan_line(
                changes, action=action, line=line, payload=payload, references=references
            )
        elif isinstance(payload, IndicatorUpdate):
            indicator = indicator_of(action, child_id)
            await update_indicator(changes, action=action, indicator=indicator, payload=payload)
        else:
            milestone = milestone_of(action, child_id)
            await update_milestone(changes, action=action, milestone=milestone, payload=payload)

    return await edit(
        session,
        references=references,
        caller=caller,
        action_id=action_id,
        if_match=if_match,
        operation=operation,
    )


async def delete_child(
    session: AsyncSession,
    *,
    references: References,
    caller: Caller,
    action_id: uuid.UUID,
    child: str,
    child_id: uuid.UUID,
    if_match: str | None,
) -> Action:
    """Remove a `plan_line`, an `indicator` or a `milestone`; If-Match is the action's ETag."""

    async def operation(changes: ChangeSet, action: Action) -> None:
        if child == "plan_line":
            await remove_plan_line(changes, action=action, line=plan_line_of(action, child_id))
        elif child == "indicator":
            found = indicator_of(action, child_id)
            await remove_indicator(changes, action=action, indicator=found)
        else:
            milestone = milestone_of(action, child_id)
            await remove_milestone(changes, action=action, milestone=milestone)

    return await edit(
        session,
        references=references,
        caller=caller,
        action_id=action_id,
        if_match=if_match,
        operation=operation,
    )


# Helpers ---------------------------------------------------------------------------------------


def _next_position(rows: list[Any]) -> int:
    return max((r.position for r in rows), default=-1) + 1


def _new_line(payload: PlanLineWrite, *, position: int) -> PlanLine:
    return PlanLine(
        id=uuid.uuid4(),
        position=position,
        financer_code=payload.financer_code,
        financer_name=payload.financer_name,
        label=payload.label,
        amount_cents=payload.amount_cents,
        allocation_id=payload.allocation_id,
    )


def _new_indicator(payload: IndicatorWrite, *, position: int) -> Indicator:
    return Indicator(id=uuid.uuid4(), position=position, **payload.model_dump())


def _new_milestone(payload: MilestoneWrite, *, position: int) -> Milestone:
    return Milestone(id=uuid.uuid4(), position=position, **payload.model_dump())


def _owner_columns_of(action: Action) -> dict[str, str | None]:
    return {
        "owner_organisation_code": action.owner_organisation_code,
        "owner_name": action.owner_name,
        "owner_siren": action.owner_siren,
    }


def _owner_dict(columns: dict[str, str | None]) -> dict[str, str | None] | None:
    if not any(columns.values()):
        return None
    return {
        "organisation_code": columns["owner_organisation_code"],
        "name": columns["owner_name"],
        "siren": columns["owner_siren"],
    }
