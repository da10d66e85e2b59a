"""What the funding API reads and writes. Models live in models.py; these are the contract."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from tdi_kit.app import problem_responses
from tdi_kit.identifiers import SLUG_PATTERN, OrganisationCode, Siren, TerritoryCode
from tdi_kit.strings import text

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


def _utc(value: dt.datetime) -> dt.datetime:
    # SQLite hands timestamps back without their zone; they were written in UTC.
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


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
# Text fields (tdi_kit.strings): single lines, except the prose of LongText.
if TYPE_CHECKING:
    # `text()` builds its `Annotated` type at run time, which mypy cannot read: a str to mypy.
    Name = str
    Title = str
    LongText = str
    Reference = str
    Reason = str
    SourceList = list[str]
else:
    Name = text(200)
    Title = text(300)
    LongText = text(20_000, min_length=0, multiline=True)
    Reference = text(100)
    Reason = text(500)
    SourceList = Annotated[list[text(500)], Field(max_length=50)]
Utc = Annotated[dt.datetime, AfterValidator(_utc)]
Day = Annotated[dt.date, Field(strict=False), BeforeValidator(_text_only)]
UuidText = Annotated[uuid.UUID, Field(strict=False), BeforeValidator(_text_only)]

Kind = Literal["equity", "engineering", "loan", "grant", "guarantee"]
KIND_LABELS = {
    "equity": "fonds propres",
    "engineering": "ingénierie",
    "loan": "prêt",
    "grant": "subvention",
    "guarantee": "garantie",
}
# The closed vocabulary of themes. The first ten are those of the programme's conventions;
# the last four name what the later envelopes fund.
Theme = Literal[
    "foncier",
    "immobilier-industriel",
    "reconversion-de-friches",
    "numerique",
    "ecologie-industrielle",
    "transports-et-mobilite",
    "competences-et-recrutement",
    "innovation",
    "transition-ecologique",
    "export",
    "investissement-productif",
    "ingenierie",
    "animation-territoriale",
    "attractivite",
]
AllocationStatus = Literal[
    "proposed", "committed", "partly_disbursed", "fully_disbursed", "cancelled"
]
LedgerKind = Literal["endowment", "commitment", "disbursement", "release"]

# Who puts money in. The collective funders are no single organisation of the registry (the
# State's budget, the Régions together when the record gives no split per Région); any other
# funder is an organisation code of the registry (`banque-des-territoires`, `region-84`).
COLLECTIVE_FUNDERS = {
    "etat": "État",
    "regions": "Régions (ensemble, sans répartition publiée)",
    "union-europeenne": "Union européenne",
    "intercommunalites": "Intercommunalités",
}
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
MEASURE_LABELS = {
    "announced": "annoncé",
    "engaged": "engagé",
    "committed": "attribué (engagement juridique)",
    "disbursed": "décaissé",
    "projects": "projets",
}


class Model(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Write(BaseModel):
    """What clients send: unknown fields and loosely typed values are refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


# Conventions


class ConventionCreate(Write):
    code: Code
    operator_code: OrganisationCode
    title: Title
    signed_on: Day | None = None
    place: Name | None = None
    period_start: Day | None = None
    period_end: Day | None = None
    commitments: LongText = ""
    documents: SourceList = Field(default_factory=list, description="References of the texts.")
    sources: SourceList = Field(default_factory=list, description="Where the facts come from.")

    @model_validator(mode="after")
    def _period(self) -> ConventionCreate:
        if self.period_start and self.period_end and self.period_start > self.period_end:
            raise ValueError("period_start is after period_end")
        return self


class ConventionUpdate(Write):
    """Fields to change; absent fields stay as they are."""

    title: Title | None = None
    signed_on: Day | None = None
    place: Name | None = None
    period_start: Day | None = None
    period_end: Day | None = None
    commitments: LongText | None = None
    documents: SourceList | None = None
    sources: SourceList | None = None


class ConventionRead(Model):
    code: str
    operator_code: str
    title: str
    signed_on: dt.date | None
    place: str | None
    period_start: dt.date | None
    period_end: dt.date | None
    commitments: str
    documents: list[str]
    sources: list[str]
    is_demo: bool
    version: int
    created_at: Utc
    updated_at: Utc


# Envelopes and tranches


