"""Organisations: State services, Régions, operators and partners, by stable code."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from registry.models import Organisation
from registry.organisations import queries
from registry.schemas import OrganisationRead
from tdi_kit.errors import or_not_found
from tdi_kit.pagination import ListParams, RowsPage
from tdi_kit.rowlists import RowList
from tdi_kit.rowreader import RowReader

ORGANISATIONS = RowList.of_columns(
    OrganisationRead, sortable=queries.SORTABLE, default="code", unique=("code", Organisation.code)
)


async def organisations(rows: RowReader, *, params: ListParams, **filters: str | None) -> RowsPage:
    return await ORGANISATIONS.page(rows, queries.organisations(**filters), params=params)


async def organisation(session: AsyncSession, *, code: str) -> Organisation:
    return or_not_found(await session.get(Organisation, code), "organisation", code)
