"""HTTP for balances."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from funding.balances import service
from funding.schemas import (
    PROBLEMS,
    BalanceBreakdowns,
    BalanceRead,
    BalanceReport,
    Code,
    OrganisationCode,
    TerritoryCode,
    Theme,
)
from tdi_kit.db import SessionDep
from tdi_kit.documents import read_response
from tdi_kit.identifiers import RegionCode
from tdi_kit.pagination import CSV_MEDIA_TYPE, CSV_RESPONSE, csv_response
from tdi_kit.rowreader import RowsDep

router = APIRouter(tags=["balances"], responses=PROBLEMS)


@router.get("/balances", response_model=BalanceReport, responses=CSV_RESPONSE)
async def get_balances(
    request: Request,
    session: SessionDep,
    by: Annotated[
        str,
        Query(
            pattern=r"^[a-z]+(,[a-z]+)*$",
            max_length=100,
            description="Group by one or more of envelope, tranche, operator, funder, year, "
            "theme, territory, region: `operator,year`.",
        ),
    ] = "envelope",
    envelope: Annotated[Code | None, Query()] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    operator: Annotated[OrganisationCode | None, Query()] = None,
    theme: Annotated[Theme | None, Query()] = None,
    territory: Annotated[TerritoryCode | None, Query()] = None,
    region: Annotated[RegionCode | None, Query()] = None,
    include_demo: Annotated[
        bool, Query(description="Count demo movements too (left out by default).")
    ] = False,
    format: Annotated[str | None, Query(pattern="^(json|csv)$")] = None,
) -> Any:
    """Amount, committed, disbursed and available: the ledger's sums, grouped, each grouping
    summing to `totals` (or naming its `overlaps`), with the public record's `reported`
    figures beside them; demo movements only with `include_demo=true` (CSV too)."""
    filters = {
        "envelope": envelope,
        "year": year,
        "operator": operator,
        "theme": theme,
        "territory": territory,
        "region": region,
        "include_demo": include_demo,
    }
    report = await service.report(session, by=by, filters=filters)
    if format == "csv" or (format is None and CSV_MEDIA_TYPE in request.headers.get("accept", "")):
        return csv_response(
            (r.model_dump() for r in report.items),
            columns=list(BalanceRead.model_fields),
            filename="balances-" + "-".join(report.by),
        )
    return read_response(report)


@router.get("/balances/breakdowns", response_model=BalanceBreakdowns)
async def get_balance_breakdowns(
    rows: RowsDep,
    region: Annotated[RegionCode | None, Query()] = None,
    operator: Annotated[OrganisationCode | None, Query()] = None,
    include_demo: Annotated[
        bool, Query(description="Count demo movements too (left out by default).")
    ] = False,
) -> Any:
    """The dashboard's money in one answer: the balances by operator, funder, theme, year and
    envelope, each summing to `totals`, from the ledger's sums its database keeps as each
    movement is written (the same figures as `/balances?by=` each dimension); demo movements
    only with `include_demo=true`."""
    filters = {"region": region, "operator": operator, "include_demo": include_demo}
    return read_response(await service.breakdowns(rows, filters=filters))