class Rules(BaseModel):
    """An envelope's award rules; null where it has none. Checked on every allocation."""

    model_config = ConfigDict(extra="forbid", from_attributes=True, strict=True)

    max_rate_percent: Annotated[int, Field(ge=1, le=100)] | None = Field(
        default=None, description="Highest share of the eligible spending the envelope pays."
    )
    cap_per_project_cents: OptionalCents = None
    cap_waivable: bool = Field(
        default=False, description="The cap may be waived by a decision named in `cap_waiver`."
    )
    min_eligible_spending_cents: OptionalCents = None
    examined_by: OrganisationCode | None = Field(
        default=None, description="Who examines applications; may record allocations too."
    )
    text: LongText = ""


class TrancheCreate(Write):
    year: Year
    amount_cents: Annotated[int, Field(ge=0, le=MAX_CENTS)]
    note: LongText = ""
    last_year: Year | None = Field(
        default=None,
        description="Where no annual split is published: the last year the amount covers "
        "(the tranche is then the period `year`-`last_year`, never one year).",
    )
    funder_code: FunderCode | None = Field(
        default=None, description="Who puts the amount in; null where the record does not say."
    )

    @model_validator(mode="after")
    def _period(self) -> TrancheCreate:
        if self.last_year is not None and self.last_year <= self.year:
            raise ValueError("last_year must be after year (leave it out for one year)")
        return self


class TrancheRead(BaseModel):
    year: int
    last_year: int | None = Field(
        default=None, description="Set when the amount covers year-last_year (no annual split)."
    )
    note: str
    amount_cents: int
    committed_cents: int
    disbursed_cents: int
    available_cents: int = Field(description="amount - committed: what can still be committed.")


class Adjustment(Write):
    """A top-up (positive) or a cut (negative, never below what is committed)."""

    delta_cents: Annotated[int, Field(ge=-MAX_CENTS, le=MAX_CENTS)]
    effective_on: Day | None = None
    funder_code: FunderCode | None = Field(
        default=None, description="Who puts the top-up in (or whose share is cut)."
    )
    reason: Reason

    @model_validator(mode="after")
    def _not_zero(self) -> Adjustment:
        if self.delta_cents == 0:
            raise ValueError("delta_cents must not be 0")
        return self


class EnvelopeCreate(Write):
    code: Code
    operator_code: OrganisationCode = Field(description="Who manages the envelope.")
    convention_code: Code | None = None
    part_of: Code | None = Field(
        default=None,
        description="The envelope whose money this one is part of: its amount is carved out "
        "of the parent's, never added to it.",
    )
    name: Title
    kind: Kind
    themes: Annotated[list[Theme], Field(max_length=14)] = Field(default_factory=list)
    description: LongText = ""
    start_year: Year
    end_year: Year
    tranches: Annotated[list[TrancheCreate], Field(max_length=101)] = Field(default_factory=list)
    rules: Rules = Field(default_factory=Rules)
    sources: SourceList = Field(default_factory=list)

    @model_validator(mode="after")
    def _years(self) -> EnvelopeCreate:
        if self.start_year > self.end_year:
            raise ValueError("start_year is after end_year")
        return self


class EnvelopeUpdate(Write):
    """Fields to change; absent fields stay as they are. Tranches change through their own
    endpoints, so that every change of money is a ledger entry."""

    name: Title | None = None
    convention_code: Code | None = None
    part_of: Code | None = None
    themes: Annotated[list[Theme], Field(max_length=14)] | None = None
    description: LongText | None = None
    start_year: Year | None = None
    end_year: Year | None = None
    rules: Rules | None = None
    sources: SourceList | None = None


class Totals(BaseModel):
    """Recorded here: the ledger's sums (endowments, and what operators pushed)."""

    amount_cents: int
    committed_cents: int
    disbursed_cents: int
    available_cents: int


class FunderShare(BaseModel):
    """What one funder put into an envelope (its endowments, net of cuts)."""

    funder_code: str | None = Field(description="Null: the public record does not say who.")
    funder_label: str
    amount_cents: int


