"""Allocations and disbursements: the programme's rules on money.

- A tranche is never over-committed and an allocation never over-disbursed. The rows that hold
  the running totals are locked before they are checked (PostgreSQL: SELECT ... FOR UPDATE;
  SQLite serialises writers with BEGIN IMMEDIATE), allocations before tranches, each kind in id
  order, so that concurrent writers queue and never deadlock.
- An allocation that breaks its envelope's award rules (rate, cap, minimum spending) is refused
  with 422 and the figures.
- A cancellation gives back to the tranche what was committed and not disbursed.
- Every movement of money is a ledger entry, written in the same transaction as the totals.

One path serves single writes and bulk pushes: a bulk push is all or nothing, and reports every
bad row with the problem it would have had on its own.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from funding.access import check_allocates, check_allocation_visible, private_scope
from funding.allocations import queries
from funding.envelopes import queries as envelope_queries
from funding.ledger import service as ledger
from funding.ledger.service import Actor
from funding.models import Allocation, AllocationRegion, Disbursement, Envelope, Tranche
from funding.references import Owners
from funding.responses import etag_of
from funding.schemas import (
    AllocationCreate,
    AllocationRead,
    AllocationUpdate,
    Cancellation,
    DisbursementCreate,
    DisbursementRead,
    DisbursementRow,
    RowProblem,
)
from tdi_kit.auth import Caller
from tdi_kit.conditional import check_if_match
from tdi_kit.errors import Conflict, FieldError, NotFound, Problem, Unprocessable
from tdi_kit.pagination import ListParams, all_rows, paginate, parse_sort

DISBURSABLE = ("committed", "partly_disbursed")
CANCELLABLE = ("proposed", "committed", "partly_disbursed")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def read(allocation: Allocation) -> AllocationRead:
    committed = 0 if allocation.status == "proposed" else allocation.amount_cents
    return AllocationRead(
        id=allocation.id,
        envelope_code=allocation.envelope_code,
        year=allocation.year,
        operator_code=allocation.operator_code,
        territory_code=allocation.territory_code,
        region_codes=[r.region_code for r in allocation.regions],
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
        undisbursed_cents=committed - allocation.released_cents - allocation.disbursed_cents,
        cancel_reason=allocation.cancel_reason,
        is_demo=allocation.is_demo,
        version=allocation.version,
        created_at=allocation.created_at,
        updated_at=allocation.updated_at,
        committed_at=allocation.committed_at,
        cancelled_at=allocation.cancelled_at,
    )


# Award rules


def check_award_rules(
    envelope: Envelope,
    *,
    amount_cents: int,
    eligible_spending_cents: int | None,
    cap_waiver: str | None,
) -> None:
    """Refuse (422, with the figures) an amount the envelope's rules do not allow."""
    errors: list[FieldError] = []
    figures: dict[str, Any] = {}  # int figures, passed as the problem's extra members

    def refuse(name: str, message: str) -> None:
        errors.append(FieldError(location="body", field=name, message=message, type="award_rule"))

    spending = eligible_spending_cents
    needs_spending = envelope.max_rate_percent is not None or (
        envelope.min_eligible_spending_cents is not None
    )
    if needs_spending and spending is None:
        refuse(
            "eligible_spending_cents",
            f"envelope {envelope.code} funds a share of the eligible spending: give it",
        )
    if spending is not None:
        if amount_cents > spending:
            refuse("amount_cents", f"{amount_cents} is more than the eligible spending {spending}")
        minimum = envelope.min_eligible_spending_cents
        if minimum is not None and spending < minimum:
            figures["min_eligible_spending_cents"] = minimum
            refuse(
                "eligible_spending_cents",
                f"the envelope funds projects from {minimum} cents of eligible spending",
            )
        rate = envelope.max_rate_percent
        if rate is not None and amount_cents * 100 > spending * rate:
            figures["max_amount_cents"] = spending * rate // 100
            refuse(
                "amount_cents",
                f"{amount_cents} is over {rate}% of the eligible spending "
                f"({figures['max_amount_cents']} cents)",
            )
    cap = envelope.cap_per_project_cents
    if cap_waiver is not None and not envelope.cap_waivable:
        refuse("cap_waiver", f"the cap of envelope {envelope.code} cannot be waived")
    if cap is not None and amount_cents > cap and not (envelope.cap_waivable and cap_waiver):
        figures["cap_per_project_cents"] = cap
        refuse(
            "amount_cents",
            f"{amount_cents} is over the cap of {cap} cents per project"
            + (
                " (unless waived: name the decision in cap_waiver)" if envelope.cap_waivable else ""
            ),
        )
    if errors:
        raise Unprocessable(
            f"The allocation breaks the award rules of envelope {envelope.code}.",
            errors=errors,
            envelope_code=envelope.code,
            amount_cents=amount_cents,
            eligible_spending_cents=spending,
            **figures,
        )


