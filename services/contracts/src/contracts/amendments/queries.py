"""SQL for amendments and the history of contracts."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from contracts.models import Amendment, ContractEvent

AMENDMENT_SORTABLE = {"number": Amendment.number}
HISTORY_SORTABLE = {"version": ContractEvent.version}


def amendments(contract_id: uuid.UUID) -> Select[Amendment]:
    return select(Amendment).where(Amendment.contract_id == contract_id)


def history(contract_id: uuid.UUID) -> Select[ContractEvent]:
    # The snapshots are whole contracts: a history page lists the changes only.
    return (
        select(ContractEvent)
        .where(ContractEvent.contract_id == contract_id)
        .options(defer(ContractEvent.snapshot))
    )


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
