"""French public identifiers and the programme's codes, validated once at the edge.

One `Annotated` type each, with its pattern (and, for a SIREN, its Luhn key): schemas, query
and path parameters of every service use these, never a copy of the pattern. In a query or a
path, add the parameter's own `Query(...)`/`Path(...)` beside the type:
`Annotated[TerritoryCode | None, Query(description="...")]`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _check_siren(value: str) -> str:
    if not luhn_valid(value):
        raise ValueError("not a SIREN: its check digit (Luhn key) is wrong")
    return value


TERRITORY_CODE_PATTERN = r"^(ti-\d{4}|\d{4})$"
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{1,63}$"
REGION_CODE_PATTERN = r"^\d{2}$"
DEPARTMENT_CODE_PATTERN = r"^(\d{2,3}|2[AB])$"

Siren = Annotated[
    str,
    Field(pattern=r"^\d{9}$", examples=["200070928"], description="SIREN: 9 digits, Luhn key."),
    AfterValidator(_check_siren),
]

Insee = Annotated[
    str,
    Field(
        pattern=r"^(\d{5}|2[AB]\d{3})$",
        examples=["25388"],
        description="INSEE commune code (Corsica: 2A/2B).",
    ),
]

# Phase 1 codes are the region code and a sequence number (`8401`); phase 2 codes are the ANCT's
# `ti-` codes (`ti-8402`). They collide by design: `8402` is not `ti-8402`.
TerritoryCode = Annotated[
    str,
    Field(
        pattern=TERRITORY_CODE_PATTERN,
        examples=["ti-2708"],
        description="A territory code of the registry (phase 1: `2707`, phase 2: `ti-2708`).",
    ),
]

# An organisation of the registry (operator, financer, signatory): a lowercase slug. Other
# stable codes of the suite (envelopes, conventions) are slugs of the same shape.
OrganisationCode = Annotated[
    str,
    Field(
        pattern=SLUG_PATTERN,
        examples=["bpifrance"],
        description="An organisation code of the registry.",
    ),
]

RegionCode = Annotated[str, Field(pattern=REGION_CODE_PATTERN, examples=["27"])]
DepartmentCode = Annotated[str, Field(pattern=DEPARTMENT_CODE_PATTERN, examples=["25"])]
