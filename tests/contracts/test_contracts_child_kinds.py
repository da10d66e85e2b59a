"""The table of an action's child kinds: what each says by default is what it said in full
before (the noun of a 404, the name an amendment gives the record, where the rows live, what a
removal keeps in the history)."""

from __future__ import annotations

import types

import pytest

from contracts.actions.children import INDICATOR, KINDS, MILESTONE, PLAN_LINE, ChildKind
from contracts.schemas import (
    IndicatorUpdate,
    IndicatorWrite,
    MilestoneUpdate,
    MilestoneWrite,
    PlanLineUpdate,
    PlanLineWrite,
)


@pytest.mark.parametrize(
    ("kind", "noun", "field", "rows", "write", "update"),
    [
        (PLAN_LINE, "plan line", "line", "plan_lines", PlanLineWrite, PlanLineUpdate),
        (INDICATOR, "indicator", "indicator", "indicators", IndicatorWrite, IndicatorUpdate),
        (MILESTONE, "milestone", "milestone", "milestones", MilestoneWrite, MilestoneUpdate),
    ],
)
def test_each_kind(
    kind: ChildKind, noun: str, field: str, rows: str, write: type, update: type
) -> None:
    assert KINDS[kind.target] is kind
    assert (kind.noun, kind.field, kind.write, kind.update) == (noun, field, write, update)
    held: list[object] = []
    action = types.SimpleNamespace(**{rows: held})
    assert kind.rows(action) is held  # type: ignore[arg-type]


def test_what_a_removal_keeps() -> None:
    row = types.SimpleNamespace(
        label="Emplois", financer_code="bpifrance", financer_name=None, amount_cents=5
    )
    assert INDICATOR.summary(row) == {"label": "Emplois"}
    assert MILESTONE.summary(row) == {"label": "Emplois"}
    assert PLAN_LINE.summary(row) == {
        "financer_code": "bpifrance",
        "financer_name": None,
        "amount_cents": 5,
    }
