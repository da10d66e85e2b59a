"""The ledger: every movement of money, appended and never changed; balances are its sums."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from funding.ledger import queries
from funding.ledger.entries import SEED, Actor
from funding.models import LedgerEntry
from funding.schemas import LedgerEntryRead
from tdi_kit.auth import Caller
from tdi_kit.errors import Forbidden, Unauthorized
from tdi_kit.pagination import ListParams, parse_sort, read_page
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
) -> tuple[list[LedgerEntryRead], str | None, int]:
    """A page of the movements the caller may read, through the driver (one statement)."""
    if caller is None:
        raise Unauthorized("The ledger names who did what: read it with a bearer token.")
    if not caller.is_admin and caller.org is None:
        raise Forbidden("This token names no organisation; the ledger is read per operator.")
    stmt = queries.entries(visible_to=None if caller.is_admin else caller.org, **filters)
    sort = parse_sort(
        params.sort, allowed=queries.SORTABLE, default="id", unique=("id", LedgerEntry.id)
    )
    page = await read_page(rows, stmt, sort=sort, params=params)
    return queries.READ.read_all(page.rows), page.next_cursor, page.total


async def amounts_by_envelope(session: AsyncSession, envelope_codes: list[str]) -> dict[str, int]:
    """Each envelope's amount: its endowments, net of cuts."""
    return await queries.amounts_by_envelope(session, envelope_codes)
