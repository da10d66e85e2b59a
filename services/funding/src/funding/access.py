"""Who may write and read what: the operator scoping rules, in one place.

- Writes need scope `funding:write` (or `admin`). An operator's token (`org=bpifrance`) writes
  only the records of its organisation: the conventions and envelopes it operates, and the
  allocations and disbursements of those envelopes. The organisation that examines an envelope's
  applications (`rules.examined_by`, such as Bpifrance for the Fonds d'accélération) records its
  allocations too, but does not change the envelope. `admin` writes everything.
- Reads of conventions, envelopes, balances and of allocations once committed are anonymous. An
  allocation never committed (proposed, or cancelled while still proposed) is a file under
  examination: only its operator, its envelope's examiner and `admin` see it, with its
  disbursements; to anyone else, a token naming no organisation included, it does not exist
  (the same 404 as an unknown id). The ledger names who did what: it is read with a token, an
  operator seeing its own envelopes' movements.
"""

from __future__ import annotations

from funding.models import Allocation, Envelope
from tdi_kit.auth import Caller, writer
from tdi_kit.errors import Forbidden, NotFound

WRITE_SCOPE = "funding:write"
# An answer that shows private allocations to some callers says it depends on the token: a
# cache keeps each caller's apart (the gateway's aggregates say the same).
VARY = {"Vary": "Authorization"}
Writer = writer(WRITE_SCOPE)


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
    if caller.is_admin:
        return True
    # A token naming no organisation is nobody's operator: `None in {op, None}` must not pass
    # for an envelope without an examiner.
    return caller.org is not None and caller.org in {operator_code, examined_by}


def private_scope(caller: Caller | None) -> tuple[str | None, bool]:
    """For list queries: (the organisation whose private allocations the caller sees besides
    the public ones, whether it sees them all)."""
    if caller is None:
        return None, False
    return caller.org, caller.is_admin


def check_allocation_visible(
    caller: Caller | None, allocation: Allocation, examined_by: str | None, *, asked: object
) -> None:
    """A private allocation does not exist for anyone else. `asked` is what the caller named
    it by (its id, or its reference in a push): the 404 says no more than an unknown key's."""
    check_visible(
        caller,
        committed_at=allocation.committed_at,
        operator_code=allocation.operator_code,
        examined_by=examined_by,
        asked=asked,
    )


def check_visible(
    caller: Caller | None,
    *,
    committed_at: object,
    operator_code: str,
    examined_by: str | None,
    asked: object,
) -> None:
    """`check_allocation_visible` over an allocation's columns, as the driver reads them. An
    allocation never committed (a proposal, or one cancelled before any commitment) is private."""
    if committed_at is None and not sees_private(
        caller, operator_code=operator_code, examined_by=examined_by
    ):
        raise NotFound("allocation", asked)
