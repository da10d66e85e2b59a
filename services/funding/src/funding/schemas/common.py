"""What every funding schema shares: the problems documented, money, codes, dates, text, and the
closed vocabularies."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BeforeValidator, Field

from tdi_kit.app import problem_responses
from tdi_kit.clock import Timestamp
from tdi_kit.identifiers import SLUG_PATTERN
from tdi_kit.schemas import CodeName as BaseCodeName
from tdi_kit.schemas import Name as Name
from tdi_kit.schemas import ReadModel, StrictWriteModel
from tdi_kit.schemas import Title as Title
from tdi_kit.strings import text
from tdi_kit.vocabulary import ThemeCode, labels

# Every router documents these, so that clients generated from the OpenAPI know each problem.
PROBLEMS = problem_responses(
    401,
    403,
    404,
    409,
    412,
    413,
    415,
    428,
    503,
    descriptions={
        401: "A write without a valid bearer token (or the ledger read without one).",
        403: "The token lacks `funding:write`, or the record is another operator's.",
        404: "No such record, or a proposed allocation of another operator.",
        409: "The money is not there (over-commitment, over-disbursement) or the state "
        "forbids it; a duplicate.",
        412: "If-Match names an older version of the record.",
        413: "The body is over the size limit.",
        415: "A bulk push that is neither JSON nor CSV.",
        428: "If-Match is missing on a change to an existing record.",
        503: "The registry or the contracts service cannot be reached; nothing stored.",
    },
)

# 1,000 Md€: far above any envelope of the programme, far below what a BIGINT sum can hold.
MAX_CENTS = 100_000_000_000_000
MAX_BULK_ROWS = 10_000


def _text_only(value: object) -> object:
    # Writes are validated strictly (an integer is not a string, nor a boolean an integer), but
    # JSON carries dates and UUIDs as text: accept the text, and the objects Python callers pass.
    if isinstance(value, str | dt.date | uuid.UUID):
        return value
    raise ValueError("expected a string")


Code = Annotated[
    str,
    Field(
        pattern=SLUG_PATTERN,
        examples=["bdt-fonds-propres-2019-2022"],
        description="A stable lowercase code.",
    ),
]
Year = Annotated[int, Field(ge=2000, le=2100, examples=[2024])]
Cents = Annotated[int, Field(ge=1, le=MAX_CENTS, description="Euro cents.")]
OptionalCents = Annotated[int, Field(ge=0, le=MAX_CENTS, description="Euro cents.")] | None
# Text fields (tdi_kit.strings): single lines, except the prose of LongText; Name and Title are
# every service's (tdi_kit.schemas).
if TYPE_CHECKING:
    # `text()` builds its `Annotated` type at run time, which mypy cannot read: a str to mypy.
    LongText = str
    Reference = str
    Reason = str
    SourceList = list[str]
else:
    LongText = text(20_000, min_length=0, multiline=True)
    Reference = text(100)
    Reason = text(500)
    SourceList = Annotated[list[text(500)], Field(max_length=50)]
Utc = Timestamp
Day = Annotated[dt.date, Field(strict=False), BeforeValidator(_text_only)]
UuidText = Annotated[uuid.UUID, Field(strict=False), BeforeValidator(_text_only)]

Kind = Literal["equity", "engineering", "loan", "grant", "guarantee"]
KIND_LABELS = labels("envelope_kinds")
# The programme's one theme vocabulary, shared with the contracts service's actions (tdi_kit).
Theme = ThemeCode
AllocationStatus = Literal[
    "proposed", "committed", "partly_disbursed", "fully_disbursed", "cancelled"
]
LedgerKind = Literal["endowment", "commitment", "disbursement", "release"]

# Who puts money in. The collective funders are no single organisation of the registry (the
# State's budget, the Régions together when the record gives no split per Région); any other
# funder is an organisation code of the registry (`banque-des-territoires`, `region-84`).
COLLECTIVE_FUNDERS = labels("collective_funders")
FunderCode = Annotated[
    str,
    Field(
        pattern=SLUG_PATTERN,
        examples=["etat", "regions", "banque-des-territoires"],
        description="Who puts the money in: `etat`, `regions`, `union-europeenne`, "
        "`intercommunalites`, or an organisation code of the registry.",
    ),
]
Measure = Literal["announced", "engaged", "committed", "disbursed", "projects"]
MEASURE_LABELS = labels("reported_measures")


class Model(ReadModel):
    pass


class Write(StrictWriteModel):
    pass


class CodeName(BaseCodeName):
    """A code and the name shown beside it (a Région's, as on the registry's territories)."""
