"""The ledger: every movement of money, appended and never changed; balances are its sums."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from funding.ledger import queries
from funding.models import LedgerEntry, Tranche
from tdi_kit import clock
from tdi_kit.auth import Caller
from tdi_kit.errors import Forbidden, Unauthorized
from tdi_kit.observability import current_request_id
from tdi_kit.pagination import ListParams, all_rows, paginate, parse_sort


@dataclass(frozen=True)
class Actor:
    """Who made a movement: a token's subject and organisation, or `seed` for the loaders."""

    sub: str
    org: str | None = None

    @classmethod
    def of(cls, caller: Caller) -> Actor:
        return cls(caller.sub, caller.org)


SEED = Actor("seed")


def entry(
    kind: str,
    *,
    actor: Actor,
    tranche: Tranche,
    operator_code: str,
    amount: int = 0,
    committed: int = 0,
    disbursed: int = 0,
    allocation_id: uuid.UUID | None = None,
    disbursement_id: uuid.UUID | None = None,
    territory_code: str | None = None,
    effective_on: dt.date | None = None,
    note: str = "",
    is_demo: bool = False,
    funder_code: str | None = None,
) -> dict[str, Any]:
    """One ledger row, ready for a bulk insert."""
    return {
        "kind": kind,
        "at": clock.now(),
        "effective_on": effective_on,
        "actor": actor.sub,
        "actor_org": actor.org,
        "request_id": current_request_id(),
        "tranche_id": tranche.id,
        "envelope_code": tranche.envelope_code,
        "year": tranche.year,
        "operator_code": operator_code,
        "allocation_id": allocation_id,
        "disbursement_id": disbursement_id,
        "territory_code": territory_code,
        "funder_code": funder_code,
        "amount_delta_cents": amount,
        "committed_delta_cents": committed,
        "disbursed_delta_cents": disbursed,
        "note": note,
        "is_demo": is_demo,
    }


async def append(session: AsyncSession, entries: list[dict[str, Any]]) -> None:
    await queries.append(session, entries)


async def sums_by_tranche(
    session: AsyncSession, tranche_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[int, int, int]]:
    """(amount, committed, disbursed) of each tranche, summed from the ledger."""
    return await queries.sums_by_tranche(session, tranche_ids)


async def entries(
    session: AsyncSession,
    *,
    caller: Caller | None,
    params: ListParams,
    filters: dict[str, Any],
) -> tuple[list[LedgerEntry], str | None]:
    if caller is None:
        raise Unauthorized("The ledger names who did what: read it with a bearer token.")
    if not caller.is_admin and caller.org is None:
        raise Forbidden("This token names no organisation; the ledger is read per operator.")
    stmt = queries.entries(visible_to=None if caller.is_admin else caller.org, **filters)
    sort = parse_sort(
        params.sort, allowed=queries.SORTABLE, default="id", unique=("id", LedgerEntry.id)
    )
    if params.format == "csv":
        return await all_rows(session, stmt, sort=sort), None
    return await paginate(session, stmt, sort=sort, params=params)


async def amounts_by_funder(
    session: AsyncSession, envelope_codes: list[str]
) -> dict[str, dict[str | None, int]]:
    """Each envelope's endowments per funder (None: the record does not name one)."""
    return await queries.amounts_by_funder(session, envelope_codes)


async def amounts_by_envelope(session: AsyncSession, envelope_codes: list[str]) -> dict[str, int]:
    """Each envelope's amount: its endowments, net of cuts."""
    return await queries.amounts_by_envelope(session, envelope_codes)
