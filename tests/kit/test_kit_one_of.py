"""`tdi_kit.schemas.one_of`: two fields of which a write gives exactly one, and the 422 message
each model that uses it has always given (the same words before and after it moved to the kit)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError, model_validator

from contracts.schemas.actions import Owner
from contracts.schemas.children import PlanLineWrite
from funding.schemas.disbursements import DisbursementRow
from tdi_kit.schemas import one_of


class _Either(BaseModel):
    a: str | None = None
    b: str | None = None

    @model_validator(mode="after")
    def _one(self) -> _Either:
        one_of(self, "a", "b")
        return self


def test_exactly_one_passes() -> None:
    assert _Either(a="x").a == "x"
    assert _Either(b="y").b == "y"


@pytest.mark.parametrize("values", [{}, {"a": "x", "b": "y"}])
def test_both_or_neither_refused_with_the_default_message(values: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match="give either a or b"):
        _Either(**values)


@pytest.mark.parametrize(
    ("model", "values", "message"),
    [
        (PlanLineWrite, {"amount_cents": 1}, "give either financer_code or financer_name"),
        (
            PlanLineWrite,
            {"amount_cents": 1, "financer_code": "bpifrance", "financer_name": "X"},
            "give either financer_code or financer_name",
        ),
        (Owner, {}, "give either organisation_code or name"),
        (
            DisbursementRow,
            {"amount_cents": 1},
            "give exactly one of allocation_id and allocation_reference",
        ),
    ],
)
def test_the_services_messages(model: type[BaseModel], values: dict, message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        model.model_validate(values)
    assert raised.value.errors()[0]["msg"] == f"Value error, {message}"
