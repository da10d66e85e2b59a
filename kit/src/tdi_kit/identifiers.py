"""French public identifiers, validated once at the edge: SIREN (with its Luhn key) and INSEE."""

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
