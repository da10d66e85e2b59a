"""The ledger's entries, one constructor per movement of money.

Each constructor fills the figures its movement moves, and only those: an endowment moves a
tranche's amount, a commitment and a release what is committed, a disbursement what is paid.
The rows are ready for a bulk insert (`ledger.service.append`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from funding.models import Allocation, Tranche
from tdi_kit import clock
from tdi_kit.auth import Caller
from tdi_kit.observability import current_request_id


@dataclass(frozen=True)
class Actor:
    """Who made a movement: a token's subject and organisation, or `seed` for the loaders."""

    sub: str
    org: str | None = None

    @classmethod
    def of(cls, caller: Caller) -> Actor:
        return cls(caller.sub, caller.org)


SEED = Actor("seed")


def _entry(
    kind: str, *, actor: Actor, tranche: Tranche, operator_code: str, **moved: Any
) -> dict[str, Any]:
    """A ledger row: who, when, which tranche, and what `moved` names (the figures moved, the
    allocation, territory, note...); what it does not name is empty."""
    return {
        "kind": kind,
        "at": clock.now(),
        "actor": actor.sub,
        "actor_org": actor.org,
        "request_id": current_request_id(),
        "tranche_id": tranche.id,
        "envelope_code": tranche.envelope_code,
        "year": tranche.year,
        "operator_code": operator_code,
        **_EMPTY,
        **moved,
    }


_EMPTY: dict[str, Any] = {
    "effective_on": None,
    "allocation_id": None,
    "disbursement_id": None,
    "territory_code": None,
    "funder_code": None,
    "amount_delta_cents": 0,
    "committed_delta_cents": 0,
    "disbursed_delta_cents": 0,
    "note": "",
    "is_demo": False,
}


def endowment(
    *,
    actor: Actor,
    tranche: Tranche,
    operator_code: str,
    amount_cents: int,
    note: str,
    is_demo: bool,
    funder_code: str | None,
    effective_on: dt.date | None = None,
) -> dict[str, Any]:
    """Money put into a tranche (or taken out of it: a cut is a negative endowment)."""
    return _entry(
        "endowment",
        actor=actor,
        tranche=tranche,
        operator_code=operator_code,
        amount_delta_cents=amount_cents,
        effective_on=effective_on,
        note=note,
        is_demo=is_demo,
        funder_code=funder_code,
    )


def commitment(
    *,
    actor: Actor,
    tranche: Tranche,
    allocation_id: uuid.UUID,
    operator_code: str,
    territory_code: str | None,
    amount_cents: int,
    decision_date: dt.date | None,
    is_demo: bool,
) -> dict[str, Any]:
    """Tranche money promised to an allocation, from the day of its decision."""
    return _entry(
        "commitment",
        actor=actor,
        tranche=tranche,
        operator_code=operator_code,
        committed_delta_cents=amount_cents,
        allocation_id=allocation_id,
        territory_code=territory_code,
        effective_on=decision_date,
        is_demo=is_demo,
    )


def _of(allocation: Allocation) -> dict[str, Any]:
    """The columns an entry copies from the allocation it moves money of."""
    return {
        "operator_code": allocation.operator_code,
        "allocation_id": allocation.id,
        "territory_code": allocation.territory_code,
    }


def release(
    *, actor: Actor, tranche: Tranche, allocation: Allocation, amount_cents: int, reason: str
) -> dict[str, Any]:
    """What a cancelled allocation had committed and not disbursed, given back to its tranche."""
    return _entry(
        "release",
        actor=actor,
        tranche=tranche,
        **_of(allocation),
        committed_delta_cents=-amount_cents,
        note=reason,
        is_demo=allocation.is_demo,
    )


def disbursement(
    *,
    actor: Actor,
    tranche: Tranche,
    allocation: Allocation,
    disbursement_id: uuid.UUID,
    amount_cents: int,
    paid_on: dt.date | None,
    reference: str | None,
    is_demo: bool,
) -> dict[str, Any]:
    """Money paid out of an allocation, on the day it was paid."""
    return _entry(
        "disbursement",
        actor=actor,
        tranche=tranche,
        **_of(allocation),
        disbursed_delta_cents=amount_cents,
        disbursement_id=disbursement_id,
        effective_on=paid_on,
        note=reference or "",
        is_demo=is_demo,
    )
