"""The records an action holds (plan lines, indicators, milestones), in one table.

Each kind says its schemas, its model (an action keeps its rows under the kind's plural,
`action.plan_lines`...), who may edit them and what a change must keep true; one set of
operations (`add_child`, `update_child`, `remove_child`) serves the direct endpoints
(`service.post_child`, ...) and the amendments (`add_plan_line`, `update_indicator`, ...
changes) alike, so a rule holds on both paths.

Who may edit them (see `contracts.access`): a plan line, the State and the Régions, or the
operator that is its financer (before and after the change); an indicator, the State and the
Régions, or an operator that really finances the action; a milestone, the State and the Régions.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from contracts.actions import rules
from contracts.contracts.changes import ChangeSet
from contracts.models import Action, Indicator, Milestone, PlanLine
from contracts.references import References
from contracts.schemas import children as forms

Child = PlanLine | Indicator | Milestone


@dataclass(frozen=True)
class ChildKind:
    target: str  # in the history and in amendments' ops: `plan_line`, `add_plan_line`, ...
    model: type[Child]
    write: type[BaseModel]
    update: type[BaseModel]
    # Who may edit: raises Forbidden; given the row's financer (plan lines) as it stands.
    guard: Callable[[ChangeSet, Action, str | None], Awaitable[None]]
    # An amendment names the record `<field>` (added) or `<field>_id` (changed); None: `target`.
    field_name: str | None = None
    # What the record keeps of itself in the history when removed: by default, its label.
    summary: Callable[[Any], dict[str, Any]] = lambda row: {"label": row.label}
    # The registry checks of a new record, of the updates of one (which it may complete), and
    # what the action must hold after either.
    check_new: Callable[[References, Any], Awaitable[None]] = lambda references, payload: _none()
    prepare: Callable[[ChangeSet, Any, dict[str, Any], References], Awaitable[None]] = (
        lambda changes, row, updates, references: _none()
    )
    check: Callable[[Action, Any], None] = lambda action, row: None

    @property
    def noun(self) -> str:
        """In a 404: "plan line"."""
        return self.target.replace("_", " ")

    @property
    def field(self) -> str:
        return self.field_name or self.target

    def rows(self, action: Action) -> list[Any]:
        """Where the action keeps them: `action.plan_lines`, `action.indicators`, ..."""
        rows: list[Any] = getattr(action, f"{self.target}s")
        return rows

    def find(self, action: Action, child_id: uuid.UUID) -> Any | None:
        return next((row for row in self.rows(action) if row.id == child_id), None)


async def _none() -> None:
    return None


async def _plan_line_guard(changes: ChangeSet, action: Action, financer: str | None) -> None:
    changes.editor.require_financer(financer)


async def _indicator_guard(changes: ChangeSet, action: Action, financer: str | None) -> None:
    await changes.require_finances(action)


async def _milestone_guard(changes: ChangeSet, action: Action, financer: str | None) -> None:
    changes.editor.require_full(f"the milestones of action {action.code}")


async def _check_new_line(references: References, payload: forms.PlanLineWrite) -> None:
    await check_financer(references, payload.financer_code, field="financer_code")


async def _prepare_line(
    changes: ChangeSet, line: PlanLine, updates: dict[str, Any], references: References
) -> None:
    rules.one_financer(updates)
    await check_financer(references, updates.get("financer_code"), field="financer_code")
    # An operator may not hand its line to another financer.
    changes.editor.require_financer(updates.get("financer_code", line.financer_code))


def _check_line(action: Action, line: PlanLine) -> None:
    rules.check_has_financer(line.financer_code, line.financer_name)
    rules.check_plan(action, field="amount_cents")


PLAN_LINE = ChildKind(
    "plan_line",
    PlanLine,
    forms.PlanLineWrite,
    forms.PlanLineUpdate,
    _plan_line_guard,
    field_name="line",
    summary=lambda line: {
        "financer_code": line.financer_code,
        "financer_name": line.financer_name,
        "amount_cents": line.amount_cents,
    },
    check_new=_check_new_line,
    prepare=_prepare_line,
    check=_check_line,
)
INDICATOR = ChildKind(
    "indicator", Indicator, forms.IndicatorWrite, forms.IndicatorUpdate, _indicator_guard
)
MILESTONE = ChildKind(
    "milestone", Milestone, forms.MilestoneWrite, forms.MilestoneUpdate, _milestone_guard
)
KINDS = {kind.target: kind for kind in (PLAN_LINE, INDICATOR, MILESTONE)}


def new_row(kind: ChildKind, payload: BaseModel, *, position: int) -> Any:
    return kind.model(id=uuid.uuid4(), position=position, **payload.model_dump())


async def check_financer(references: References, code: str | None, *, field: str) -> None:
    """A financer named by its code is an organisation of the registry."""
    if code is not None:
        await references.require_organisation(code, location="body", field=field)


async def add_child(
    kind: ChildKind,
    changes: ChangeSet,
    *,
    action: Action,
    payload: BaseModel,
    references: References,
) -> Any:
    changes.permit(kind.target)
    financer = getattr(payload, "financer_code", None)
    await kind.guard(changes, action, financer)
    await kind.check_new(references, payload)
    rows = kind.rows(action)
    row = new_row(kind, payload, position=max((r.position for r in rows), default=-1) + 1)
    rows.append(row)
    kind.check(action, row)
    changes.add(kind.target, row.id, "add", action=action, after=payload)
    return row


async def update_child(
    kind: ChildKind,
    changes: ChangeSet,
    *,
    action: Action,
    row: Any,
    payload: BaseModel,
    references: References,
) -> None:
    fields = payload.model_fields_set
    changes.permit(kind.target, fields)
    await kind.guard(changes, action, getattr(row, "financer_code", None))
    updates = {
        name: getattr(payload, name) for name in type(payload).model_fields if name in fields
    }
    await kind.prepare(changes, row, updates, references)
    for name, value in updates.items():
        changes.set(kind.target, row, name, value, action=action)
    kind.check(action, row)


async def remove_child(kind: ChildKind, changes: ChangeSet, *, action: Action, row: Any) -> None:
    changes.permit(kind.target)
    await kind.guard(changes, action, getattr(row, "financer_code", None))
    changes.add(kind.target, row.id, "remove", action=action, before=kind.summary(row))
    kind.rows(action).remove(row)
