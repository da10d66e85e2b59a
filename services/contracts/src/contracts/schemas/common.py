"""What every contracts schema shares: the problems documented, codes, money, text, the closed
vocabularies and the base of writes (the generic pieces from tdi_kit.schemas)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from tdi_kit.app import problem_responses
from tdi_kit.pagination import CSV_RESPONSE
from tdi_kit.schemas import CodeName as CodeName
from tdi_kit.schemas import Name as Name
from tdi_kit.schemas import Title as Title
from tdi_kit.schemas import WriteModel
from tdi_kit.schemas import not_null as not_null
from tdi_kit.strings import text
from tdi_kit.vocabulary import ThemeCode

# Each read or write documents the problems it may answer, in this service's words.
_PROBLEMS = {
    403: "The token lacks the scope, or an operator's token reaches beyond what it finances.",
    404: "No such record.",
    409: "The contract's state forbids this (signed: use an amendment; closed; live elsewhere).",
    503: "The registry, which checks territories and organisations, cannot be reached.",
}
READ_ONE = problem_responses(304, 404, descriptions=_PROBLEMS)
# 200 is JSON, or CSV with `format=csv` / `Accept: text/csv`.
LIST = {**CSV_RESPONSE, **problem_responses(304, descriptions=_PROBLEMS)}
CREATE = problem_responses(401, 403, 404, 409, 412, 413, 503, descriptions=_PROBLEMS)
UPDATE = problem_responses(401, 403, 404, 409, 412, 413, 428, 503, descriptions=_PROBLEMS)
# The programme's one theme vocabulary, shared with the funding service's envelopes (tdi_kit).
Theme = ThemeCode
ActionCode = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$", examples=["FA-01"])]
# Text fields (tdi_kit.strings): single lines, except the prose of LongText (descriptions,
# notes, an amendment's reason); Name and Title are every service's (tdi_kit.schemas).
if TYPE_CHECKING:
    # `text()` builds its `Annotated` type at run time, which mypy cannot read: a str to mypy.
    LongText = str
    Enjeu = str
    Unit = str
else:
    LongText = text(10_000, min_length=0, multiline=True)
    Enjeu = text(500)
    Unit = text(40)
Year = Annotated[int, Field(ge=2018, le=2100)]
Cents = Annotated[
    int, Field(ge=0, le=10**15, description="Euro cents (integer).", examples=[600_000_000])
]
Measure = Annotated[float, Field(allow_inf_nan=False, ge=-1e15, le=1e15)]

ContractKind = Literal["protocole", "contrat"]
ContractStatus = Literal["draft", "signed", "in_progress", "closed", "cancelled"]
ActionStatus = Literal["idea", "planned", "in_progress", "done", "abandoned"]
Axis = Literal["recruter", "innover", "attirer", "simplifier"]
Priority = Literal["competences", "transition_ecologique", "innovation", "foncier"]
Role = Literal[
    "prefet",
    "president_region",
    "president_department",
    "president_epci",
    "operator",
    "industrialist",
    "partner",
]
Phase = Literal[1, 2]


class Write(WriteModel):
    pass


class Update(Write):
    """A partial update: absent fields stay as they are; null clears an optional field, and is
    refused (422, `<name> cannot be null`) for those in `not_null_fields`."""

    not_null_fields: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _not_null(self) -> Update:
        not_null(self, *self.not_null_fields)
        return self


# Names copied from the registry, its owner, when a write names the organisation (see
# contracts/contracts/organisations.py): shown beside the code, null where none is known yet.
REGISTRY_NAME = (
    "The registry's name of `{code}` as of the last write naming it; null without a code or "
    "while none is known."
)
