"""The programme's vocabularies: every code the API uses, with its French label and description.

This is reference data of the programme, not domain logic: one file, `vocabularies.json`, read
once. It lives in the kit because two services share its themes (funding's envelopes and
contracts' actions must speak one vocabulary, and services never import each other) and every
app labels its codes from it; the gateway serves it whole at `GET /api/v1/vocabularies`. Each
service still owns which codes it accepts (its schemas' `Literal`s); a test checks that every
enum value of every OpenAPI document has a label here.

Themes are validated here (`ThemeCode`): a retired code names its replacement, so that an
operator's system still sending `reconversion-de-friches` learns to send `friche`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Annotated, Any

from pydantic import AfterValidator, Field, WithJsonSchema


@dataclass(frozen=True)
class Term:
    code: str
    label: str
    description: str
    replaced_by: str | None = None


@dataclass(frozen=True)
class Vocabulary:
    name: str
    label: str
    description: str
    terms: tuple[Term, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        """The codes in use (retired ones left out)."""
        return tuple(t.code for t in self.terms if t.replaced_by is None)

    def labels(self) -> dict[str, str]:
        """Every code (retired ones too, for records written before) to its label."""
        return {t.code: t.label for t in self.terms}

    def term(self, code: str) -> Term | None:
        return next((t for t in self.terms if t.code == code), None)


@cache
def vocabularies() -> dict[str, Vocabulary]:
    raw: dict[str, Any] = json.loads(
        resources.files(__package__).joinpath("vocabularies.json").read_text("utf-8")
    )
    return {
        name: Vocabulary(
            name=name,
            label=body["label"],
            description=body["description"],
            terms=tuple(Term(**term) for term in body["terms"]),
        )
        for name, body in raw.items()
    }


def vocabulary(name: str) -> Vocabulary:
    return vocabularies()[name]


def labels(name: str) -> dict[str, str]:
    """`labels("envelope_kinds")["equity"]` → `fonds propres`."""
    return vocabulary(name).labels()


def label(name: str, code: str) -> str | None:
    return labels(name).get(code)


def check_theme(code: str) -> str:
    """A theme in use, or a ValueError saying what to send instead (422 naming the field)."""
    term = vocabulary("themes").term(code)
    if term is None:
        raise ValueError(f"unknown theme {code!r}: see GET /api/v1/vocabularies (themes)")
    if term.replaced_by is not None:
        raise ValueError(f"theme {code!r} is retired: send {term.replaced_by!r}")
    return code


THEMES = vocabulary("themes").codes
# A theme of the programme's vocabulary. Typed as an enum in the OpenAPI (clients get a union of
# the codes), checked by hand so that a retired code gets a message naming its replacement.
ThemeCode = Annotated[
    str,
    AfterValidator(check_theme),
    WithJsonSchema(
        {
            "type": "string",
            "enum": list(THEMES),
            "description": "A theme of the programme (`GET /api/v1/vocabularies`, `themes`).",
        }
    ),
    Field(examples=["friche"]),
]
