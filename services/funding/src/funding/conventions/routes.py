"""HTTP for conventions de mobilisation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from funding.access import Writer
from funding.conventions import service
from funding.references import OwnersDep
from funding.schemas import (
    PROBLEMS,
    ConventionCreate,
    ConventionRead,
    ConventionUpdate,
    OrganisationCode,
)
from funding.schemas.paths import CodePath, DemoFilter
from tdi_kit.conditional import IfMatch
from tdi_kit.db import SessionDep
from tdi_kit.documents import read_response, write_response
from tdi_kit.listing import ListingDep
from tdi_kit.pagination import CSV_RESPONSE, Page
from tdi_kit.rowreader import RowsDep

router = APIRouter(tags=["conventions"], responses=PROBLEMS)


@router.get("/conventions", response_model=Page[ConventionRead], responses=CSV_RESPONSE)
async def list_conventions(
    listing: ListingDep,
    rows: RowsDep,
    operator: Annotated[OrganisationCode | None, Query()] = None,
    is_demo: DemoFilter = None,
) -> Any:
    """Conventions de mobilisation; sort on `code`, `signed_on`."""
    found = await service.conventions(
        rows, params=listing.params, operator=operator, is_demo=is_demo
    )
    return listing.page(found, model=ConventionRead, filename="conventions")


@router.get("/conventions/{code}", response_model=ConventionRead)
async def get_convention(code: CodePath, rows: RowsDep) -> Any:
    """One convention de mobilisation."""
    return read_response(await service.convention(rows, code=code))


@router.post("/conventions", status_code=status.HTTP_201_CREATED, response_model=ConventionRead)
async def create_convention(
    payload: ConventionCreate, session: SessionDep, caller: Writer, owners: OwnersDep
) -> Any:
    """Record a convention (the operator's own, or any with `admin`)."""
    convention = await service.create(session, caller=caller, owners=owners, payload=payload)
    return write_response(
        await service.read(session, convention),
        status_code=201,
        location=f"/api/v1/conventions/{convention.code}",
    )


@router.patch("/conventions/{code}", response_model=ConventionRead)
async def update_convention(
    code: CodePath,
    payload: ConventionUpdate,
    session: SessionDep,
    caller: Writer,
    if_match: IfMatch = None,
) -> Any:
    """Change a convention; needs If-Match."""
    convention = await service.update(
        session, caller=caller, code=code, payload=payload, if_match=if_match
    )
    return write_response(await service.read(session, convention))
