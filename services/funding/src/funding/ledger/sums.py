"""The ledger's sums kept by the database (`balance_sums`), added to as entries are appended.

Every ledger write goes through `ledger.queries.append`, which calls `add` in the same
transaction: the sums can never disagree with the ledger they sum. Two writers adding to the
same row never lose an increment: each adds with one upsert, `x = x + excluded.x`, which
PostgreSQL applies under the row's lock (SQLite has one writer at a time), and rows are written
in key order so that two writers touching the same rows cannot deadlock.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from funding.models import AllocationRegion, BalanceSum

# '' stands for "every movement" in `region_code` and for "no funder named" in `funder_code`.
EVERY_MOVEMENT = ""
NO_FUNDER = ""
_SUMS = ("amount_cents", "committed_cents", "disbursed_cents", "amount_moves")

Key = tuple[str, uuid.UUID, str, bool]
_SLICE = 5_000


def deltas(
    entries: Iterable[Mapping[str, Any]], regions: Mapping[uuid.UUID, list[str]]
) -> dict[Key, tuple[str, list[int]]]:
    """What `entries` add to each row: (envelope, [amount, committed, disbursed, amount moves])
    by (region or '', tranche, funder or '', demo)."""
    out: dict[Key, tuple[str, list[int]]] = {}
    for entry in entries:
        moved = (
            int(entry.get("amount_delta_cents") or 0),
            int(entry.get("committed_delta_cents") or 0),
            int(entry.get("disbursed_delta_cents") or 0),
        )
        figures = (*moved, 1 if moved[0] else 0)
        scopes = [EVERY_MOVEMENT, *regions.get(entry.get("allocation_id"), ())]  # type: ignore[arg-type]
        for scope in scopes:
            key = (
                scope,
                entry["tranche_id"],
                entry.get("funder_code") or NO_FUNDER,
                bool(entry.get("is_demo")),
            )
            _, line = out.setdefault(key, (entry["envelope_code"], [0, 0, 0, 0]))
            for i, figure in enumerate(figures):
                line[i] += figure
    return out


async def _regions(
    session: AsyncSession, allocation_ids: set[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    out: dict[uuid.UUID, list[str]] = {}
    ids = sorted(allocation_ids)
    # In slices: a bulk push can name more allocations than a statement takes parameters.
    for start in range(0, len(ids), _SLICE):
        rows = await session.execute(
            select(AllocationRegion.allocation_id, AllocationRegion.region_code).where(
                AllocationRegion.allocation_id.in_(ids[start : start + _SLICE])
            )
        )
        for allocation_id, region_code in rows:
            out.setdefault(allocation_id, []).append(region_code)
    return out


async def add(session: AsyncSession, entries: list[dict[str, Any]]) -> None:
    """Add appended entries to the kept sums, in the caller's transaction.

    An allocation's Régions are read as they stand: they change only while it is proposed,
    before any of its money moves (allocations.changes.update).
    """
    if not entries:
        return
    ids = {e["allocation_id"] for e in entries if e.get("allocation_id") is not None}
    lines = deltas(entries, await _regions(session, ids))
    rows = [
        {
            "region_code": key[0],
            "tranche_id": key[1],
            "funder_code": key[2],
            "is_demo": key[3],
            "envelope_code": envelope_code,
            **dict(zip(_SUMS, figures, strict=True)),
        }
        for key, (envelope_code, figures) in sorted(lines.items(), key=lambda kv: _order(kv[0]))
    ]
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgresql_insert
    stmt = insert(BalanceSum).values(rows)
    table = BalanceSum.__table__.c
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[table.region_code, table.tranche_id, table.funder_code, table.is_demo],
            set_={name: table[name] + stmt.excluded[name] for name in _SUMS},
        )
    )


def _order(key: Key) -> tuple[str, str, str, bool]:
    return (key[0], str(key[1]), key[2], key[3])