def _over_committed(tranche: Tranche, amount: int, available: int) -> Conflict:
    return Conflict(
        f"The {tranche.year} tranche of envelope {tranche.envelope_code} has {available} cents "
        f"left to commit; {amount} were asked.",
        envelope_code=tranche.envelope_code,
        year=tranche.year,
        available_cents=available,
        requested_cents=amount,
    )


# Creating allocations, one or many


@dataclass
class Outcome:
    """What a push did: the ids stored, or the problem of each bad row (then nothing stored)."""

    ids: list[uuid.UUID] = field(default_factory=list)
    problems: list[tuple[int, Problem]] = field(default_factory=list)
    # What was stored (columns, regions): a single write answers with it, not reading it back.
    stored: list[tuple[dict[str, Any], tuple[str, ...]]] = field(default_factory=list)


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
            row.region_codes = await _check_owners(owners, row.payload)
        except Unprocessable as problem:
            outcome.problems.append((row.index, problem))
            checked.remove(row)

    committing = [r for r in checked if r.payload.status == "committed"]
    locked = await envelope_queries.lock_tranches(session, [r.tranche.id for r in committing])
    available = {t.id: t.amount_cents - t.committed_cents for t in locked.values()}
    for row in committing:
        amount = row.payload.amount_cents
        if amount > available[row.tranche.id]:
            over = _over_committed(locked[row.tranche.id], amount, available[row.tranche.id])
            outcome.problems.append((row.index, over))
        else:
            available[row.tranche.id] -= amount
    if outcome.problems or any(r is None for r in rows):
        outcome.problems.sort(key=lambda p: p[0])
        return outcome

    who = actor or Actor.of(caller)
    now = _now()
    allocations, entries = [], []
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
            entries.append(
                ledger.entry(
                    "commitment",
                    actor=who,
                    tranche=tranche,
                    operator_code=row.envelope.operator_code,
                    committed=p.amount_cents,
                    allocation_id=allocation_id,
                    territory_code=p.territory_code,
                    effective_on=p.decision_date,
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
    await ledger.append(session, entries)
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
    check_award_rules(
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


async def _check_owners(
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


async def _envelope_of(session: AsyncSession, allocation: Allocation) -> Envelope:
    envelope = await envelope_queries.by_code(session, allocation.envelope_code)
    assert envelope is not None  # the tranche's foreign key guarantees it
    return envelope


async def allocation(
    session: AsyncSession, *, caller: Caller | None, allocation_id: uuid.UUID
) -> Allocation:
    found = await session.get(Allocation, allocation_id)
    if found is None:
        raise NotFound("allocation", allocation_id)
    envelope = await _envelope_of(session, found)
    check_allocation_visible(caller, found, envelope.examined_by, asked=allocation_id)
    return found


async def allocations(
    session: AsyncSession, *, caller: Caller | None, params: ListParams, filters: dict[str, Any]
) -> tuple[list[Allocation], str | None]:
    sort = parse_sort(
        params.sort, allowed=queries.SORTABLE, default="created_at", unique=("id", Allocation.id)
    )
    private_for, all_private = private_scope(caller)
    stmt = queries.allocations(private_for=private_for, all_private=all_private, **filters)
    if params.format == "csv":
        return await all_rows(session, stmt, sort=sort), None
    return await paginate(session, stmt, sort=sort, params=params)


async def disbursements(
    session: AsyncSession, *, caller: Caller | None, allocation_id: uuid.UUID, params: ListParams
) -> tuple[list[Disbursement], str | None]:
    await allocation(session, caller=caller, allocation_id=allocation_id)
    sort = parse_sort(
        params.sort,
        allowed=queries.DISBURSEMENT_SORTABLE,
        default="created_at",
        unique=("id", Disbursement.id),
    )
    stmt = queries.disbursements(allocation_id)
    if params.format == "csv":
        return await all_rows(session, stmt, sort=sort), None
    return await paginate(session, stmt, sort=sort, params=params)


# Changing one allocation


async def _for_write(
    session: AsyncSession, *, caller: Caller, allocation_id: uuid.UUID, if_match: str | None
) -> tuple[Allocation, Envelope]:
    """The allocation locked, visible to the caller, theirs to change, and as they last read it."""
    found = (await queries.lock_allocations(session, [allocation_id])).get(allocation_id)
    if found is None:
        raise NotFound("allocation", allocation_id)
    envelope = await _envelope_of(session, found)
    check_allocation_visible(caller, found, envelope.examined_by, asked=allocation_id)
    check_allocates(caller, envelope)
    check_if_match(if_match, etag_of(read(found)), what="allocation")
    return found, envelope


async def update(
    session: AsyncSession,
    *,
    caller: Caller,
    owners: Owners,
    allocation_id: uuid.UUID,
    payload: AllocationUpdate,
    if_match: str | None,
) -> Allocation:
    """Only a proposed allocation changes: once committed, its money moves through
    disbursements and cancellation, each in the ledger."""
    regions = await _check_owners(owners, payload)
    found, envelope = await _for_write(
        session, caller=caller, allocation_id=allocation_id, if_match=if_match
    )
    if found.status != "proposed":
        raise Conflict(
            f"Allocation {allocation_id} is {found.status}: only a proposed allocation changes.",
            status_now=found.status,
        )
    changes = payload.model_dump(exclude_unset=True)
    if changes.get("reference") and changes["reference"] != found.reference:
        taken = await queries.taken_references(
            session, [(found.operator_code, changes["reference"])]
        )
        if taken:
            raise Conflict(
                f"{found.operator_code} already has an allocation with reference "
                f"{changes['reference']!r}.",
                reference=changes["reference"],
            )
    for name, value in changes.items():
        if (
            name in ("territory_code", "title", "beneficiary_name", "amount_cents")
            and value is None
        ):
            raise Unprocessable.field("body", name, "cannot be null")
        setattr(found, name, value)
    if payload.territory_code is not None:
        found.regions = [r for r in found.regions if r.region_code in regions]
        held = {r.region_code for r in found.regions}
        found.regions.extend(AllocationRegion(region_code=r) for r in regions if r not in held)
    check_award_rules(
        envelope,
        amount_cents=found.amount_cents,
        eligible_spending_cents=found.eligible_spending_cents,
        cap_waiver=found.cap_waiver,
    )
    found.version += 1
    found.updated_at = _now()
    await session.flush()
    return found


async def commit(
    session: AsyncSession, *, caller: Caller, allocation_id: uuid.UUID, if_match: str | None
) -> Allocation:
    """proposed → committed, if the tranche still has the money and the rules still allow it."""
    found, envelope = await _for_write(
        session, caller=caller, allocation_id=allocation_id, if_match=if_match
    )
    if found.status != "proposed":
        raise Conflict(f"Allocation {allocation_id} is already {found.status}.")
    check_award_rules(
        envelope,
        amount_cents=found.amount_cents,
        eligible_spending_cents=found.eligible_spending_cents,
        cap_waiver=found.cap_waiver,
    )
    tranche = (await envelope_queries.lock_tranches(session, [found.tranche_id]))[found.tranche_id]
    available = tranche.amount_cents - tranche.committed_cents
    if found.amount_cents > available:
        raise _over_committed(tranche, found.amount_cents, available)
    tranche.committed_cents += found.amount_cents
    found.status = "committed"
    found.committed_at = found.updated_at = _now()
    found.version += 1
    await ledger.append(
        session,
        [
            ledger.entry(
                "commitment",
                actor=Actor.of(caller),
                tranche=tranche,
                operator_code=found.operator_code,
                committed=found.amount_cents,
                allocation_id=found.id,
                territory_code=found.territory_code,
                effective_on=found.decision_date,
                is_demo=found.is_demo,
            )
        ],
    )
    await session.flush()
    return found


async def cancel(
    session: AsyncSession,
    *,
    caller: Caller,
    allocation_id: uuid.UUID,
    payload: Cancellation,
    if_match: str | None,
) -> Allocation:
    """Cancel; what was committed and not disbursed goes back to the tranche."""
    found, _ = await _for_write(
        session, caller=caller, allocation_id=allocation_id, if_match=if_match
    )
    if found.status not in CANCELLABLE:
        raise Conflict(
            f"Allocation {allocation_id} is {found.status} and cannot be cancelled.",
            status_now=found.status,
        )
    if found.status != "proposed":
        release = found.amount_cents - found.disbursed_cents
        tranche = (await envelope_queries.lock_tranches(session, [found.tranche_id]))[
            found.tranche_id
        ]
        tranche.committed_cents -= release
        found.released_cents = release
        await ledger.append(
            session,
            [
                ledger.entry(
                    "release",
                    actor=Actor.of(caller),
                    tranche=tranche,
                    operator_code=found.operator_code,
                    committed=-release,
                    allocation_id=found.id,
                    territory_code=found.territory_code,
                    note=payload.reason,
                    is_demo=found.is_demo,
                )
            ],
        )
    found.status = "cancelled"
    found.cancel_reason = payload.reason
    found.cancelled_at = found.updated_at = _now()
    found.version += 1
    await session.flush()
    return found


# Disbursements, one or many


async def disburse_many(
    session: AsyncSession,
    *,
    caller: Caller,
    rows: Sequence[DisbursementRow | None],
    actor: Actor | None = None,
    is_demo: bool = False,
) -> Outcome:
    outcome = Outcome()
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

    locked = await queries.lock_allocations(session, [a for _, _, a, _ in wanted])
    envelopes = await queries.envelopes_by_code(session, {a.envelope_code for a in locked.values()})
    remaining = {a.id: a.amount_cents - a.disbursed_cents for a in locked.values()}
    accepted: list[tuple[int, DisbursementRow, Allocation]] = []
    for index, row, allocation_id, asked in wanted:
        found = locked.get(allocation_id)
        try:
            if found is None:
                raise NotFound("allocation", asked)
            envelope = envelopes[found.envelope_code]
            check_allocation_visible(caller, found, envelope.examined_by, asked=asked)
            check_allocates(caller, envelope)
            if found.status not in DISBURSABLE:
                raise Conflict(
                    f"Allocation {found.id} is {found.status}: only a committed allocation is "
                    "disbursed.",
                    status_now=found.status,
                )
            if row.amount_cents > remaining[found.id]:
                raise Conflict(
                    f"Allocation {found.id} has {remaining[found.id]} cents left to disburse; "
                    f"{row.amount_cents} were asked.",
                    allocation_id=str(found.id),
                    undisbursed_cents=remaining[found.id],
                    requested_cents=row.amount_cents,
                )
        except Problem as problem:
            outcome.problems.append((index, problem))
            continue
        remaining[found.id] -= row.amount_cents
        accepted.append((index, row, found))
    if outcome.problems or any(r is None for r in rows):
        outcome.problems.sort(key=lambda p: p[0])
        return outcome

    who = actor or Actor.of(caller)
    now = _now()
    tranches = await envelope_queries.lock_tranches(
        session, sorted({a.tranche_id for _, _, a in accepted})
    )
    disbursements, entries = [], []
    for _, row, found in accepted:
        disbursement_id = uuid.uuid4()
        disbursements.append(
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
        found.status = (
            "fully_disbursed" if found.disbursed_cents == found.amount_cents else "partly_disbursed"
        )
        found.version += 1
        found.updated_at = now
        tranche = tranches[found.tranche_id]
        tranche.disbursed_cents += row.amount_cents
        entries.append(
            ledger.entry(
                "disbursement",
                actor=who,
                tranche=tranche,
                operator_code=found.operator_code,
                disbursed=row.amount_cents,
                allocation_id=found.id,
                disbursement_id=disbursement_id,
                territory_code=found.territory_code,
                effective_on=row.paid_on,
                note=row.reference or "",
                is_demo=is_demo or found.is_demo,
            )
        )
        outcome.ids.append(disbursement_id)
    await session.execute(insert(Disbursement), disbursements)
    await session.flush()
    await ledger.append(session, entries)
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


def disbursement_read(disbursement: Disbursement) -> DisbursementRead:
    return DisbursementRead.model_validate(disbursement)


# Bulk push reports


def row_problem(index: int, problem: Problem) -> RowProblem:
    return RowProblem(
        row=index + 1,
        status=problem.status,
        detail=problem.detail or problem.title,
        errors=[
            {"field": e.field, "message": e.message, "type": e.type} for e in problem.errors or []
        ],
    )


def refuse_push(problems: list[RowProblem], total: int) -> Unprocessable:
    return Unprocessable(
        f"{len(problems)} of {total} rows are refused; nothing was stored. Fix them and push "
        "the whole file again.",
        rows=[p.model_dump() for p in problems],
    )
