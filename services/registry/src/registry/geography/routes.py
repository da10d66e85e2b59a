"""HTTP for regions, departments, groupements and communes."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request, Response

from registry.geography import service
from registry.pages import PAGES
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
from tdi_kit.pagination import CSV_RESPONSE, ListParamsDep, Page
from tdi_kit.rowreader import RowsDep

router = APIRouter()
NOT_FOUND = problem_responses(404)
RegionQuery = Annotated[RegionCode | None, Query(description="Region code.")]
DepartmentQuery = Annotated[DepartmentCode | None, Query(description="Department code.")]
TextQuery = Annotated[
    str | None, Query(max_length=200, description="Words in the name, any case or accent.")
]


@router.get("/regions", response_model=list[RegionRead], tags=["geography"])
async def list_regions(rows: RowsDep) -> Any:
    """The 18 regions."""
    return _json(await service.regions(rows))


@router.get("/regions/{code}", response_model=RegionRead, tags=["geography"], responses=NOT_FOUND)
async def get_region(code: Annotated[RegionCode, Path()], session: SessionDep) -> Any:
    """One region by its INSEE code."""
    return await service.region(session, code=code)


@router.get("/departments", response_model=list[DepartmentRead], tags=["geography"])
async def list_departments(rows: RowsDep, region: RegionQuery = None) -> Any:
    """The 101 departments, optionally of one region."""
    return _json(await service.departments(rows, region=region))


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
    rows: RowsDep,
    params: ListParamsDep,
    kind: Annotated[GroupementKind | None, Query()] = None,
    nature: Annotated[str | None, Query(pattern=r"^(CC|CA|CU|METRO|MET69|EPT|COM)$")] = None,
    region: RegionQuery = None,
    department: DepartmentQuery = None,
    q: TextQuery = None,
) -> Any:
    """EPCIs of 2025, Grand Paris EPTs and lone communes; sort on `siren`, `name`, `population`."""

    async def build() -> Any:
        page = await service.groupements(
            rows, params=params, kind=kind, nature=nature, region=region, department=department, q=q
        )
        return service.GROUPEMENTS.answer(request, params, page, filename="groupements")

    return await PAGES.answer(rows, request, params, build)


@router.get(
    "/groupements/{siren}",
    response_model=GroupementRead,
    tags=["groupements"],
    responses=NOT_FOUND,
)
async def get_groupement(siren: Annotated[Siren, Path()], rows: RowsDep) -> Any:
    """One groupement by SIREN."""
    return _json(await service.groupement(rows, siren=siren))


@router.get(
    "/communes", response_model=Page[CommuneRead], responses=CSV_RESPONSE, tags=["communes"]
)
async def list_communes(
    request: Request,
    rows: RowsDep,
    params: ListParamsDep,
    department: DepartmentQuery = None,
    epci: Annotated[Siren | None, Query(description="SIREN of the commune's EPCI.")] = None,
    q: TextQuery = None,
) -> Any:
    """The communes of 2025 (INSEE code), sort on `insee`, `name`, `population`."""

    async def build() -> Any:
        page = await service.communes(rows, params=params, department=department, epci=epci, q=q)
        return service.COMMUNES.answer(request, params, page, filename="communes")

    return await PAGES.answer(rows, request, params, build)


@router.get("/communes/{insee}", response_model=CommuneRead, tags=["communes"], responses=NOT_FOUND)
async def get_commune(insee: Annotated[Insee, Path()], session: SessionDep) -> Any:
    """One commune by INSEE code."""
    return await service.commune(session, insee=insee)


def _json(content: Any) -> Response:
    # Items read through the driver are the models' JSON members already (see the service):
    # encoded once, not validated into models and encoded again.
    return Response(orjson.dumps(content), media_type="application/json")
