"""The programme's rules for fiches-actions, apart from the requests that apply them.

Pure functions over loaded records: no session, no HTTP. The direct endpoints (a draft, edited
freely), the amendments (a signed contract) and the seeds reach them through the same
operations (`service.add_action`, `children.add_child`, ...), so each rule holds on every path:
phase 1 speaks of axes and phase 2 of priorities, a co-financing plan never exceeds the budget,
a plan line has exactly one financer, and an organisation finances an action through a plan
line of its own with a positive amount (else through an allocation the funding service records,
which `access.Editor` asks about).
"""

from __future__ import annotations

from typing import Any

from contracts.models import Action
from contracts.schemas import Owner
from tdi_kit.errors import Unprocessable

OWNER_COLUMNS = ("owner_organisation_code", "owner_name", "owner_siren")


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


def one_financer(updates: dict[str, Any]) -> dict[str, Any]:
    """A plan line has exactly one financer: naming one kind replaces the other."""
    if updates.get("financer_code") is not None:
        if updates.get("financer_name") is not None:
            raise Unprocessable.field(
                "body", "financer_name", "give financer_code or financer_name"
            )
        updates["financer_name"] = None
    elif updates.get("financer_name") is not None:
        updates["financer_code"] = None
    return updates


def check_has_financer(financer_code: str | None, financer_name: str | None) -> None:
    if financer_code is None and financer_name is None:
        raise Unprocessable.field("body", "financer_code", "a plan line needs a financer")


def finances_by_plan(action: Action, org: str) -> bool:
    """`org` finances the action through a plan line of its own with a positive amount (a zero
    line gives it nothing), as the action stands in the change set."""
    return any(line.financer_code == org and line.amount_cents > 0 for line in action.plan_lines)


def owner_columns(owner: Owner | None) -> dict[str, str | None]:
    return {
        "owner_organisation_code": owner.organisation_code if owner else None,
        "owner_name": owner.name if owner else None,
        "owner_siren": owner.siren if owner else None,
    }


def owner_columns_of(action: Action) -> dict[str, str | None]:
    return {name: getattr(action, name) for name in OWNER_COLUMNS}


def owner_dict(columns: dict[str, str | None]) -> dict[str, str | None] | None:
    """The owner as the API writes it in the history (None when there is none)."""
    if not any(columns.values()):
        return None
    return {
        "organisation_code": columns["owner_organisation_code"],
        "name": columns["owner_name"],
        "siren": columns["owner_siren"],
    }
