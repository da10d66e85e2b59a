"""The ledger: every movement of money, appended and never changed; balances are its sums."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from funding.ledger import queries
from funding.ledger.entries import SEED, Actor
from tdi_kit.auth import Caller
from tdi_kit.errors import Forbidden, Unauthorized
from tdi_kit.pagination import ListParams, RowsPage
from tdi_kit.rowreader import RowReader

# Who made a movement: kept importable from here, where the loaders and tests look for it.
__all__ = ["SEED", "Actor"]


async def append(session: AsyncSession, entries: list[dict[str, Any]]) -> None:
    """Append rows built by `funding.ledger.entries`, in the caller's transaction."""
    await queries.append(session, entries)


async def entries(
    rows: RowReader,
    *,
    caller: Caller | None,
    params: ListParams,
    filters: dict[str, Any],
) -> RowsPage:
    """A page of the movements the caller may read, through the driver (one kept statement);
    `queries.LEDGER` answers it."""
    if caller is None:
        raise Unauthorized("The ledger names who did what: read it with a bearer token.")
    if not caller.is_admin and caller.org is None:
        raise Forbidden("This token names no organisation; the ledger is read per operator.")
    stmt, values = queries.KEPT({"visible_to": None if caller.is_admin else caller.org, **filters})
    return await queries.LEDGER.page(rows, stmt, params=params, values=values)


async def amounts_by_envelope(session: AsyncSession, envelope_codes: list[str]) -> dict[str, int]:
    """Each envelope's amount: its endowments, net of cuts."""
    return await queries.amounts_by_envelope(session, envelope_codes)
