"""The life of an act (protocole or contract), whole: its states, its moves, who must sign, and
"one live act per territory and phase".

    draft ──(the State, the Région and every EPCI party named have signed)──▶ signed
    signed ──start──▶ in_progress ──close──▶ closed
    draft | signed | in_progress ──cancel──▶ cancelled

A draft is edited freely; a signed (or in progress) act changes its terms only through a
numbered amendment, though the follow-up of its execution (`FOLLOW_UP`) needs none; a closed or
cancelled act is read-only. While an act is live (draft, signed or in progress) it holds its
territory's slot for the phase, `territory:phase`, whatever its kind: a protocole is closed
when the contract that follows it is signed. The slot is a unique column, so two writers racing
to create a live act for the same territory and phase cannot both win (NULLs never collide).

Pure functions over loaded records: no session, no HTTP. Every path that creates an act or
moves it (the API, amendments, the seed loaders) asks these.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from contracts.models import Contract, Signatory
from tdi_kit.errors import Conflict, Unprocessable

LIVE = ("draft", "signed", "in_progress")
# Signed acts: their terms change only through an amendment.
AMENDABLE = ("signed", "in_progress")
READ_ONLY = ("closed", "cancelled")

# The moves a caller asks for; signing happens through the signatures themselves.
TRANSITIONS = {
    "start": ({"signed"}, "in_progress"),
    "close": ({"signed", "in_progress"}, "closed"),
    "cancel": ({"draft", "signed", "in_progress"}, "cancelled"),
}

# Follow-up of a signed contract's execution, not its terms: recorded in the history but
# needing no amendment. Every other change to a signed contract is contractual.
FOLLOW_UP = {
    ("action", "status"),
    ("indicator", "actual"),
    ("indicator", "as_of"),
    ("milestone", "done_on"),
}

# Who must sign before a draft is signed: the State (préfet), the Région (its president) and
# each member EPCI named as a party (its president). Operators may sign too; they are not needed.
REQUIRED_ROLES = {"prefet", "president_region", "president_epci"}
# The parties without whom no act is signed, whatever the EPCIs named.
ALWAYS_REQUIRED = {"prefet", "president_region"}
# The kind of organisation each role signs for (None: any kind the registry knows).
SIGNS_FOR = {"prefet": {"state"}, "president_region": {"region"}}
SIGNS_FOR_AN_ORGANISATION = ("prefet", "president_region", "operator")


# The live-act slot ------------------------------------------------------------------------


def live_slot(territory_code: str, phase: int) -> str:
    """The slot a live act of this territory and phase holds (one per territory and phase)."""
    return f"{territory_code}:{phase}"


def slot_for(territory_code: str, phase: int, status: str) -> str | None:
    """The slot an act in `status` holds: its territory's for the phase while live, else none."""
    return live_slot(territory_code, phase) if status in LIVE else None


def check_slot_free(holder: Contract | None, *, territory_code: str, phase: int) -> None:
    """A new live act needs its territory's slot for the phase free."""
    if holder is not None:
        raise Conflict(
            f"Territory {territory_code} already has a live contract for phase {phase}: "
            f"contract {holder.id} ({holder.title}, {holder.status}). Close or cancel it first.",
            other_contract_id=str(holder.id),
            other_contract_title=holder.title,
            other_contract_status=holder.status,
        )


def slot_taken_meanwhile(contract: Contract) -> Conflict:
    """The unique slot refused a creation: another writer won the race since our check."""
    return Conflict(
        f"Territory {contract.territory_code} got a live {contract.kind} for phase "
        f"{contract.phase} meanwhile; read the list and retry.",
    )


# Moves -------------------------------------------------------------------------------------


def move_target(status: str, move: str) -> str:
    """The status a move leads to from `status`, or a Conflict naming where it may start."""
    sources, target = TRANSITIONS[move]
    if status not in sources:
        raise Conflict(
            f"A {status.replace('_', ' ')} contract cannot {move}; it can from "
            f"{' or '.join(sorted(sources))}.",
            contract_status=status,
        )
    return target


def apply_status(contract: Contract, status: str) -> None:
    """Keep the slot in step with the status: an act that ends frees its territory's slot."""
    contract.live_slot = slot_for(contract.territory_code, contract.phase, status)


# Signatures --------------------------------------------------------------------------------


def signed_on(status: str, signatories: Iterable[Signatory]) -> dt.date | None:
    """The day a draft becomes signed, the last required signature's, once all are given."""
    if status != "draft":
        return None
    required = [s for s in signatories if s.role in REQUIRED_ROLES]
    if not ALWAYS_REQUIRED.issubset(s.role for s in required):
        return None
    days = [s.signed_on for s in required]
    if any(day is None for day in days):
        return None
    return max(day for day in days if day is not None)


def check_signature_day(day: dt.date, today: dt.date) -> None:
    """A signature is never dated in the future (a day of grace for time zones)."""
    if day > today + dt.timedelta(days=1):
        raise Unprocessable.field("body", "signed_on", "a signature cannot be dated in the future")


# What may change when ----------------------------------------------------------------------


def is_follow_up(target: str, fields: Iterable[str]) -> bool:
    return all((target, name) in FOLLOW_UP for name in fields)


def ensure_writable(contract: Contract | None) -> None:
    """A closed or cancelled act is read-only."""
    if contract is not None and contract.status in READ_ONLY:
        raise read_only(contract, contract.status)


def read_only(contract: Contract, status: str) -> Conflict:
    return Conflict(
        f"Contract {contract.id} is {status}: it is read-only.",
        contract_id=str(contract.id),
        contract_status=status,
    )


def outside_amendment(contract: Contract, status: str) -> Conflict:
    """A signed act's terms changed without an amendment."""
    return Conflict(
        f"Contract {contract.id} is {status.replace('_', ' ')}: its terms change only "
        f"through an amendment (POST /api/v1/contracts/{contract.id}/amendments).",
        contract_id=str(contract.id),
        contract_status=status,
    )


def check_amendable(contract: Contract) -> None:
    """Amendments change signed acts; a draft is edited directly."""
    if contract.status == "draft":
        raise Conflict(
            f"Contract {contract.id} is a draft: edit it directly. Amendments change signed "
            "contracts.",
            contract_status=contract.status,
        )
