"""Recording changes: the amendment rule, versions, documents and the contract's history.

Every write collects what it changed in a `ChangeSet`, then `record` ends it: it refuses a
contractual change to a signed contract made outside an amendment, bumps the versions,
re-renders the documents (so the served JSON never lags behind the records) and appends one
history entry holding the contract as it now is: that is how any past version can be read.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import events
from contracts.access import Editor
from contracts.actions import queries as action_queries
from contracts.contracts import organisations
from contracts.contracts.documents import detail, render_action, render_contract
from contracts.contracts.lifecycle import (
    AMENDABLE,
    FOLLOW_UP,
    READ_ONLY,
    is_follow_up,
    outside_amendment,
    read_only,
)
from contracts.models import Action, Amendment, Contract, ContractEvent
from tdi_kit.clock import now_to_second
from tdi_kit.errors import Conflict, Unprocessable
from tdi_kit.events import emit


def plain(value: Any) -> Any:
    """A JSON-ready copy (dates, UUIDs and models as the API writes them)."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", exclude_unset=True)
    return orjson.loads(orjson.dumps(value, default=str))


@dataclass
class ChangeSet:
    editor: Editor
    contract: Contract | None
    kind: str = "edited"
    amendment: Amendment | None = None
    summary: str | None = None
    changes: list[dict[str, Any]] = field(default_factory=list)
    touched: dict[uuid.UUID, Action] = field(default_factory=dict)
    removed: set[uuid.UUID] = field(default_factory=set)
    # The rules judge a change by the contract's status before it (a cancellation ends live).
    status_before: str | None = None
    # Actions whose indicators a limited token changed: it must still finance them once every
    # change of the set is applied (an amendment cannot add a line, use it, then drop it).
    financed: dict[uuid.UUID, Action] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.contract is not None:
            self.status_before = self.contract.status

    def touch(self, action: Action) -> None:
        self.touched[action.id] = action

    async def require_finances(self, action: Action) -> None:
        """The editor really finances the action now, and will once the set is applied."""
        await self.editor.require_finances(action)
        if self.editor.limited_to is not None:
            self.financed[action.id] = action

    def add(
        self,
        target: str,
        target_id: uuid.UUID | None,
        op: str,
        *,
        action: Action | None = None,
        field: str | None = None,
        before: Any = None,
        after: Any = None,
    ) -> None:
        self.changes.append(
            {
                "target": target,
                "target_id": None if target_id is None else str(target_id),
                "action_id": None if action is None or target == "action" else str(action.id),
                "op": op,
                "field": field,
                "before": plain(before),
                "after": plain(after),
            }
        )
        if action is not None:
            self.touch(action)

    def set(
        self, target: str, record: Any, name: str, value: Any, *, action: Action | None = None
    ) -> bool:
        """Set `record.name` to `value`, recording it when it differs."""
        before = getattr(record, name)
        if before == value:
            return False
        setattr(record, name, value)
        target_id = None if target == "contract" else record.id
        self.add(target, target_id, "update", action=action, field=name, before=before, after=value)
        return True

    def permit(self, target: str, fields: Iterable[str] | None = None) -> None:
        """Refuse early a change of a signed contract's terms made outside an amendment.

        `fields` are those an update sets; None for adding or removing a record.
        """
        if self.contract is None or self.kind != "edited":
            return
        if self.status_before not in AMENDABLE:
            return
        if fields is not None and is_follow_up(target, fields):
            return
        raise outside_amendment(self.contract, self.status_before)

    @property
    def contractual(self) -> bool:
        return any(
            c["op"] != "update" or (c["target"], c["field"]) not in FOLLOW_UP for c in self.changes
        )


def _check_amendment_rule(contract: Contract, changes: ChangeSet) -> None:
    if changes.kind in ("created", "recorded"):
        # A new draft, or the seed writing an act as it stands on the public record (a protocole
        # may be closed already): the amendment rule governs changes made through the API.
        return
    status = changes.status_before or contract.status
    if status in READ_ONLY:
        raise read_only(contract, status)
    if status in AMENDABLE and changes.kind == "edited" and changes.contractual:
        raise outside_amendment(contract, status)


async def record(session: AsyncSession, changes: ChangeSet) -> None:
    """End a write: enforce the amendment rule, bump versions, re-render, append history."""
    if not changes.changes and changes.kind != "created":
        return
    for action in changes.financed.values():
        if action.id not in changes.removed:
            await changes.editor.require_finances(action)
    contract = changes.contract
    if contract is not None:
        _check_amendment_rule(contract, changes)
        if changes.kind == "edited" and changes.status_before != "draft":
            changes.kind = "follow_up"
    at = now_to_second()
    touched = [a for a in changes.touched.values() if a.id not in changes.removed]
    removed = [a for a in changes.touched.values() if a.id in changes.removed]
    created = {a.id for a in touched if a.created_at is None}
    names = await organisations.names(session, organisations.codes_of(contract, touched))
    for action in touched:
        action.version = (action.version or 0) + 1
        action.updated_at = at
        if action.created_at is None:
            action.created_at = at
        render_action(action, names)
    await session.flush()
    actor = changes.editor.org
    outbox = events.action_events(
        touched, removed, created=created, changes=changes.changes, actor_org=actor
    )
    if contract is None:
        await emit(session, outbox)
        return
    contract.version = (contract.version or 0) + 1
    contract.updated_at = at
    if contract.created_at is None:
        contract.created_at = at
    actions = await action_queries.of_contract(session, contract.id)
    amendments = await action_queries.amendment_count(session, contract.id)
    render_contract(contract, actions, amendments, names)
    session.add(
        ContractEvent(
            contract_id=contract.id,
            version=contract.version,
            kind=changes.kind,
            summary=changes.summary or _summary(changes),
            amendment_number=changes.amendment.number if changes.amendment else None,
            changes=changes.changes,
            by_sub=changes.editor.sub,
            by_org=changes.editor.org,
            at=at,
            snapshot=detail(contract.document, [a.document for a in actions]),
        )
    )
    if changes.amendment is not None:
        changes.amendment.version = contract.version
        changes.amendment.changes = changes.changes
    # The contract's event first: a consumer reads an action's change after its contract's.
    contract_event = events.contract_event(
        contract, kind=changes.kind, changes=changes.changes, actor_org=actor
    )
    await emit(session, [contract_event, *outbox])
    try:
        await session.flush()
    except IntegrityError as exc:
        # Two writers produced the same version (or the same live slot): the later one retries.
        raise Conflict(
            f"Contract {contract.id} changed concurrently; read it again and retry.",
            contract_id=str(contract.id),
        ) from exc


def _summary(changes: ChangeSet) -> str:
    described = []
    for c in changes.changes:
        text = f"{c['op']} {c['target']}" + (f".{c['field']}" if c["field"] else "")
        if text not in described:
            described.append(text)
    head = ", ".join(described[:6]) + (", ..." if len(described) > 6 else "")
    return f"{len(changes.changes)} change{'s' if len(changes.changes) != 1 else ''}: {head}"[:300]


@contextmanager
def nested(prefix: str) -> Iterator[None]:
    """Name the fields of an error raised inside a nested payload by their full path."""
    try:
        yield
    except Unprocessable as problem:
        for error in problem.errors or []:
            error.field = f"{prefix}.{error.field}"
        if problem.errors and len(problem.errors) == 1:
            problem.detail = f"{problem.errors[0].field}: {problem.errors[0].message}"
        raise
