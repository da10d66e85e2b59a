"""Reading the administrative map; the registry's seed is its only writer.

The lists and the map's small tables are read through the driver (`tdi_kit.rowlists`), as a
territory by code is: no session, no ORM object.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from registry.geography import queries
from registry.models import Commune, Department, Groupement, Region
from registry.schemas import CommuneRead, DepartmentRead, GroupementRead, RegionRead
from tdi_kit.errors import or_not_found
from tdi_kit.pagination import ListParams, RowsPage
from tdi_kit.rowlists import KeptStatements, RowList, columns_item
from tdi_kit.rowreader import RowReader

_GROUPEMENT_FIELDS = tuple(GroupementRead.model_fields)


def groupement_item(row: tuple[Any, ...]) -> dict[str, Any]:
    """A groupement as served, from a row of `queries.GROUPEMENT_COLUMNS`."""
    item = dict(zip(_GROUPEMENT_FIELDS, row, strict=True))
    codes = item["department_codes"]
    item["department_codes"] = sorted(codes.split(",")) if codes else []
    return item


GROUPEMENTS = RowList(
    sortable=queries.GROUPEMENT_SORT,
    default="siren",
    unique=("siren", Groupement.siren),
    item=groupement_item,
    columns=_GROUPEMENT_FIELDS,
)
COMMUNES = RowList.of_columns(
    CommuneRead, sortable=queries.COMMUNE_SORT, default="insee", unique=("insee", Commune.insee)
)
# Each list's statements, kept per shape of its filters: a page binds its values in.
_GROUPEMENT_STATEMENTS = KeptStatements(queries.groupements)
_COMMUNE_STATEMENTS = KeptStatements(queries.communes)
_REGION = columns_item(RegionRead.model_fields)
_DEPARTMENT = columns_item(DepartmentRead.model_fields)


async def regions(rows: RowReader) -> list[dict[str, Any]]:
    return [_REGION(row) for row in await rows.all(queries.REGIONS)]


async def region(session: AsyncSession, *, code: str) -> Region:
    return or_not_found(await session.get(Region, code), "region", code)


async def departments(rows: RowReader, *, region: str | None) -> list[dict[str, Any]]:
    return [_DEPARTMENT(row) for row in await rows.all(queries.departments(region=region))]


async def department(session: AsyncSession, *, code: str) -> Department:
    return or_not_found(await session.get(Department, code), "department", code)


async def groupements(rows: RowReader, *, params: ListParams, **filters: str | None) -> RowsPage:
    stmt, values = _GROUPEMENT_STATEMENTS(filters)
    return await GROUPEMENTS.page(rows, stmt, params=params, values=values)


async def groupement(rows: RowReader, *, siren: str) -> dict[str, Any]:
    found = await rows.all(queries.groupement(siren))
    return groupement_item(or_not_found(found[0] if found else None, "groupement", siren))


async def communes(rows: RowReader, *, params: ListParams, **filters: str | None) -> RowsPage:
    stmt, values = _COMMUNE_STATEMENTS(filters)
    return await COMMUNES.page(rows, stmt, params=params, values=values)


async def commune(session: AsyncSession, *, insee: str) -> Commune:
    return or_not_found(await session.get(Commune, insee), "commune", insee)
