"""Reading the administrative map; the registry's seed is its only writer."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from registry.geography import queries
from registry.models import Commune, Department, Groupement, Region
from registry.schemas import GroupementRead
from tdi_kit.errors import or_not_found
from tdi_kit.pagination import ListParams, paginate, parse_sort


async def regions(session: AsyncSession) -> list[Region]:
    return await queries.regions(session)


async def region(session: AsyncSession, *, code: str) -> Region:
    return or_not_found(await session.get(Region, code), "region", code)


async def departments(session: AsyncSession, *, region: str | None) -> list[Department]:
    return await queries.departments(session, region=region)


async def department(session: AsyncSession, *, code: str) -> Department:
    return or_not_found(await session.get(Department, code), "department", code)


async def groupements(
    session: AsyncSession, *, params: ListParams, **filters: str | None
) -> tuple[list[GroupementRead], str | None, int]:
    sort = parse_sort(
        params.sort,
        allowed=queries.GROUPEMENT_SORT,
        default="siren",
        unique=("siren", Groupement.siren),
    )
    stmt = queries.groupements(**filters)
    rows, next_cursor, total = await paginate(session, stmt, sort=sort, params=params)
    return await _with_departments(session, rows), next_cursor, total


async def groupement(session: AsyncSession, *, siren: str) -> GroupementRead:
    found = or_not_found(await session.get(Groupement, siren), "groupement", siren)
    return (await _with_departments(session, [found]))[0]


async def communes(
    session: AsyncSession, *, params: ListParams, **filters: str | None
) -> tuple[list[Commune], str | None, int]:
    sort = parse_sort(
        params.sort, allowed=queries.COMMUNE_SORT, default="insee", unique=("insee", Commune.insee)
    )
    stmt = queries.communes(**filters)
    return await paginate(session, stmt, sort=sort, params=params)


async def commune(session: AsyncSession, *, insee: str) -> Commune:
    return or_not_found(await session.get(Commune, insee), "commune", insee)


async def _with_departments(session: AsyncSession, rows: list[Groupement]) -> list[GroupementRead]:
    codes = await queries.department_codes(session, [g.siren for g in rows])
    return [
        GroupementRead.model_validate(
            {
                **{
                    k: getattr(g, k) for k in GroupementRead.model_fields if k != "department_codes"
                },
                "department_codes": codes[g.siren],
            }
        )
        for g in rows
    ]
