"""Organisations: State services, Régions, operators and partners, by stable code."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from registry.models import Organisation
from registry.organisations import queries
from tdi_kit.errors import or_not_found
from tdi_kit.pagination import ListParams, paginate, parse_sort


async def organisations(
    session: AsyncSession, *, params: ListParams, **filters: str | None
) -> tuple[list[Organisation], str | None, int]:
    sort = parse_sort(
        params.sort, allowed=queries.SORTABLE, default="code", unique=("code", Organisation.code)
    )
    stmt = queries.organisations(**filters)
    return await paginate(session, stmt, sort=sort, params=params)


async def organisation(session: AsyncSession, *, code: str) -> Organisation:
    return or_not_found(await session.get(Organisation, code), "organisation", code)
