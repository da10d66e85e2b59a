"""Allocations: tranche money given to a territory's project, proposed or committed at once.

One path serves a single write and a bulk push (`create_many`): a push is all or nothing, and
reports every bad row with the problem it would have had on its own. The money rules are
`funding.rules`'; the tranches are locked before they are checked (PostgreSQL: SELECT ... FOR
UPDATE; SQLite serialises writers with BEGIN IMMEDIATE), in id order, so that concurrent
writers queue and never deadlock. A commitment is a ledger entry, written in the same
transaction as the tranche's total. Changing one allocation (update, commit, cancel) is
`allocations.changes`; paying it, `funding.disbursements`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from funding import events, rules
from funding.access import check_allocates, check_allocation_visible, check_visible, private_scope
from funding.allocations import queries, reads
from funding.allocations.bulk import Outcome
from funding.envelopes import queries as envelope_queries
from funding.ledger import entries
from funding.ledger import service as ledger
from funding.ledger.entries import Actor
from funding.models import Allocation, AllocationRegion, Envelope, Tranche
from funding.references import Owners, organisation_names
from funding.schemas import AllocationCreate, AllocationRead, AllocationUpdate, CodeName
from tdi_kit import clock
from tdi_kit.auth import Caller
from tdi_kit.copies import REGION_NAMES_20261202
from tdi_kit.errors import Conflict, NotFound, Problem, Unprocessable, or_not_found
from tdi_kit.events import emit
from tdi_kit.pagination import ListParams, RowsPage
from tdi_kit.rowreader import RowReader


def regions_of(codes: list[str]) -> list[CodeName]:
    """The Régions' names beside their codes (the registry's, as frozen in `tdi_kit.copies`)."""
    return [CodeName(code=c, name=REGION_NAMES_20261202.get(c, c)) for c in codes]


async def read(session: AsyncSession, allocation: Allocation) -> AllocationRead:
    """An allocation as served: what a write answers and what a read answers (and its ETag)
    must be one and the same, names included."""
    names = await organisation_names(session, [allocation.operator_code])
    region_codes = sorted(r.region_code for r in allocation.regions)
    return AllocationRead(
        id=allocation.id,
        envelope_code=allocation.envelope_code,
        year=allocation.year,
        operator_code=allocation.operator_code,
        operator_name=names.get(allocation.operator_code),
        territory_code=allocation.territory_code,
        region_codes=region_codes,
        regions=regions_of(region_codes),
        action_id=allocation.action_id,
        title=allocation.title,
        beneficiary_name=allocation.beneficiary_name,
        beneficiary_siren=allocation.beneficiary_siren,
        reference=allocation.reference,
        amount_cents=allocation.amount_cents,
        eligible_spending_cents=allocation.eligible_spending_cents,
        cap_waiver=allocation.cap_waiver,
        decision_date=allocation.decision_date,
        status=allocation.status,
        disbursed_cents=allocation.disbursed_cents,
        released_cents=allocation.released_cents,
        undisbursed_cents=rules.undisbursed_cents(allocation),
        cancel_reason=allocation.cancel_reason,
        is_demo=allocation.is_demo,
        version=allocation.version,
        created_at=allocation.created_at,
        updated_at=allocation.updated_at,
        committed_at=allocation.committed_at,
        cancelled_at=allocation.cancelled_at,
    )


# Creating allocations, one or many


@dataclass
class _Row:
    index: int
    payload: AllocationCreate
    envelope: Envelope
    tranche: Tranche
    region_codes: tuple[str, ...] = ()


async def create_many(
    session: AsyncSession,
    *,
    caller: Caller,
    owners: Owners,
    rows: Sequence[AllocationCreate | None],
    actor: Actor | None = None,
    is_demo: bool = False,
) -> Outcome:
    """Check every row, then store them all, or none. A None row failed to parse; its problem
    is the caller's to report, and it stops the push like any other bad row."""
    outcome = Outcome()
    envelopes, tranches = await queries.tranches_of(
        session, {(r.envelope_code, r.year) for r in rows if r is not None}
    )
    checked: list[_Row] = []
    for index, payload in enumerate(rows):
        if payload is None:
            continue
        try:
            checked.append(_check_locally(caller, index, payload, envelopes, tranches))
        except Problem as problem:
            outcome.problems.append((index, problem))

    _check_references_unique(checked, outcome, await _taken(session, checked))
    # The owners are asked only once the local rules pass, and never under a lock.
    for row in list(checked):
        try:
            row.region_codes = await check_owners(owners, row.payload)
        except Unprocessable as problem:
            outcome.problems.append((row.index, problem))
            checked.remove(row)

    committing = [r for r in checked if r.payload.status == "committed"]
    locked = await envelope_queries.lock_tranches(session, [r.tranche.id for r in committing])
    # What each tranche has left once the rows before in the push are counted.
    available = {t.id: rules.available_cents(t) for t in locked.values()}
    for row in committing:
        amount = row.payload.amount_cents
        try:
            rules.check_commitment(
                locked[row.tranche.id], amount_cents=amount, available=available[row.tranche.id]
            )
        except Conflict as problem:
            outcome.problems.append((row.index, problem))
        else:
            available[row.tranche.id] -= amount
    if outcome.refused(list(rows)):
        return outcome

    who = actor or Actor.of(caller)
    now = clock.now()
    allocations, movements = [], []
    regions: list[dict[str, Any]] = []
    for row in checked:
        p = row.payload
        allocation_id = uuid.uuid4()
        committed = p.status == "committed"
        allocations.append(
            {
                "id": allocation_id,
                "tranche_id": row.tranche.id,
                "envelope_code": row.envelope.code,
                "year": p.year,
                "operator_code": row.envelope.operator_code,
                "territory_code": p.territory_code,
                "action_id": p.action_id,
                "title": p.title,
                "beneficiary_name": p.beneficiary_name,
                "beneficiary_siren": p.beneficiary_siren,
                "reference": p.reference,
                "amount_cents": p.amount_cents,
                "eligible_spending_cents": p.eligible_spending_cents,
                "cap_waiver": p.cap_waiver,
                "decision_date": p.decision_date,
                "status": p.status,
                "disbursed_cents": 0,
                "released_cents": 0,
                "is_demo": is_demo,
                "version": 1,
                "created_at": now,
                "created_by": who.sub,
                "updated_at": now,
                "committed_at": now if committed else None,
            }
        )
        regions.extend({"allocation_id": allocation_id, "region_code": r} for r in row.region_codes)
        if committed:
            tranche = locked[row.tranche.id]
            tranche.committed_cents += p.amount_cents
            movements.append(
                entries.commitment(
                    actor=who,
                    tranche=tranche,
                    allocation_id=allocation_id,
                    operator_code=row.envelope.operator_code,
                    territory_code=p.territory_code,
                    amount_cents=p.amount_cents,
                    decision_date=p.decision_date,
                    is_demo=is_demo,
                )
            )
        outcome.ids.append(allocation_id)
    outcome.stored = [
        (values, row.region_codes) for values, row in zip(allocations, checked, strict=True)
    ]
    await session.execute(insert(Allocation), allocations)
    if regions:
        await session.execute(insert(AllocationRegion), regions)
    await session.flush()
    await ledger.append(session, movements)
    await emit(
        session,
        [
            events.allocation_event(
                str(values["status"]),
                values,
                region_codes=list(row.region_codes),
                examined_by=row.envelope.examined_by,
                actor_org=who.org,
            )
            for values, row in zip(allocations, checked, strict=True)
        ],
    )
    return outcome


