"""The contracts' partial updates (one `Update` base): null clears an optional field, and is
refused with a 422 message for the fields a record cannot lose, the same for every update."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from contracts.schemas import (
    ActionUpdate,
    ContractUpdate,
    IndicatorUpdate,
    MilestoneUpdate,
    PlanLineUpdate,
)

REFUSED = [
    (ActionUpdate, "code"),
    (ActionUpdate, "title"),
    (ActionUpdate, "themes"),
    (ActionUpdate, "status"),
    (ContractUpdate, "title"),
    (ContractUpdate, "enjeux"),
    (PlanLineUpdate, "amount_cents"),
    (IndicatorUpdate, "label"),
    (MilestoneUpdate, "label"),
]
CLEARED = [
    (ActionUpdate, "budget_cents"),
    (ContractUpdate, "notes"),
    (PlanLineUpdate, "label"),
    (IndicatorUpdate, "unit"),
    (MilestoneUpdate, "done_on"),
]


@pytest.mark.parametrize(("model", "name"), REFUSED)
def test_null_refused_where_a_record_needs_the_field(model: type[BaseModel], name: str) -> None:
    with pytest.raises(ValidationError) as raised:
        model.model_validate({name: None})
    assert raised.value.errors()[0]["msg"] == f"Value error, {name} cannot be null"


@pytest.mark.parametrize(("model", "name"), CLEARED)
def test_null_clears_an_optional_field(model: type[BaseModel], name: str) -> None:
    update = model.model_validate({name: None})
    assert update.model_dump(exclude_unset=True) == {name: None}


@pytest.mark.parametrize("model", sorted({m for m, _ in REFUSED}, key=lambda m: m.__name__))
def test_absent_fields_stay(model: type[BaseModel]) -> None:
    assert model.model_validate({}).model_dump(exclude_unset=True) == {}
