"""Who may write and read what: the operator scoping rules, in one place.

- Writes need scope `funding:write` (or `admin`). An operator's token (`org=bpifrance`) writes
  only the records of its organisation: the conventions and envelopes it operates, and the
  allocations and disbursements of those envelopes. The organisation that examines an envelope's
  applications (`rules.examined_by`, such as Bpifrance for the Fonds d'accélération) records its
  allocations too, but does not change the envelope. `admin` writes everything.
- Reads of conventions, envelopes, balances and of allocations once committed are anonymous. A
  proposed allocation is a file under examination: only its operator, its examiner and `admin`
  see it; to anyone else it does not exist (404). The ledger names who did what: it is read
  with a token, an operator seeing its own envelopes' movements.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from funding.models import Allocation, Envelope
from tdi_kit.auth import Caller, require_scope
from tdi_kit.errors import Forbidden, NotFound

WRITE_SCOPE = "funding:write"
Writer = Annotated[Caller, Depends(require_scope(WRITE_SCOPE))]


def _org_of(caller: Caller) -> str:
    if caller.org is None:
        raise Forbidden("This token names no organisation; only an admin token writes for all.")
    return caller.org


def check_operates(caller: Caller, operator_code: str, *, what: str) -> None:
    """The caller writes for this operator."""
    if caller.is_admin:
        return
    if _org_of(caller) != operator_code:
        raise Forbidden(
            f"This {what} belongs to {operator_code}; a token of {caller.org} cannot change it.",
            operator_code=operator_code,
        )


def allocators(envelope: Envelope) -> set[str]:
    return {envelope.operator_code} | ({envelope.examined_by} if envelope.examined_by else set())


def check_allocates(caller: Caller, envelope: Envelope) -> None:
    """The caller records allocations on this envelope."""
    if caller.is_admin:
        return
    if _org_of(caller) not in allocators(envelope):
        raise Forbidden(
            f"Envelope {envelope.code} is managed by {envelope.operator_code}; a token of "
            f"{caller.org} cannot allocate from it.",
            operator_code=envelope.operator_code,
        )


def sees_private(caller: Caller | None, *, operator_code: str, examined_by: str | None) -> bool:
    if caller is None:
        return False
    return caller.is_admin or caller.org in {operator_code, examined_by}


def check_allocation_visible(
    caller: Caller | None, allocation: Allocation, examined_by: str | None
) -> None:
    """A proposed allocation is private: anyone else is told it does not exist."""
    if allocation.status == "proposed" and not sees_private(
        caller, operator_code=allocation.operator_code, examined_by=examined_by
    ):
        raise NotFound("allocation", allocation.id)
