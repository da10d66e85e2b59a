"""SQL for disbursements."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from funding.allocations.queries import allocated_by
from funding.models import Allocation, Disbursement
from funding.schemas import DisbursementRead
from tdi_kit.readcolumns import ReadColumns

SORTABLE = {
    "created_at": Disbursement.created_at,
    "amount_cents": Disbursement.amount_cents,
}


async def ids_by_reference(
    session: AsyncSession, references: Iterable[str], *, allocator: str | None
) -> dict[str, list[tuple[uuid.UUID, str]]]:
    """(id, operator) of the allocations with each reference, among those of the envelopes
    `allocator` operates or examines (None: all, for an admin). Another operator's references
    are never matched, so a push learns nothing of them."""
    wanted = set(references)
    if not wanted:
        return {}
    stmt = select(Allocation.reference, Allocation.id, Allocation.operator_code).where(
        Allocation.reference.in_(wanted)
    )
    if allocator is not None:
        stmt = stmt.where(allocated_by(allocator))
    found: dict[str, list[tuple[uuid.UUID, str]]] = {}
    for reference, id_, operator in await session.execute(stmt):
        assert reference is not None  # the WHERE matches references
        found.setdefault(reference, []).append((id_, operator))
    return found


# What a disbursement is read as: its own columns, through the driver.
READ = ReadColumns.of(DisbursementRead, Disbursement.__table__)


def disbursements(allocation_id: uuid.UUID) -> Select[Any]:
    return select(*READ.columns).where(Disbursement.allocation_id == allocation_id)
