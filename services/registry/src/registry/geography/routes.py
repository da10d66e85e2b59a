"""HTTP for regions, departments, groupements and communes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from registry.geography import service
from registry.schemas import (
    CommuneRead,
    DepartmentRead,
    GroupementKind,
    GroupementRead,
    RegionRead,
)
from tdi_kit.app import problem_responses
from tdi_kit.db import SessionDep
from tdi_kit.identifiers import DepartmentCode, Insee, RegionCode, Siren
from tdi_kit.pagination import CSV_RESPONSE, ListParamsDep, Page, list_answer

router = APIRouter()
NOT_FOUND = problem_responses(404)
RegionQuery = Annotated[RegionCode | None, Query(description="Region code.")]
DepartmentQuery = Annotated[DepartmentCode | None, Query(description="Department code.")]
TextQuery = Annotated[
    str | None, Query(max_length=200, description="Words in the name, any case or accent.")
]


@router.get("/regions", response_model=list[RegionRead], tags=["geography"])
async def list_regions(session: SessionDep) -> Any:
    """The 18 regions."""
    return await service.regions(session)


@router.get("/regions/{code}", response_model=RegionRead, tags=["geography"], responses=NOT_FOUND)
async def get_region(code: Annotated[RegionCode, Path()], session: SessionDep) -> Any:
    """One region by its INSEE code."""
    return await service.region(session, code=code)


@router.get("/departments", response_model=list[DepartmentRead], tags=["geography"])
async def list_departments(session: SessionDep, region: RegionQuery = None) -> Any:
    """The 101 departments, optionally of one region."""
    return await service.departments(session, region=region)


@router.get(
    "/departments/{code}", response_model=DepartmentRead, tags=["geography"], responses=NOT_FOUND
)
async def get_department(code: Annotated[DepartmentCode, Path()], session: SessionDep) -> Any:
    """One department by its code."""
    return await service.department(session, code=code)


@router.get(
    "/groupements",
    response_model=Page[GroupementRead],
    responses=CSV_RESPONSE,
    tags=["groupements"],
)
async def list_groupements(
    request: Request,
    response: Response,
    session: SessionDep,
    params: ListParamsDep,
    kind: Annotated[GroupementKind | None, Query()] = None,
    nature: Annotated[str | None, Query(pattern=r"^(CC|CA|CU|METRO|MET69|EPT|COM)$")] = None,
    region: RegionQuery = None,
    department: DepartmentQuery = None,
    q: TextQuery = None,
) -> Any:
    """EPCIs of 2025, Grand Paris EPTs and lone communes; sort on `siren`, `name`, `population`."""
    items, next_cursor, total = await service.groupements(
        session, params=params, kind=kind, nature=nature, region=region, department=department, q=q
    )
    return list_answer(
        request,
        response,
        params,
        items,
        next_cursor,
        total,
        model=GroupementRead,
        filename="groupements",
    )


@router.get(
    "/groupements/{siren}",
    response_model=GroupementRead,
    tags=["groupements"],
    responses=NOT_FOUND,
)
async def get_groupement(siren: Annotated[Siren, Path()], session: SessionDep) -> Any:
    """One groupement by SIREN."""
    return await service.groupement(session, siren=siren)


@router.get(
    "/communes", response_model=Page[CommuneRead], responses=CSV_RESPONSE, tags=["communes"]
)
async def list_communes(
    request: Request,
    response: Response,
    session: SessionDep,
    params: ListParamsDep,
    department: DepartmentQuery = None,
    epci: Annotated[Siren | None, Query(description="SIREN of the commune's EPCI.")] = None,
    q: TextQuery = None,
) -> Any:
    """The communes of 2025 (INSEE code), sort on `insee`, `name`, `population`."""
    items, next_cursor, total = await service.communes(
        session, params=params, department=department, epci=epci, q=q
    )
    return list_answer(
        request, response, params, items, next_cursor, total, model=CommuneRead, filename="communes"
    )


@router.get("/communes/{insee}", response_model=CommuneRead, tags=["communes"], responses=NOT_FOUND)
async def get_commune(insee: Annotated[Insee, Path()], session: SessionDep) -> Any:
    """One commune by INSEE code."""
    return await service.commune(session, insee=insee)