def _check_locally(
    caller: Caller,
    index: int,
    payload: AllocationCreate,
    envelopes: dict[str, Envelope],
    tranches: dict[tuple[str, int], Tranche],
) -> _Row:
    envelope = envelopes.get(payload.envelope_code)
    if envelope is None:
        raise NotFound("envelope", payload.envelope_code)
    check_allocates(caller, envelope)
    tranche = tranches.get((payload.envelope_code, payload.year))
    if tranche is None:
        raise Unprocessable.field(
            "body", "year", f"envelope {envelope.code} has no tranche for {payload.year}"
        )
    rules.check_award_rules(
        envelope,
        amount_cents=payload.amount_cents,
        eligible_spending_cents=payload.eligible_spending_cents,
        cap_waiver=payload.cap_waiver,
    )
    return _Row(index, payload, envelope, tranche)


async def _taken(session: AsyncSession, rows: list[_Row]) -> set[tuple[str, str]]:
    return await queries.taken_references(
        session,
        ((r.envelope.operator_code, r.payload.reference) for r in rows if r.payload.reference),
    )


def _check_references_unique(
    rows: list[_Row], outcome: Outcome, taken: set[tuple[str, str]]
) -> None:
    seen: set[tuple[str, str]] = set()
    for row in list(rows):
        if not row.payload.reference:
            continue
        key = (row.envelope.operator_code, row.payload.reference)
        if key in taken or key in seen:
            outcome.problems.append(
                (
                    row.index,
                    Conflict(
                        f"{key[0]} already has an allocation with reference {key[1]!r}.",
                        reference=key[1],
                    ),
                )
            )
            rows.remove(row)
        seen.add(key)


