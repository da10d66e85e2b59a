"""SQL for conventions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from funding.models import Convention
from funding.references import organisation_name
from funding.schemas import ConventionRead
from tdi_kit.readcolumns import ReadColumns

SORTABLE = {"code": Convention.code, "signed_on": Convention.signed_on}
# What a convention is read as: its own columns and its operator's name, through the driver.
READ = ReadColumns.of(
    ConventionRead,
    Convention.__table__,
    operator_name=organisation_name(Convention.operator_code),
)


def conventions(*, operator: str | None, is_demo: bool | None = None) -> Select[Any]:
    stmt = select(*READ.columns)
    if operator is not None:
        stmt = stmt.where(Convention.operator_code == operator)
    if is_demo is not None:
        stmt = stmt.where(Convention.is_demo == is_demo)
    return stmt


async def by_code(session: AsyncSession, code: str) -> Convention | None:
    return await session.get(Convention, code)


# One convention as served, run with its `code` (`RowReader.all`): compiled once.
READ_BY_CODE = select(*READ.columns).where(Convention.code == bindparam("code"))


async def lock(session: AsyncSession, code: str) -> Convention | None:
    """The convention, locked until the transaction ends and read afresh (see envelopes'
    `lock`): If-Match is compared under the lock."""
    return await session.get(Convention, code, with_for_update=True, populate_existing=True)
