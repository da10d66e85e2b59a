"""HTTP for envelopes and their tranches."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from funding.access import Writer
from funding.envelopes import reads, service
from funding.pages import PAGES
from funding.references import OwnersDep
from funding.schemas import (
    PROBLEMS,
    Adjustment,
    Code,
    EnvelopeCreate,
    EnvelopeRead,
    EnvelopeUpdate,
    Kind,
    OrganisationCode,
    Theme,
    TrancheCreate,
    TrancheRead,
)
from funding.schemas.paths import CodePath, DemoFilter, YearPath
from tdi_kit.conditional import IfMatch
from tdi_kit.db import SessionDep
from tdi_kit.documents import read_response, write_response
from tdi_kit.listing import ListingDep
from tdi_kit.pagination import CSV_RESPONSE, Page
from tdi_kit.rowreader import RowsDep

router = APIRouter(tags=["envelopes"], responses=PROBLEMS)
CSV_COLUMNS = [
    "code",
    "operator_code",
    "convention_code",
    "part_of",
    "name",
    "kind",
    "themes",
    "start_year",
    "end_year",
    "amount_cents",
    "committed_cents",
    "disbursed_cents",
    "available_cents",
    "max_rate_percent",
    "cap_per_project_cents",
    "min_eligible_spending_cents",
    "examined_by",
    "is_demo",
]


def _csv_row(envelope: EnvelopeRead) -> dict[str, Any]:
    return {
        **envelope.model_dump(
            exclude={"rules", "totals", "tranches", "funders", "reported", "parts"}
        ),
        **envelope.totals.model_dump(),
        **envelope.rules.model_dump(exclude={"text", "cap_waivable"}),
    }


@router.get("/envelopes", response_model=Page[EnvelopeRead], responses=CSV_RESPONSE)
async def list_envelopes(
    listing: ListingDep,
    rows: RowsDep,
    operator: Annotated[OrganisationCode | None, Query()] = None,
    kind: Annotated[Kind | None, Query()] = None,
    theme: Annotated[Theme | None, Query()] = None,
    year: Annotated[
        int | None, Query(ge=2000, le=2100, description="Envelopes whose period holds this year.")
    ] = None,
    convention: Annotated[Code | None, Query()] = None,
    part_of: Annotated[
        Code | None, Query(description="The envelopes that are part of this one.")
    ] = None,
    is_demo: DemoFilter = None,
) -> Any:
    """Envelopes with their tranches and figures; sort on `code`, `name`, `start_year`,
    `operator`."""
    filters: dict[str, object] = {
        "operator": operator,
        "kind": kind,
        "theme": theme,
        "year": year,
        "convention": convention,
        "part_of": part_of,
        "is_demo": is_demo,
    }

    async def build() -> Any:
        found = await service.envelopes(rows, params=listing.params, filters=filters)
        return listing.page(
            found, model=EnvelopeRead, filename="envelopes", columns=CSV_COLUMNS, row=_csv_row
        )

    return await PAGES.answer(rows, listing.request, listing.params, build)


@router.get("/envelopes/{code}", response_model=EnvelopeRead)
async def get_envelope(code: CodePath, rows: RowsDep) -> Any:
    """One envelope: rules, tranches and their figures (the ledger's sums)."""
    return read_response(await reads.by_code(rows, code))


@router.post("/envelopes", status_code=status.HTTP_201_CREATED, response_model=EnvelopeRead)
async def create_envelope(
    payload: EnvelopeCreate, session: SessionDep, caller: Writer, owners: OwnersDep
) -> Any:
    """Create an envelope with its tranches (the operator's own, or any with `admin`)."""
    found = await service.create(session, caller=caller, owners=owners, payload=payload)
    return write_response(
        await service.read(session, found),
        status_code=201,
        location=f"/api/v1/envelopes/{found.code}",
    )


@router.patch("/envelopes/{code}", response_model=EnvelopeRead)
async def update_envelope(
    code: CodePath,
    payload: EnvelopeUpdate,
    session: SessionDep,
    caller: Writer,
    owners: OwnersDep,
    if_match: IfMatch = None,
) -> Any:
    """Change an envelope's description, period, themes or rules; needs If-Match."""
    found = await service.update(
        session, caller=caller, owners=owners, code=code, payload=payload, if_match=if_match
    )
    return write_response(await service.read(session, found))


@router.get("/envelopes/{code}/tranches/{year}", response_model=TrancheRead)
async def get_tranche(code: CodePath, year: YearPath, rows: RowsDep) -> Any:
    """One tranche: amount, committed, disbursed, available."""
    return read_response(await reads.tranche(rows, code=code, year=year))


@router.post(
    "/envelopes/{code}/tranches", status_code=status.HTTP_201_CREATED, response_model=TrancheRead
)
async def add_tranche(
    code: CodePath, payload: TrancheCreate, session: SessionDep, caller: Writer, owners: OwnersDep
) -> Any:
    """Open a new year (or a period with `last_year`) of an envelope."""
    created = await service.add_tranche(
        session, caller=caller, owners=owners, code=code, payload=payload
    )
    return write_response(
        created, status_code=201, location=f"/api/v1/envelopes/{code}/tranches/{created.year}"
    )


@router.post("/envelopes/{code}/tranches/{year}/adjustments", response_model=TrancheRead)
async def adjust_tranche(
    code: CodePath,
    year: YearPath,
    payload: Adjustment,
    session: SessionDep,
    caller: Writer,
    owners: OwnersDep,
) -> Any:
    """Top a tranche up, or cut it (never below what is committed, nor below what the
    envelope's parts hold: 409); `funder_code` says who puts the money in."""
    adjusted = await service.adjust(
        session, caller=caller, owners=owners, code=code, year=year, payload=payload
    )
    return write_response(adjusted)
