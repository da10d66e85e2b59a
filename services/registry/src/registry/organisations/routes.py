"""HTTP for organisations."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from registry.organisations import service
from registry.schemas import OrganisationKind, OrganisationRead
from tdi_kit.app import problem_responses
from tdi_kit.db import SessionDep
from tdi_kit.pagination import CSV_RESPONSE, ListParamsDep, Page, csv_response, next_link

router = APIRouter(tags=["organisations"])


@router.get("/organisations", response_model=Page[OrganisationRead], responses=CSV_RESPONSE)
async def list_organisations(
    request: Request,
    response: Response,
    session: SessionDep,
    params: ListParamsDep,
    kind: Annotated[OrganisationKind | None, Query()] = None,
    region: Annotated[str | None, Query(pattern=r"^\d{2}$")] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> Any:
    """State services, Régions, operators and partners; sort on `code`, `name`, `kind`."""
    items, next_cursor = await service.organisations(
        session, params=params, kind=kind, region=region, q=q
    )
    if params.format == "csv":
        return csv_response(
            (OrganisationRead.model_validate(o).model_dump() for o in items),
            columns=list(OrganisationRead.model_fields),
            filename="organisations",
        )
    next_link(request, response, next_cursor)
    return Page[OrganisationRead](items=items, next_cursor=next_cursor)


@router.get(
    "/organisations/{code}", response_model=OrganisationRead, responses=problem_responses(404)
)
async def get_organisation(
    code: Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")], session: SessionDep
) -> Any:
    """One organisation by its stable code (`bpifrance`, `region-27`, `prefecture-27`)."""
    return await service.organisation(session, code=code)
