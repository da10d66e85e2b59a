"""HTTP for organisations."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from registry.organisations import service
from registry.pages import PAGES
from registry.schemas import OrganisationKind, OrganisationRead
from tdi_kit.app import problem_responses
from tdi_kit.db import SessionDep
from tdi_kit.identifiers import OrganisationCode, RegionCode
from tdi_kit.pagination import CSV_RESPONSE, ListParamsDep, Page
from tdi_kit.rowreader import RowsDep

router = APIRouter(tags=["organisations"])


@router.get("/organisations", response_model=Page[OrganisationRead], responses=CSV_RESPONSE)
async def list_organisations(
    request: Request,
    rows: RowsDep,
    params: ListParamsDep,
    kind: Annotated[OrganisationKind | None, Query()] = None,
    region: Annotated[RegionCode | None, Query()] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> Any:
    """State services, Régions, operators and partners; sort on `code`, `name`, `kind`."""

    async def build() -> Any:
        page = await service.organisations(rows, params=params, kind=kind, region=region, q=q)
        return service.ORGANISATIONS.answer(request, params, page, filename="organisations")

    return await PAGES.answer(rows, request, params, build)


@router.get(
    "/organisations/{code}", response_model=OrganisationRead, responses=problem_responses(404)
)
async def get_organisation(code: Annotated[OrganisationCode, Path()], session: SessionDep) -> Any:
    """One organisation by its stable code (`bpifrance`, `region-27`, `prefecture-27`)."""
    return await service.organisation(session, code=code)
