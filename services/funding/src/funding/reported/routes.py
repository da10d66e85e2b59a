"""HTTP for the figures reported in the public record (read-only: the seed loads them)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from funding.reported import service
from funding.schemas import PROBLEMS, Code, Measure, OrganisationCode, ReportedFigureRead
from funding.schemas.paths import DemoFilter
from tdi_kit.documents import read_response
from tdi_kit.listing import ListingDep
from tdi_kit.pagination import CSV_RESPONSE, Page
from tdi_kit.rowreader import RowsDep

router = APIRouter(tags=["reported figures"], responses=PROBLEMS)


@router.get("/reported-figures", response_model=Page[ReportedFigureRead], responses=CSV_RESPONSE)
async def list_reported_figures(
    listing: ListingDep,
    rows: RowsDep,
    envelope: Annotated[Code | None, Query()] = None,
    operator: Annotated[
        OrganisationCode | None,
        Query(description="The operator's own figures and those of the envelopes it manages."),
    ] = None,
    measure: Annotated[Measure | None, Query()] = None,
    is_demo: DemoFilter = None,
) -> Any:
    """Figures of the public record (value, measure, as-of date, source, caveat), apart from
    the ledger; sort on `code`, `as_of`."""
    filters = {"envelope": envelope, "operator": operator, "measure": measure, "is_demo": is_demo}
    found = await service.figures(rows, params=listing.params, filters=filters)
    return listing.page(found, model=ReportedFigureRead, filename="reported-figures")


@router.get("/reported-figures/{code}", response_model=ReportedFigureRead)
async def get_reported_figure(code: Annotated[Code, Path()], rows: RowsDep) -> Any:
    """One figure of the public record, with its source and caveat."""
    return read_response(await service.figure(rows, code=code))
