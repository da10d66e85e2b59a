"""The JSON documents the API serves, rendered from the records after every change.

A contract's document holds its signatories but not its actions (lists stay light); one
contract is served as its document with its actions' documents spliced in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from contracts.contracts.lifecycle import REQUIRED_ROLES
from contracts.models import Action, Contract
from contracts.schemas import (
    ActionRead,
    CodeName,
    ContractRead,
    IndicatorRead,
    MilestoneRead,
    Owner,
    OwnerRead,
    PlanLineRead,
    SignatoryRead,
)
from tdi_kit.clock import utc
from tdi_kit.conditional import etag_for
from tdi_kit.text import fold

# Their signatures make a contract signed; the others (operators, industrialists) co-sign.


def owner_of(action: Action) -> Owner | None:
    if action.owner_organisation_code:
        return Owner(organisation_code=action.owner_organisation_code)
    if action.owner_name:
        return Owner(name=action.owner_name, siren=action.owner_siren)
    return None


def _owner_read(action: Action, names: Mapping[str, str]) -> OwnerRead | None:
    owner = owner_of(action)
    if owner is None:
        return None
    return OwnerRead(
        organisation_code=owner.organisation_code,
        organisation_name=names.get(owner.organisation_code or ""),
        name=owner.name,
        siren=owner.siren,
    )


def render_action(action: Action, names: Mapping[str, str] | None = None) -> None:
    """Refresh the action's search text, document and ETag from its record; `names` are the
    registry's names of the organisations it shows (contracts.contracts.organisations)."""
    names = names or {}
    action.title_key = fold(action.title)[:300]
    action.search_text = " ".join(
        fold(part)
        for part in (
            action.code,
            action.title,
            action.description or "",
            action.owner_organisation_code or "",
            action.owner_name or "",
            " ".join(t.theme for t in action.themes),
        )
        if part
    )
    document = ActionRead(
        id=action.id,
        contract_id=action.contract_id,
        territory_code=action.territory_code,
        phase=action.phase,
        code=action.code,
        title=action.title,
        description=action.description,
        axis=action.axis,
        priority=action.priority,
        themes=sorted(t.theme for t in action.themes),
        owner=_owner_read(action, names),
        status=action.status,
        budget_cents=action.budget_cents,
        planned_cents=sum(line.amount_cents for line in action.plan_lines),
        plan_lines=[
            PlanLineRead(
                id=line.id,
                financer_code=line.financer_code,
                financer_organisation_name=names.get(line.financer_code or ""),
                financer_name=line.financer_name,
                label=line.label,
                amount_cents=line.amount_cents,
                allocation_id=line.allocation_id,
            )
            for line in sorted(action.plan_lines, key=lambda line: line.position)
        ],
        indicators=[
            IndicatorRead(
                id=i.id, label=i.label, unit=i.unit, target=i.target, actual=i.actual, as_of=i.as_of
            )
            for i in sorted(action.indicators, key=lambda i: i.position)
        ],
        milestones=[
            MilestoneRead(id=m.id, label=m.label, due_on=m.due_on, done_on=m.done_on)
            for m in sorted(action.milestones, key=lambda m: m.position)
        ],
        is_demo=action.is_demo,
        sources=list(action.sources or []),
        version=action.version,
        created_at=utc(action.created_at),
        updated_at=utc(action.updated_at),
    )
    action.document = document.model_dump_json()
    action.etag = etag_for(action.document.encode())


def render_contract(
    contract: Contract,
    actions: Iterable[Action],
    amendment_count: int,
    names: Mapping[str, str] | None = None,
) -> None:
    """Refresh the contract's search text, document and ETag; `actions` are all of its own,
    `names` the registry's names of the organisations it shows."""
    names = names or {}
    actions = list(actions)
    territory = contract.territory
    contract.title_key = fold(contract.title)[:300]
    contract.search_text = " ".join(
        fold(part)
        for part in (
            contract.territory_code,
            territory.name,
            contract.title,
            " ".join(contract.enjeux or []),
            " ".join(s.name or s.organisation_code or "" for s in contract.signatories),
        )
        if part
    )
    document = ContractRead(
        id=contract.id,
        territory_code=contract.territory_code,
        territory_name=territory.name,
        phase=contract.phase,
        regions=[CodeName(code=r.region_code, name=r.region_name) for r in territory.regions],
        kind=contract.kind,
        title=contract.title,
        enjeux=list(contract.enjeux or []),
        start_year=contract.start_year,
        end_year=contract.end_year,
        status=contract.status,
        signed_on=contract.signed_on,
        signature_place=contract.signature_place,
        notes=contract.notes,
        signatories=[
            SignatoryRead(
                id=s.id,
                role=s.role,
                organisation_code=s.organisation_code,
                organisation_name=names.get(s.organisation_code or ""),
                siren=s.siren,
                name=s.name,
                signed_on=s.signed_on,
                required=s.role in REQUIRED_ROLES,
            )
            for s in sorted(contract.signatories, key=lambda s: s.position)
        ],
        action_count=len(actions),
        budget_cents=(
            sum(a.budget_cents for a in actions if a.budget_cents is not None)
            if any(a.budget_cents is not None for a in actions)
            else None
        ),
        planned_cents=sum(line.amount_cents for a in actions for line in a.plan_lines),
        amendment_count=amendment_count,
        is_demo=contract.is_demo,
        sources=list(contract.sources or []),
        version=contract.version,
        created_at=utc(contract.created_at),
        updated_at=utc(contract.updated_at),
    )
    contract.document = document.model_dump_json()
    contract.etag = etag_for(contract.document.encode())


def detail(contract_document: str, action_documents: Iterable[str]) -> str:
    """One contract as served: its document with `actions` added, without re-encoding."""
    return contract_document[:-1] + ',"actions":[' + ",".join(action_documents) + "]}"
