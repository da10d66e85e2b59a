"""The examples the OpenAPI documents show are whole, valid answers of their schema: every field
there (a client generated from the document reads them as real answers), each value one the
model accepts. A field added to a read model without its example fails here."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from contracts.schemas import ContractRead, Counts
from funding.schemas import EnvelopeRead
from registry.schemas import OutlineFeature, TerritoryCounts, TerritoryRead
from tdi_kit.errors import ProblemRead

EXAMPLED = [
    ContractRead,
    Counts,
    EnvelopeRead,
    TerritoryRead,
    TerritoryCounts,
    OutlineFeature,
    ProblemRead,
]


def examples(model: type[BaseModel]) -> list[dict[str, Any]]:
    extra = model.model_config.get("json_schema_extra")
    assert isinstance(extra, dict), f"{model.__name__} shows no example"
    found: list[dict[str, Any]] = extra["examples"]
    return found


@pytest.mark.parametrize("model", EXAMPLED, ids=lambda m: m.__name__)
def test_each_example_is_a_whole_answer_the_model_accepts(model: type[BaseModel]) -> None:
    for example in examples(model):
        model.model_validate_json(model.model_validate(example).model_dump_json())
        if model is not ProblemRead:  # a problem's members beyond the five are optional
            assert set(example) == set(model.model_fields), model.__name__


@pytest.mark.parametrize("model", EXAMPLED, ids=lambda m: m.__name__)
def test_the_example_is_in_the_documented_schema(model: type[BaseModel]) -> None:
    assert model.model_json_schema()["examples"] == examples(model)