class ReportedFigureRead(Model):
    """A figure of the public record: what a source said, as of a date. Never summed with the
    ledger's recorded figures."""

    code: str
    label: str
    measure: Measure
    measure_label: str
    value_cents: int | None = Field(description="Euro cents; null for a count of projects.")
    count: int | None = Field(description="For `projects`; null for money.")
    as_of: str | None = Field(
        description="ISO 8601 at the source's precision (`2019-09-24`, `2024`); null if none."
    )
    envelope_code: str | None = Field(description="The envelope it is about, if one.")
    convention_code: str | None = Field(
        description="The convention it is about (all its envelopes), if one."
    )
    operator_code: str | None = Field(description="The operator it is about, if one.")
    scope: Literal["envelope", "convention", "operator", "programme"]
    source_title: str
    source_url: str | None = Field(description="Null where the source is known by title only.")
    caveat: str
    is_demo: bool


class Reported(BaseModel):
    """The public record's latest figure per measure; null where nobody published one."""

    engaged: ReportedFigureRead | None
    committed: ReportedFigureRead | None
    disbursed: ReportedFigureRead | None
    figures: list[ReportedFigureRead]


class EnvelopeRead(BaseModel):
    code: str
    operator_code: str = Field(description="Who manages it (`rules.examined_by` examines).")
    convention_code: str | None
    part_of: str | None = Field(description="The envelope whose money this one is part of.")
    parts: list[str] = Field(description="The envelopes that are part of this one.")
    name: str
    kind: Kind
    themes: list[str]
    description: str
    start_year: int
    end_year: int
    rules: Rules
    sources: list[str]
    tranches: list[TrancheRead]
    totals: Totals = Field(description="Recorded here: the ledger's sums.")
    funders: list[FunderShare] = Field(
        description="Who put the amount in; they sum to `totals.amount_cents`."
    )
    reported: Reported = Field(description="Reported in the public record, apart from `totals`.")
    is_demo: bool
    version: int
    created_at: Utc
    updated_at: Utc


# Allocations and disbursements


class AllocationFields(Write):
    territory_code: TerritoryCode
    action_id: UuidText | None = Field(
        default=None, description="A fiche-action of the contracts service."
    )
    title: Title = Field(description="The project.")
    beneficiary_name: Name
    beneficiary_siren: Siren | None = None
    reference: Reference | None = Field(
        default=None, description="The operator's own reference: unique per operator."
    )
    amount_cents: Cents
    eligible_spending_cents: OptionalCents = Field(
        default=None, description="The project's eligible spending, for the rate and minimum."
    )
    cap_waiver: Name | None = Field(
        default=None, description="The decision waiving the envelope's cap, where it may be."
    )
    decision_date: Day | None = None


class AllocationCreate(AllocationFields):
    envelope_code: Code
    year: Year = Field(description="The tranche's year.")
    status: Literal["proposed", "committed"] = Field(
        default="proposed", description="`committed` commits at once (409 if the tranche lacks)."
    )


class AllocationUpdate(Write):
    """A proposed allocation's fields; absent fields stay as they are."""

    territory_code: TerritoryCode | None = None
    action_id: UuidText | None = None
    title: Title | None = None
    beneficiary_name: Name | None = None
    beneficiary_siren: Siren | None = None
    reference: Reference | None = None
    amount_cents: Cents | None = None
    eligible_spending_cents: OptionalCents = None
    cap_waiver: Name | None = None
    decision_date: Day | None = None


class Cancellation(Write):
    reason: Reason


class AllocationRead(Model):
    id: uuid.UUID
    envelope_code: str
    year: int
    operator_code: str
    territory_code: str
    region_codes: list[str]
    action_id: uuid.UUID | None
    title: str
    beneficiary_name: str
    beneficiary_siren: str | None
    reference: str | None
    amount_cents: int
    eligible_spending_cents: int | None
    cap_waiver: str | None
    decision_date: dt.date | None
    status: AllocationStatus
    disbursed_cents: int
    released_cents: int = Field(description="Given back to the tranche by a cancellation.")
    undisbursed_cents: int = Field(description="Committed and not yet disbursed.")
    cancel_reason: str | None
    is_demo: bool
    version: int
    created_at: Utc
    updated_at: Utc
    committed_at: Utc | None
    cancelled_at: Utc | None


class DisbursementCreate(Write):
    amount_cents: Cents
    paid_on: Day | None = None
    reference: Reference | None = None


