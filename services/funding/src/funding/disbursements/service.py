"""Disbursements: money paid out of a committed allocation, one at a time or pushed in bulk.

An allocation is never over-disbursed (`funding.rules.check_disbursement`): the allocations
are locked before they are checked, then their tranches (allocations before tranches, each
kind in id order, so that concurrent writers queue and never deadlock). Every payment is a
ledger entry, written in the same transaction as the totals. One path serves a single payment
and a bulk push: a push is all or nothing, and reports every bad row.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from funding import events, rules
from funding.access import check_allocates, check_allocation_visible
from funding.allocations import queries as allocation_queries
from funding.allocations import service as allocations
from funding.allocations.bulk import Outcome
from funding.disbursements import queries
from funding.envelopes import queries as envelope_queries
from funding.ledger import entries
from funding.ledger import service as ledger
from funding.ledger.entries import Actor
from funding.models import Allocation, Disbursement
from funding.schemas import DisbursementCreate, DisbursementRead, DisbursementRow
from tdi_kit.auth import Caller
from tdi_kit.errors import NotFound, Problem, Unprocessable
from tdi_kit.events import Event, emit
from tdi_kit.pagination import ListParams, parse_sort, read_page
from tdi_kit.rowreader import RowReader


def read(disbursement: Disbursement) -> DisbursementRead:
    return DisbursementRead.model_validate(disbursement)


async def disbursements(
    rows: RowReader, *, caller: Caller | None, allocation_id: uuid.UUID, params: ListParams
) -> tuple[list[DisbursementRead], str | None, int]:
    """A page of an allocation's disbursements, through the driver: two statements (whether
    the caller sees the allocation, then the page and its total) whatever the page's size."""
    await allocations.check_seen(rows, caller=caller, allocation_id=allocation_id)
    sort = parse_sort(
        params.sort,
        allowed=queries.SORTABLE,
        default="created_at",
        unique=("id", Disbursement.id),
    )
    page = await read_page(rows, queries.disbursements(allocation_id), sort=sort, params=params)
    return queries.READ.read_all(page.rows), page.next_cursor, page.total


async def _resolve(
    session: AsyncSession, caller: Caller, rows: Sequence[DisbursementRow | None], outcome: Outcome
) -> list[tuple[int, DisbursementRow, uuid.UUID, object]]:
    """Each row's allocation id (given, or found by the operator's reference), and what the
    caller asked for, to name it in a 404."""
    references = {r.allocation_reference for r in rows if r is not None and r.allocation_reference}
    by_reference = await queries.ids_by_reference(
        session, references, allocator=None if caller.is_admin else caller.org or ""
    )
    wanted: list[tuple[int, DisbursementRow, uuid.UUID, object]] = []
    for index, row in enumerate(rows):
        if row is None:
            continue
        if row.allocation_id is not None:
            wanted.append((index, row, row.allocation_id, row.allocation_id))
            continue
        matches = by_reference.get(row.allocation_reference or "", [])
        # References are unique per operator: the caller's own come first, then (for an
        # examiner) the operator's.
        own = [m for m in matches if m[1] == caller.org]
        ids = [m[0] for m in own or matches]
        if len(ids) != 1:
            outcome.problems.append(
                (
                    index,
                    NotFound("allocation", f"reference {row.allocation_reference}")
                    if not ids
                    else Unprocessable.field(
                        "body",
                        "allocation_reference",
                        "several operators use this reference: give allocation_id",
                    ),
                )
            )
            continue
        wanted.append((index, row, ids[0], f"reference {row.allocation_reference}"))
    return wanted


async def disburse_many(
    session: AsyncSession,
    *,
    caller: Caller,
    rows: Sequence[DisbursementRow | None],
    actor: Actor | None = None,
    is_demo: bool = False,
) -> Outcome:
    """Pay every row, or none: one bad row (None: it failed to parse) stops the push."""
    outcome = Outcome()
    wanted = await _resolve(session, caller, rows, outcome)
    locked = await allocation_queries.lock_allocations(session, [a for _, _, a, _ in wanted])
    envelopes = await allocation_queries.envelopes_by_code(
        session, {a.envelope_code for a in locked.values()}
    )
    left = {a.id: rules.undisbursed_cents(a) for a in locked.values()}
    accepted: list[tuple[int, DisbursementRow, Allocation]] = []
    for index, row, allocation_id, asked in wanted:
        found = locked.get(allocation_id)
        try:
            if found is None:
                raise NotFound("allocation", asked)
            envelope = envelopes[found.envelope_code]
            check_allocation_visible(caller, found, envelope.examined_by, asked=asked)
            check_allocates(caller, envelope)
            rules.check_disbursement(found, amount_cents=row.amount_cents, left=left[found.id])
        except Problem as problem:
            outcome.problems.append((index, problem))
            continue
        left[found.id] -= row.amount_cents
        accepted.append((index, row, found))
    if outcome.refused(list(rows)):
        return outcome

    who = actor or Actor.of(caller)
    now = dt.datetime.now(dt.UTC)
    tranches = await envelope_queries.lock_tranches(
        session, sorted({a.tranche_id for _, _, a in accepted})
    )
    stored, movements, outbox = [], [], list[Event]()
    for _, row, found in accepted:
        disbursement_id = uuid.uuid4()
        stored.append(
            {
                "id": disbursement_id,
                "allocation_id": found.id,
                "amount_cents": row.amount_cents,
                "paid_on": row.paid_on,
                "reference": row.reference,
                "is_demo": is_demo or found.is_demo,
                "created_at": now,
                "created_by": who.sub,
            }
        )
        found.disbursed_cents += row.amount_cents
        found.status = rules.status_after_disbursement(found)
        found.version += 1
        found.updated_at = now
        # The allocation as this payment left it (a push may pay one allocation twice).
        outbox.append(
            events.disbursement_event(
                stored[-1],
                found,
                examined_by=envelopes[found.envelope_code].examined_by,
                actor_org=who.org,
            )
        )
        tranche = tranches[found.tranche_id]
        tranche.disbursed_cents += row.amount_cents
        movements.append(
            entries.disbursement(
                actor=who,
                tranche=tranche,
                allocation=found,
                disbursement_id=disbursement_id,
                amount_cents=row.amount_cents,
                paid_on=row.paid_on,
                reference=row.reference,
                is_demo=is_demo or found.is_demo,
            )
        )
        outcome.ids.append(disbursement_id)
    await session.execute(insert(Disbursement), stored)
    await session.flush()
    await ledger.append(session, movements)
    await emit(session, outbox)
    return outcome


async def disburse(
    session: AsyncSession, *, caller: Caller, allocation_id: uuid.UUID, payload: DisbursementCreate
) -> Disbursement:
    row = DisbursementRow(allocation_id=allocation_id, **payload.model_dump())
    outcome = await disburse_many(session, caller=caller, rows=[row])
    if outcome.problems:
        raise outcome.problems[0][1]
    found = await session.get(Disbursement, outcome.ids[0])
    assert found is not None
    return found
