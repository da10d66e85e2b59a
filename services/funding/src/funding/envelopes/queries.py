"""SQL for envelopes and their tranches."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from funding.models import Envelope, EnvelopeTheme, Tranche
from tdi_kit.db import lock_by_id
from tdi_kit.rowlists import where_given

SORTABLE = {
    "code": Envelope.code,
    "name": Envelope.name,
    "start_year": Envelope.start_year,
    "operator": Envelope.operator_code,
}


def envelopes(
    *,
    operator: str | None,
    kind: str | None,
    theme: str | None,
    year: int | None,
    convention: str | None,
    is_demo: bool | None,
    part_of: str | None = None,
) -> Select[Any]:
    stmt = where_given(
        select(Envelope),
        (Envelope.operator_code, operator),
        (Envelope.kind, kind),
        (Envelope.convention_code, convention),
        (Envelope.is_demo, is_demo),
        (Envelope.part_of, part_of),
    )
    if theme is not None:
        stmt = stmt.where(
            Envelope.code.in_(
                select(EnvelopeTheme.envelope_code).where(EnvelopeTheme.theme == theme)
            )
        )
    if year is not None:
        stmt = stmt.where(Envelope.start_year <= year, Envelope.end_year >= year)
    return stmt


async def by_code(session: AsyncSession, code: str) -> Envelope | None:
    return await session.get(Envelope, code)


async def lock(session: AsyncSession, code: str) -> Envelope | None:
    """The envelope, locked until the transaction ends (PostgreSQL: FOR UPDATE; SQLite writers
    are serialised already) and read afresh: a write compares If-Match under the lock, so two
    writers holding the same ETag cannot both pass and the second overwrite the first."""
    return await session.get(Envelope, code, with_for_update=True, populate_existing=True)


async def parts_of(session: AsyncSession, codes: list[str]) -> dict[str, list[str]]:
    """The codes of the envelopes that are part of each of these."""
    if not codes:
        return {}
    stmt = (
        select(Envelope.part_of, Envelope.code)
        .where(Envelope.part_of.in_(codes))
        .order_by(Envelope.code)
    )
    out: dict[str, list[str]] = {}
    for parent, code in await session.execute(stmt):
        assert parent is not None  # the WHERE keeps parts only
        out.setdefault(parent, []).append(code)
    return out


async def tranche(session: AsyncSession, envelope_code: str, year: int) -> Tranche | None:
    stmt = select(Tranche).where(Tranche.envelope_code == envelope_code, Tranche.year == year)
    return await session.scalar(stmt)


async def lock_tranches(session: AsyncSession, ids: list[Any]) -> dict[Any, Tranche]:
    """The tranches, locked (in id order) and read afresh (`tdi_kit.db.lock_by_id`)."""
    return await lock_by_id(session, Tranche, ids)