async def check_owners(
    owners: Owners, payload: AllocationCreate | AllocationUpdate
) -> tuple[str, ...]:
    """The territory's regions; 422 when an owner does not know what is named."""
    regions: tuple[str, ...] = ()
    if payload.territory_code is not None:
        territory = await owners.territory(payload.territory_code)
        if territory is None:
            raise Unprocessable.field(
                "body",
                "territory_code",
                f"the registry knows no territory {payload.territory_code!r}",
            )
        regions = territory.region_codes
    if payload.action_id is not None and not await owners.action_exists(payload.action_id):
        raise Unprocessable.field(
            "body", "action_id", f"the contracts service knows no action {payload.action_id}"
        )
    return regions


async def create(
    session: AsyncSession, *, caller: Caller, owners: Owners, payload: AllocationCreate
) -> Allocation:
    outcome = await create_many(session, caller=caller, owners=owners, rows=[payload])
    if outcome.problems:
        raise outcome.problems[0][1]
    values, regions = outcome.stored[0]
    return Allocation(**values, regions=[AllocationRegion(region_code=r) for r in regions])


# Reading


async def envelope_of(session: AsyncSession, allocation: Allocation) -> Envelope:
    envelope = await envelope_queries.by_code(session, allocation.envelope_code)
    assert envelope is not None  # the tranche's foreign key guarantees it
    return envelope


async def allocation(
    session: AsyncSession, *, caller: Caller | None, allocation_id: uuid.UUID
) -> Allocation:
    found = or_not_found(await session.get(Allocation, allocation_id), "allocation", allocation_id)
    envelope = await envelope_of(session, found)
    check_allocation_visible(caller, found, envelope.examined_by, asked=allocation_id)
    return found


async def read_by_id(
    rows: RowReader, *, caller: Caller | None, allocation_id: uuid.UUID
) -> tuple[Any, ...]:
    """One allocation's row of `queries.READ_COLUMNS` (`reads.document` serves it), read through
    the driver in one statement (no session: a read by key pays no transaction and no ORM); a
    private one is a 404 to whoever may not see it."""
    found = await rows.all(queries.BY_ID, id=allocation_id)
    if not found:
        raise NotFound("allocation", allocation_id)
    row = found[0]
    # `BY_ID`: the read's columns, then the envelope's examiner.
    status_seen = (row[_COMMITTED_AT], row[_OPERATOR_CODE], row[-1])
    _check_seen(caller, status_seen, asked=allocation_id)
    return row


async def check_seen(rows: RowReader, *, caller: Caller | None, allocation_id: uuid.UUID) -> None:
    """The allocation exists for the caller (a 404 otherwise), read through the driver."""
    found = await rows.all(queries.VISIBILITY, id=allocation_id)
    _check_seen(caller, found and found[0], asked=allocation_id)


def _check_seen(caller: Caller | None, found: Any, *, asked: uuid.UUID) -> None:
    # `found`: (committed_at, operator_code, examined_by), or nothing: no such allocation.
    if not found:
        raise NotFound("allocation", asked)
    committed_at, operator_code, examined_by = found
    check_visible(
        caller,
        committed_at=committed_at,
        operator_code=operator_code,
        examined_by=examined_by,
        asked=asked,
    )


async def allocations(
    rows: RowReader, *, caller: Caller | None, params: ListParams, filters: dict[str, Any]
) -> RowsPage:
    """A page of rows of `queries.READ_COLUMNS` the caller may see, read through the driver (no
    ORM record); `reads.ALLOCATIONS` answers it."""
    private_for, all_private = private_scope(caller)
    stmt, values = queries.kept_list(
        private_for=private_for, all_private=all_private, filters=filters
    )
    return await reads.ALLOCATIONS.page(rows, stmt, params=params, values=values)


_NAMES = [c.key for c in queries.READ_COLUMNS]
_COMMITTED_AT, _OPERATOR_CODE = _NAMES.index("committed_at"), _NAMES.index("operator_code")
