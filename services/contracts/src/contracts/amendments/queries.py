"""SQL for amendments and the history of contracts."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.models import Amendment, Contract, ContractEvent

# What a page of amendments serves, read through the driver: the amendment's columns and the
# organisation that recorded it (from the history entry it produced), in one statement.
AMENDMENT_COLUMNS = (
    Amendment.number,
    Amendment.title,
    Amendment.reason,
    Amendment.signed_on,
    Amendment.version,
    Amendment.changes,
    Amendment.created_by,
    Amendment.created_at,
    select(ContractEvent.by_org)
    .where(
        ContractEvent.contract_id == Amendment.contract_id,
        ContractEvent.amendment_number == Amendment.number,
    )
    .correlate(Amendment)
    .limit(1)
    .scalar_subquery()
    .label("org"),
)
# A history page lists the changes, never the snapshots (whole contracts).
HISTORY_COLUMNS = (
    ContractEvent.version,
    ContractEvent.kind,
    ContractEvent.summary,
    ContractEvent.amendment_number,
    ContractEvent.changes,
    ContractEvent.by_sub,
    ContractEvent.by_org,
    ContractEvent.at,
)


def amendments(contract_id: uuid.UUID) -> Select[Any]:
    return select(*AMENDMENT_COLUMNS).where(Amendment.contract_id == contract_id)


def history(contract_id: uuid.UUID) -> Select[Any]:
    return select(*HISTORY_COLUMNS).where(ContractEvent.contract_id == contract_id)


def exists(contract_id: uuid.UUID) -> Select[Any]:
    return select(Contract.id).where(Contract.id == contract_id)


async def next_number(session: AsyncSession, contract_id: uuid.UUID) -> int:
    stmt = select(func.max(Amendment.number)).where(Amendment.contract_id == contract_id)
    return (await session.scalar(stmt) or 0) + 1


async def amendment(session: AsyncSession, contract_id: uuid.UUID, number: int) -> Amendment | None:
    stmt = select(Amendment).where(Amendment.contract_id == contract_id, Amendment.number == number)
    return await session.scalar(stmt)


async def snapshot(session: AsyncSession, contract_id: uuid.UUID, version: int) -> str | None:
    stmt = select(ContractEvent.snapshot).where(
        ContractEvent.contract_id == contract_id, ContractEvent.version == version
    )
    return await session.scalar(stmt)


async def amendment_orgs(
    session: AsyncSession, contract_id: uuid.UUID, numbers: list[int]
) -> dict[int, str | None]:
    """The organisation that recorded each amendment, from the history entry it produced."""
    if not numbers:
        return {}
    stmt = select(ContractEvent.amendment_number, ContractEvent.by_org).where(
        ContractEvent.contract_id == contract_id, ContractEvent.amendment_number.in_(numbers)
    )
    return {row.amendment_number: row.by_org for row in await session.execute(stmt)}
