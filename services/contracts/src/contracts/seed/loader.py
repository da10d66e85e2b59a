"""Load the acts and projects on record (see `records.py`) into the contracts database.

Idempotent: records keep stable identifiers (UUIDv5 of their key), are added when missing and
updated when they differ from the record, each change going into the contract's history like
any other; nothing the records do not mention is touched. The report says what was added,
changed and left as it was.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.access import Editor
from contracts.contracts.changes import ChangeSet, record
from contracts.contracts.lifecycle import slot_for
from contracts.contracts.queries import live_holder
from contracts.contracts.territories import remember
from contracts.models import (
    Action,
    ActionTheme,
    Contract,
    Indicator,
    Milestone,
    PlanLine,
    Signatory,
    Territory,
)
from contracts.references import TerritoryFacts
from contracts.seed.records import (
    CONTRACTS,
    PROJECTS,
    TERRITORIES,
    ActionRecord,
    ContractRecord,
    TerritoryRecord,
)
from tdi_kit.seeding import Counts

# Identifiers of loaded records derive from their keys, so a second load finds the first.
NAMESPACE = uuid.UUID("6f3d9a52-51c4-4f0e-9a3b-7d1e2c6b8a40")


def record_id(kind: str, key: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"{kind}/{key}")


async def load(session: AsyncSession, *, say: Callable[[str], None] = print) -> Counts:
    """The acts on record and the projects named with their territory."""
    editor = Editor.system("seed")
    contracts = Counts()
    for item in CONTRACTS:
        await sync_contract(session, item, editor=editor, counts=contracts, kind="recorded")
    say(f"contracts on record: {contracts}")
    for line in contracts.skipped:
        say(f"  skipped {line}")
    projects = Counts()
    for project in PROJECTS:
        await sync_project(session, project, editor=editor, counts=projects, kind="recorded")
    say(f"projects on record without a known act: {projects}")
    return Counts(
        added=contracts.added + projects.added,
        changed=contracts.changed + projects.changed,
        unchanged=contracts.unchanged + projects.unchanged,
        skipped=contracts.skipped,
    )


async def territory_of(
    session: AsyncSession, code: str, known: dict[str, TerritoryRecord] = TERRITORIES
) -> Territory:
    t = known[code]
    facts = TerritoryFacts(
        code=t.code,
        name=t.name,
        phase=t.phase,
        status="active",
        regions=list(t.regions),
        members=frozenset(),
    )
    return await remember(session, facts)


async def sync_contract(
    session: AsyncSession,
    item: ContractRecord,
    *,
    editor: Editor,
    counts: Counts,
    kind: str,
    is_demo: bool = False,
    territories: dict[str, TerritoryRecord] = TERRITORIES,
) -> None:
    contract_id = record_id("demo-contract" if is_demo else "contract", item.key)
    territory = await territory_of(session, item.territory_code, territories)
    slot = slot_for(territory.code, territory.phase, item.status)
    contract = await session.get(Contract, contract_id)
    new = contract is None
    if contract is None:
        holder = (
            await live_holder(session, territory_code=territory.code, phase=territory.phase)
            if slot
            else None
        )
        if holder is not None:
            counts.skipped.append(
                f"{item.key}: territory {territory.code} already has a live contract ({holder.id})"
            )
            return
        contract = Contract(
            id=contract_id,
            territory=territory,
            territory_code=territory.code,
            phase=territory.phase,
            kind=item.kind,
            title=item.title,
            status=item.status,
            signatories=[],
            version=0,
            is_demo=is_demo,
        )
        session.add(contract)
    changes = ChangeSet(
        editor,
        contract,
        kind=kind,
        summary=("Demo data (invented)" if is_demo else "Recorded from public sources")
        if new
        else ("Demo data updated" if is_demo else "Updated from the public record"),
    )
    if new:
        changes.add("contract", contract.id, "add", after={"title": item.title, "kind": item.kind})
    wanted: dict[str, Any] = {
        "title": item.title,
        "kind": item.kind,
        "status": item.status,
        "signed_on": item.signed_on,
        "signature_place": item.signature_place,
        "start_year": item.start_year,
        "end_year": item.end_year,
        "notes": item.notes,
        "enjeux": list(item.enjeux),
        "sources": list(item.sources),
    }
    for name, value in wanted.items():
        changes.set("contract", contract, name, value)
    contract.live_slot = slot
    current = [_signatory_tuple(s) for s in sorted(contract.signatories, key=lambda s: s.position)]
    desired = [
        (s.role, s.organisation_code, s.siren, s.name, s.signed_on) for s in item.signatories
    ]
    if current != desired:
        contract.signatories.clear()
        await session.flush()
        contract.signatories.extend(
            Signatory(
                id=uuid.uuid4(),
                position=i,
                role=role,
                organisation_code=code,
                siren=siren,
                name=name,
                signed_on=signed_on,
            )
            for i, (role, code, siren, name, signed_on) in enumerate(desired)
        )
        if not new:
            changes.add(
                "contract", None, "update", field="signatories", before=current, after=desired
            )
    await session.flush()
    for action in item.actions:
        await _sync_action(session, changes, action, contract=contract, is_demo=is_demo)
    await record(session, changes)
    counts.count(new=new, changed=bool(changes.changes))


async def sync_project(
    session: AsyncSession, item: ActionRecord, *, editor: Editor, counts: Counts, kind: str
) -> None:
    """A project on record whose act is not known: an action without a contract."""
    await territory_of(session, item.territory_code)
    changes = ChangeSet(editor, None, kind=kind)
    new = await _sync_action(session, changes, item, contract=None, is_demo=False)
    await record(session, changes)
    counts.count(new=new, changed=bool(changes.changes))


async def _sync_action(
    session: AsyncSession,
    changes: ChangeSet,
    item: ActionRecord,
    *,
    contract: Contract | None,
    is_demo: bool,
) -> bool:
    action_id = record_id("demo-action" if is_demo else "action", item.key)
    action = await session.get(Action, action_id)
    territory = await session.get(Territory, item.territory_code)
    assert territory is not None
    wanted: dict[str, Any] = {
        "contract_id": contract.id if contract else None,
        "territory_code": item.territory_code,
        "phase": territory.phase,
        "code": item.code,
        "title": item.title,
        "description": item.description,
        "axis": item.axis,
        "priority": item.priority,
        "owner_organisation_code": item.owner_organisation_code,
        "owner_name": item.owner_name,
        "owner_siren": None,
        "status": item.status,
        "budget_cents": item.budget_cents,
        "is_demo": is_demo,
        "sources": list(item.sources),
    }
    if action is None:
        action = Action(
            id=action_id,
            themes=[ActionTheme(theme=t) for t in item.themes],
            plan_lines=_children(PlanLine, item.plan_lines),
            indicators=_children(Indicator, item.indicators),
            milestones=_children(Milestone, item.milestones),
            version=0,
            **wanted,
        )
        session.add(action)
        changes.add("action", action.id, "add", action=action, after={"code": item.code})
        return True
    for name, value in wanted.items():
        changes.set("action", action, name, value, action=action)
    themes = sorted(t.theme for t in action.themes)
    if themes != sorted(item.themes):
        # Remove and add by name: a theme kept is never deleted and re-inserted in one flush.
        for theme in [t for t in action.themes if t.theme not in item.themes]:
            action.themes.remove(theme)
        action.themes.extend(ActionTheme(theme=t) for t in item.themes if t not in themes)
        changes.add(
            "action",
            action.id,
            "update",
            action=action,
            field="themes",
            before=themes,
            after=sorted(item.themes),
        )
    for name, model, key in _CHILDREN:
        fresh = _children(model, getattr(item, name))
        _replace(changes, action, name, getattr(action, name), fresh, key)
    return False


def _replace(
    changes: ChangeSet,
    action: Action,
    name: str,
    rows: list[Any],
    wanted: list[Any],
    key: Callable[[Any], tuple[Any, ...]],
) -> None:
    before = [key(r) for r in sorted(rows, key=lambda r: r.position)]
    after = [key(r) for r in wanted]
    if before == after:
        return
    rows.clear()
    rows.extend(wanted)
    changes.add(
        "action", action.id, "update", action=action, field=name, before=before, after=after
    )


def _signatory_tuple(s: Signatory) -> tuple[Any, ...]:
    return (s.role, s.organisation_code, s.siren, s.name, s.signed_on)


def _line(x: PlanLine) -> tuple[Any, ...]:
    return (x.financer_code, x.financer_name, x.label, x.amount_cents)


def _indicator(x: Indicator) -> tuple[Any, ...]:
    return (x.label, x.unit, x.target, x.actual, x.as_of)


def _milestone(x: Milestone) -> tuple[Any, ...]:
    return (x.label, x.due_on, x.done_on)


_Child = TypeVar("_Child", PlanLine, Indicator, Milestone)


def _children(model: type[_Child], records: Sequence[Any]) -> list[_Child]:
    """An action's plan lines, indicators or milestones from the seed's records, which name their
    fields as the models name their columns."""
    return [
        model(id=uuid.uuid4(), position=i, **dataclasses.asdict(x)) for i, x in enumerate(records)
    ]


# Each kind of an action's records: its attribute (on the action and on the seed's record), its
# model, and what of a row the seed compares.
_CHILDREN: tuple[tuple[str, type[Any], Callable[[Any], tuple[Any, ...]]], ...] = (
    ("plan_lines", PlanLine, _line),
    ("indicators", Indicator, _indicator),
    ("milestones", Milestone, _milestone),
)
