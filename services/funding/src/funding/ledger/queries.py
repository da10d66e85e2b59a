"""SQL for the ledger: appending entries and summing them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from funding.ledger import sums
from funding.models import Envelope, LedgerEntry
from funding.schemas import LedgerEntryRead
from tdi_kit import records
from tdi_kit.readcolumns import ReadColumns
from tdi_kit.rowlists import TIMESTAMPS, KeptStatements, RowList, where_given

SORTABLE = {"id": LedgerEntry.id, "at": LedgerEntry.at}
# What a movement is read as: its own columns, through the driver, served as they are read
# (no `LedgerEntryRead` validated and dumped per entry; its `at` spelt in UTC by orjson).
READ = ReadColumns.of(LedgerEntryRead, LedgerEntry.__table__)
LEDGER = RowList.of_columns(
    LedgerEntryRead,
    sortable=SORTABLE,
    default="id",
    unique=("id", LedgerEntry.id),
    json_option=TIMESTAMPS,
)
SUMS = (
    func.coalesce(func.sum(LedgerEntry.amount_delta_cents), 0),
    func.coalesce(func.sum(LedgerEntry.committed_delta_cents), 0),
    func.coalesce(func.sum(LedgerEntry.disbursed_delta_cents), 0),
)


async def append(session: AsyncSession, entries: list[dict[str, Any]]) -> None:
    if entries:
        await session.execute(insert(LedgerEntry), entries)
        # The kept sums move with the ledger, in the same transaction (balance_sums).
        await sums.add(session, entries)
        records.written(session, LedgerEntry.__tablename__, (e.get("kind", "") for e in entries))


async def amounts_by_envelope(
    session: AsyncSession, envelope_codes: Iterable[str]
) -> dict[str, int]:
    codes = list(envelope_codes)
    if not codes:
        return {}
    stmt = (
        select(LedgerEntry.envelope_code, SUMS[0])
        .where(LedgerEntry.envelope_code.in_(codes))
        .group_by(LedgerEntry.envelope_code)
    )
    return {code: int(amount) for code, amount in await session.execute(stmt)}


def entries(
    *,
    visible_to: Any = None,
    envelope: Any = None,
    year: Any = None,
    operator: Any = None,
    allocation: Any = None,
    territory: Any = None,
    kind: Any = None,
    is_demo: Any = None,
) -> Select[Any]:
    """The movements `visible_to` may read (all of them when None: an admin), narrowed by the
    filters given: values, or the `bindparam`s of a kept statement (`KEPT`)."""
    stmt = select(*READ.columns)
    if visible_to is not None:
        examined = select(Envelope.code).where(Envelope.examined_by == visible_to)
        stmt = stmt.where(
            or_(LedgerEntry.operator_code == visible_to, LedgerEntry.envelope_code.in_(examined))
        )
    return where_given(
        stmt,
        (LedgerEntry.envelope_code, envelope),
        (LedgerEntry.year, year),
        (LedgerEntry.operator_code, operator),
        (LedgerEntry.allocation_id, allocation),
        (LedgerEntry.territory_code, territory),
        (LedgerEntry.kind, kind),
        (LedgerEntry.is_demo, is_demo),
    )


# The list's statements, one per shape of filters (whose movements are seen is one of them).
KEPT = KeptStatements(entries)
