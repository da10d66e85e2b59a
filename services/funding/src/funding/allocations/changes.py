"""Changing one allocation: its proposal (update), its commitment, its cancellation.

Each change locks the allocation, checks that the caller may change it and last read it as it
is (If-Match), then applies the programme's rules (`funding.rules`): only a proposal changes,
a commitment keeps within the tranche and the award rules, and a cancellation gives back to
the tranche what was committed and not disbursed. Every movement of money is a ledger entry,
written in the same transaction as the totals.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from funding import events, rules
from funding.access import check_allocates, check_allocation_visible
from funding.allocations import queries, service
from funding.envelopes import queries as envelope_queries
from funding.ledger import entries
from funding.ledger import service as ledger
from funding.ledger.entries import Actor
from funding.models import Allocation, AllocationRegion, Envelope
from funding.references import Owners
from funding.schemas import AllocationUpdate, Cancellation
from tdi_kit import clock
from tdi_kit.auth import Caller
from tdi_kit.conditional import check_if_match
from tdi_kit.documents import etag_of
from tdi_kit.errors import Conflict, NotFound, Unprocessable
from tdi_kit.events import emit


async def _for_write(
    session: AsyncSession, *, caller: Caller, allocation_id: uuid.UUID, if_match: str | None
) -> tuple[Allocation, Envelope]:
    """The allocation locked, visible to the caller, theirs to change, and as they last read it."""
    found = (await queries.lock_allocations(session, [allocation_id])).get(allocation_id)
    if found is None:
        raise NotFound("allocation", allocation_id)
    envelope = await service.envelope_of(session, found)
    check_allocation_visible(caller, found, envelope.examined_by, asked=allocation_id)
    check_allocates(caller, envelope)
    check_if_match(if_match, etag_of(await service.read(session, found)), what="allocation")
    return found, envelope


async def _changed(
    session: AsyncSession,
    kind: str,
    found: Allocation,
    envelope: Envelope,
    caller: Caller,
    *,
    changed: list[str] | None = None,
) -> Allocation:
    """Flush the change, and emit its `allocation.<kind>` event in the same transaction."""
    await session.flush()
    event = events.allocation_event(
        kind, found, examined_by=envelope.examined_by, actor_org=caller.org, changed=changed
    )
    await emit(session, event)
    return found


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
    regions = await service.check_owners(owners, payload)
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
    rules.check_allocation_award_rules(envelope, found)
    found.version += 1
    found.updated_at = clock.now()
    return await _changed(session, "changed", found, envelope, caller, changed=sorted(changes))


async def commit(
    session: AsyncSession, *, caller: Caller, allocation_id: uuid.UUID, if_match: str | None
) -> Allocation:
    """proposed → committed, if the tranche still has the money and the rules still allow it."""
    found, envelope = await _for_write(
        session, caller=caller, allocation_id=allocation_id, if_match=if_match
    )
    if found.status != "proposed":
        raise Conflict(f"Allocation {allocation_id} is already {found.status}.")
    rules.check_allocation_award_rules(envelope, found)
    tranche = (await envelope_queries.lock_tranches(session, [found.tranche_id]))[found.tranche_id]
    rules.check_commitment(tranche, amount_cents=found.amount_cents)
    tranche.committed_cents += found.amount_cents
    found.status = "committed"
    found.committed_at = found.updated_at = clock.now()
    found.version += 1
    await ledger.append(
        session,
        [
            entries.commitment(
                actor=Actor.of(caller),
                tranche=tranche,
                allocation_id=found.id,
                operator_code=found.operator_code,
                territory_code=found.territory_code,
                amount_cents=found.amount_cents,
                decision_date=found.decision_date,
                is_demo=found.is_demo,
            )
        ],
    )
    return await _changed(session, "committed", found, envelope, caller)


async def cancel(
    session: AsyncSession,
    *,
    caller: Caller,
    allocation_id: uuid.UUID,
    payload: Cancellation,
    if_match: str | None,
) -> Allocation:
    """Cancel; what was committed and not disbursed goes back to the tranche."""
    found, envelope = await _for_write(
        session, caller=caller, allocation_id=allocation_id, if_match=if_match
    )
    release = rules.check_cancellable(found)
    if found.status != "proposed":
        tranche = (await envelope_queries.lock_tranches(session, [found.tranche_id]))[
            found.tranche_id
        ]
        tranche.committed_cents -= release
        found.released_cents = release
        await ledger.append(
            session,
            [
                entries.release(
                    actor=Actor.of(caller),
                    tranche=tranche,
                    allocation=found,
                    amount_cents=release,
                    reason=payload.reason,
                )
            ],
        )
    found.status = "cancelled"
    found.cancel_reason = payload.reason
    found.cancelled_at = found.updated_at = clock.now()
    found.version += 1
    return await _changed(session, "cancelled", found, envelope, caller)
