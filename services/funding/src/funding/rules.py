"""The programme's money rules, each written once, as pure functions of the figures.

Every path that moves money calls these: a single write, a bulk push, the seed loaders. They
read the rows they are given and raise a domain error (with the figures) when a rule is broken;
locking the rows first, so that the figures are the current ones, is the caller's part:

- a tranche is never over-committed: what is committed stays within its amount, and a cut never
  takes the amount below what is committed;
- an allocation is never over-disbursed, and only a committed allocation is paid;
- an allocation keeps to its envelope's award rules (rate, cap per project, minimum spending);
- a part never holds more than its whole (nested envelopes).
"""

from __future__ import annotations

from typing import Any

from funding.models import Allocation, Envelope, Tranche
from funding.schemas import MAX_CENTS
from tdi_kit.errors import Conflict, FieldError, Unprocessable

DISBURSABLE = ("committed", "partly_disbursed")
CANCELLABLE = ("proposed", "committed", "partly_disbursed")


# Tranches: what is committed stays within the amount


def available_cents(tranche: Tranche) -> int:
    """What the tranche still has to commit."""
    return tranche.amount_cents - tranche.committed_cents


def check_commitment(tranche: Tranche, *, amount_cents: int, available: int | None = None) -> None:
    """Refuse (409) a commitment beyond what the tranche has left. `available` is what is left
    once the rows before it in the same push are counted (default: the tranche's figure)."""
    left = available_cents(tranche) if available is None else available
    if amount_cents > left:
        raise Conflict(
            f"The {tranche.year} tranche of envelope {tranche.envelope_code} has {left} cents "
            f"left to commit; {amount_cents} were asked.",
            envelope_code=tranche.envelope_code,
            year=tranche.year,
            available_cents=left,
            requested_cents=amount_cents,
        )


def check_adjustment(tranche: Tranche, *, delta_cents: int) -> int:
    """The tranche's amount after a top-up or a cut: never below what is committed (409), never
    beyond what a tranche holds (422)."""
    new_amount = tranche.amount_cents + delta_cents
    if new_amount < tranche.committed_cents:
        raise Conflict(
            f"The tranche cannot go below what is committed ({tranche.committed_cents} cents).",
            amount_cents=tranche.amount_cents,
            committed_cents=tranche.committed_cents,
            delta_cents=delta_cents,
        )
    if new_amount > MAX_CENTS:
        raise Unprocessable.field("body", "delta_cents", f"a tranche holds at most {MAX_CENTS}")
    return new_amount


# Allocations: paid within what is committed


def undisbursed_cents(allocation: Allocation) -> int:
    """What is committed to the allocation and neither paid nor given back."""
    committed = 0 if allocation.status == "proposed" else allocation.amount_cents
    return undisbursed(
        committed_cents=committed,
        released_cents=allocation.released_cents,
        disbursed_cents=allocation.disbursed_cents,
    )


def undisbursed(*, committed_cents: int, released_cents: int, disbursed_cents: int) -> int:
    """The same from the figures (a list reads them as columns, not records)."""
    return committed_cents - released_cents - disbursed_cents


def check_disbursement(allocation: Allocation, *, amount_cents: int, left: int) -> None:
    """Refuse (409) paying an allocation that is not committed, or beyond `left`: what it has
    left to pay once the rows before it in the same push are counted."""
    if allocation.status not in DISBURSABLE:
        raise Conflict(
            f"Allocation {allocation.id} is {allocation.status}: only a committed allocation is "
            "disbursed.",
            status_now=allocation.status,
        )
    if amount_cents > left:
        raise Conflict(
            f"Allocation {allocation.id} has {left} cents left to disburse; "
            f"{amount_cents} were asked.",
            allocation_id=str(allocation.id),
            undisbursed_cents=left,
            requested_cents=amount_cents,
        )


def status_after_disbursement(allocation: Allocation) -> str:
    if allocation.disbursed_cents == allocation.amount_cents:
        return "fully_disbursed"
    return "partly_disbursed"


def check_cancellable(allocation: Allocation) -> int:
    """What a cancellation gives back to the tranche: what was committed and not disbursed
    (nothing for a proposal). 409 when the allocation is past cancelling."""
    if allocation.status not in CANCELLABLE:
        raise Conflict(
            f"Allocation {allocation.id} is {allocation.status} and cannot be cancelled.",
            status_now=allocation.status,
        )
    if allocation.status == "proposed":
        return 0
    return allocation.amount_cents - allocation.disbursed_cents


# Award rules of an envelope


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


def check_allocation_award_rules(envelope: Envelope, allocation: Allocation) -> None:
    """The award rules, on an allocation as it stands."""
    check_award_rules(
        envelope,
        amount_cents=allocation.amount_cents,
        eligible_spending_cents=allocation.eligible_spending_cents,
        cap_waiver=allocation.cap_waiver,
    )


# Nested envelopes: a part never holds more than its whole


def check_parts_fit(
    whole_code: str, parts: list[str], *, whole_cents: int, held_cents: int
) -> None:
    """Refuse (409) parts whose amounts add up to more than their whole's."""
    if held_cents > whole_cents:
        raise Conflict(
            f"The parts of envelope {whole_code} ({', '.join(parts)}) would hold "
            f"{held_cents} cents, more than its {whole_cents}.",
            envelope_code=whole_code,
            amount_cents=whole_cents,
            parts_amount_cents=held_cents,
        )