class DisbursementRow(DisbursementCreate):
    """A disbursement in a bulk push: the allocation by id or by the operator's reference."""

    allocation_id: UuidText | None = None
    allocation_reference: Reference | None = None

    @model_validator(mode="after")
    def _one_allocation(self) -> DisbursementRow:
        if (self.allocation_id is None) == (self.allocation_reference is None):
            raise ValueError("give exactly one of allocation_id and allocation_reference")
        return self


class DisbursementRead(Model):
    id: uuid.UUID
    allocation_id: uuid.UUID
    amount_cents: int
    paid_on: dt.date | None
    reference: str | None
    is_demo: bool
    created_at: Utc


class RowProblem(BaseModel):
    """Why one row of a bulk push was refused."""

    row: int = Field(description="1-based position among the pushed rows (CSV: after the header).")
    status: int = Field(description="What the row would have got on its own: 403, 404, 409, 422.")
    detail: str
    errors: list[dict[str, str]] = Field(default_factory=list)


class BulkResult(BaseModel):
    created: int
    ids: list[uuid.UUID]


# Balances and ledger

Dimension = Literal[
    "envelope", "tranche", "operator", "funder", "year", "theme", "territory", "region"
]


class BalanceRead(BaseModel):
    """Sums of the ledger for one group. `amount_cents` and `available_cents` are null when
    grouped by territory or region (envelopes are not split by territory in advance);
    `committed_cents` and `disbursed_cents` are null when grouped by funder (an allocation
    draws on the envelope, not on one funder's share)."""

    envelope_code: str | None = None
    year: int | None = Field(
        default=None, description="The year; null for money of a multi-year `period`."
    )
    period: str | None = Field(
        default=None, description="`2024`, or `2023-2026` for money with no annual split."
    )
    operator_code: str | None = None
    funder_code: str | None = Field(
        default=None, description="Null under `by=funder`: the record does not name the funder."
    )
    funder_label: str | None = None
    theme: str | None = Field(
        default=None, description="The envelope's theme set, comma-separated, counted once."
    )
    themes: list[str] | None = None
    territory_code: str | None = None
    region_code: str | None = None
    amount_cents: int | None
    committed_cents: int | None
    disbursed_cents: int | None
    undisbursed_cents: int | None = Field(description="committed - disbursed.")
    available_cents: int | None


class Overlap(BaseModel):
    """Items of a breakdown that share money, and why: their sum exceeds the total."""

    dimension: Dimension
    items: list[str]
    why: str


class BalanceReport(BaseModel):
    by: list[Dimension]
    include_demo: bool = Field(description="Whether demo movements are counted.")
    items: list[BalanceRead] = Field(
        description="They sum to `totals`, column by column, unless `overlaps` says otherwise."
    )
    totals: BalanceRead = Field(description="All the matching movements, each euro once.")
    overlaps: list[Overlap]
    notes: list[str] = Field(description="How the figures were counted.")
    reported: list[ReportedFigureRead] = Field(
        description="Figures of the public record within the filters: reported, not recorded "
        "here, and never added to the figures above."
    )


class BalanceBreakdowns(BaseModel):
    """The money of a dashboard: one report per breakdown, each summing to `totals`."""

    include_demo: bool = Field(description="Whether demo movements are counted.")
    by_operator: list[BalanceRead]
    by_funder: list[BalanceRead] = Field(description="Amounts only (see `notes`).")
    by_theme: list[BalanceRead]
    by_year: list[BalanceRead]
    by_envelope: list[BalanceRead]
    totals: BalanceRead = Field(description="All the matching movements, each euro once.")
    notes: list[str] = Field(description="How the figures were counted.")
    reported: list[ReportedFigureRead] = Field(
        description="Figures of the public record within the filters: reported, not recorded "
        "here, and never added to the figures above."
    )


class LedgerEntryRead(Model):
    id: int
    kind: LedgerKind
    at: Utc
    effective_on: dt.date | None
    actor: str
    actor_org: str | None
    request_id: str | None
    envelope_code: str
    year: int
    operator_code: str
    allocation_id: uuid.UUID | None
    disbursement_id: uuid.UUID | None
    territory_code: str | None
    funder_code: str | None = Field(
        description="Who put the money of an endowment in; null on other movements."
    )
    amount_delta_cents: int
    committed_delta_cents: int
    disbursed_delta_cents: int
    note: str
    is_demo: bool
