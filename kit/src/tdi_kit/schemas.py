"""Pieces every service's schemas are built from: the bases of reads and writes, the common text
fields, a code with its name, the examples of a read model.

Generic only: what a field means belongs to the service that declares it. None of these adds
anything to a model's JSON Schema of its own (a base's configuration is not part of the schema,
and its docstring is not inherited), so a service moving onto them keeps its OpenAPI document
byte for byte.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from tdi_kit.strings import text

if TYPE_CHECKING:
    # `text()` builds its `Annotated` type at run time, which mypy cannot read: a str to mypy.
    Name = str
    Title = str
else:
    # A name (of a person, an organisation, a financer...) and a title (of an act, a project):
    # single lines of printable text, trimmed (tdi_kit.strings).
    Name = text(200)
    Title = text(300)


class ReadModel(BaseModel):
    """A read: built from the records (`from_attributes`) as well as from dicts."""

    model_config = ConfigDict(from_attributes=True)


class WriteModel(BaseModel):
    """What clients send: an unknown field is refused (a 422 naming it), never ignored."""

    model_config = ConfigDict(extra="forbid")


class StrictWriteModel(BaseModel):
    """A write whose values are not coerced either: an integer is not a string, nor a boolean an
    integer (text-carried dates and UUIDs are the fields' own business)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class CodeName(ReadModel):
    code: str
    name: str


def examples(*documents: dict[str, Any]) -> ConfigDict:
    """A read model's configuration giving whole examples of its JSON (OpenAPI `examples`);
    a test checks each against the model it illustrates."""
    return ConfigDict(json_schema_extra={"examples": list(documents)})


def not_null(model: BaseModel, *names: str) -> None:
    """Fields an update may leave out but not clear: raises ValueError (a 422 in a validator)
    for any of `names` given as null."""
    for name in names:
        if name in model.model_fields_set and getattr(model, name) is None:
            raise ValueError(f"{name} cannot be null")


def one_of(model: BaseModel, first: str, second: str, message: str | None = None) -> None:
    """Two fields of which a write gives exactly one (an organisation by code, or a name):
    raises ValueError (a 422 in a validator) with `message`, by default "give either <first>
    or <second>", when both or neither are given."""
    if (getattr(model, first) is None) == (getattr(model, second) is None):
        raise ValueError(message or f"give either {first} or {second}")
