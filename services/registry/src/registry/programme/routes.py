"""HTTP for the programme: its phases and its dated milestones from the public record."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import AfterValidator

from registry.pages import PAGES
from registry.programme import service
from registry.schemas import Measure, MilestoneKind, MilestoneRead, ProgrammeRead, TerritoryCounts
from tdi_kit.identifiers import RegionCode
from tdi_kit.pagination import CSV_RESPONSE, ListParamsDep, Page
from tdi_kit.rowreader import RowsDep

router = APIRouter(tags=["programme"])


def _day(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value is not None else None


@router.get("/programme", response_model=ProgrammeRead)
async def get_programme(rows: RowsDep) -> Any:
    """The programme's phases: dates, status, territories in the register and as announced."""
    return Response(await service.programme_json(rows), media_type="application/json")


@router.get(
    "/programme/counts",
    response_model=TerritoryCounts,
    responses={304: {"description": "Not modified (If-None-Match)."}},
)
async def get_territory_counts(
    rows: RowsDep,
    region: Annotated[
        RegionCode | None,
        Query(
            description="The official Région's code (`region_code`), as the territories list "
            "filters it: `27`. Absent: the whole country."
        ),
    ] = None,
    phase: Annotated[
        int | None,
        Query(
            ge=1,
            le=2,
            description="The phase counted by status and Région; default: the "
            "phase under way, else the latest one started.",
        ),
    ] = None,
) -> Any:
    """The register's territories counted per phase, and for one phase per status and official
    Région (each territory once, in its `region_code`): the dashboard's figures, computed by the
    database."""
    body = await service.territory_counts_json(rows, region=region, phase=phase)
    return Response(body, media_type="application/json")


@router.get("/programme/milestones", response_model=Page[MilestoneRead], responses=CSV_RESPONSE)
async def list_milestones(
    request: Request,
    rows: RowsDep,
    params: ListParamsDep,
    as_of: Annotated[
        str | None,
        Query(
            # An ISO day spelled out: pydantic alone would take the number 0 for 1970-01-01.
            pattern=r"^\d{4}-\d{2}-\d{2}$",
            json_schema_extra={"format": "date"},
            description="What the public record said on that day: for each measure, the latest "
            "figure dated on or before it (`2019-06-01`: 136 territories, per AdCF).",
            examples=["2019-06-01"],
        ),
        AfterValidator(_day),
    ] = None,
    phase: Annotated[int | None, Query(ge=1, le=2, description="Programme phase.")] = None,
    kind: Annotated[MilestoneKind | None, Query()] = None,
    measure: Annotated[Measure | None, Query(description="What the figure counts.")] = None,
) -> Any:
    """Dated figures of the public record, each with its source and caveat; sort on `date`,
    `code`, `measure`. A figure the record does not give is absent, never 0."""

    async def build() -> Any:
        page = await service.milestones(
            rows, params=params, as_of=as_of, phase=phase, kind=kind, measure=measure
        )
        return service.MILESTONES.answer(request, params, page, filename="programme-milestones")

    return await PAGES.answer(rows, request, params, build)
