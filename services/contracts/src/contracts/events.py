"""The contracts service's events: one per change of a contract and of each action it touches.

Every write of this service ends in `contracts.changes.record`, which emits them there, in the
transaction of the change: a contract's event carries its document as now served and the
changes the write made; an action's event its document and the changes that concern it (its
plan lines, indicators and milestones included). Contracts and actions are public: so are
their events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from contracts.models import Action, Contract
from tdi_kit.events import Event

EVENT_TYPES: Mapping[str, str] = {
    "contract.created": "A draft contract (or protocole) was created.",
    "contract.recorded": "A contract was recorded as it stands on the public record (seed).",
    "contract.changed": "A contract's terms, signatories or follow-up fields changed.",
    "contract.signed": "A contract's signature was recorded: it is signed.",
    "contract.amended": "An amendment (avenant) to a signed contract was recorded.",
    "contract.in_progress": "A signed contract was put into execution.",
    "contract.closed": "A contract was closed: it is read-only.",
    "contract.cancelled": "A contract was cancelled: it is read-only and frees its slot.",
    "action.created": "A fiche-action was added to a contract.",
    "action.changed": "A fiche-action changed: its terms, plan lines, indicators or milestones.",
    "action.deleted": "A fiche-action was removed from its contract.",
}

# The history's kinds of change, as event types; a status move is named by where it leads.
_CONTRACT_TYPES = {
    "created": "contract.created",
    "recorded": "contract.recorded",
    "signature": "contract.signed",
    "amendment": "contract.amended",
    "edited": "contract.changed",
    "follow_up": "contract.changed",
}


def contract_event_type(kind: str, status: str) -> str:
    if kind == "status":
        return f"contract.{status}"
    return _CONTRACT_TYPES[kind]


def _document(stored: str) -> dict[str, Any]:
    document: dict[str, Any] = orjson.loads(stored)
    return document


def contract_event(
    contract: Contract, *, kind: str, changes: list[dict[str, Any]], actor_org: str | None
) -> Event:
    return Event(
        type=contract_event_type(kind, contract.status),
        subject_kind="contract",
        subject_id=str(contract.id),
        version=contract.version,
        actor_org=actor_org,
        payload={"record": _document(contract.document), "changes": changes},
    )


def action_events(
    touched: Iterable[Action],
    removed: Iterable[Action],
    *,
    created: set[Any],
    changes: list[dict[str, Any]],
    actor_org: str | None,
) -> list[Event]:
    """The events of the actions a write touched (created or changed) and removed."""
    events = []
    for action in touched:
        mine = [c for c in changes if str(action.id) in (c["target_id"], c["action_id"])]
        events.append(
            Event(
                type="action.created" if action.id in created else "action.changed",
                subject_kind="action",
                subject_id=str(action.id),
                version=action.version,
                actor_org=actor_org,
                payload={"record": _document(action.document), "changes": mine},
            )
        )
    for action in removed:
        events.append(
            Event(
                type="action.deleted",
                subject_kind="action",
                subject_id=str(action.id),
                version=action.version,
                actor_org=actor_org,
                payload={"record": {"id": str(action.id), "contract_id": str(action.contract_id)}},
            )
        )
    return events
