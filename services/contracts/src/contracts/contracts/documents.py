"""The JSON documents the API serves, rendered from the records after every change.

A contract's document holds its signatories but not its actions (lists stay light); one
contract is served as its document with its actions' documents spliced in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

from contracts.contracts.lifecycle import REQUIRED_ROLES
from contracts.models import Action, ActionChild, Contract, Signatory
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

_Read = TypeVar("_Read", bound=BaseModel)
# The rows `_served` reads: each kept at its place in its list.
Positioned = ActionChild | Signatory


def _index(record: Action | Contract, parts: Iterable[str]) -> None:
    """The list's sort key (the folded title) and search text (the folded words of `parts`)."""
    record.title_key = fold(record.title)[:300]
    record.search_text = " ".join(fold(part) for part in parts if part)


def _record_members(record: Action | Contract) -> dict[str, Any]:
    """The members every stored document ends with: demo flag, sources, version and times."""
    return {
        "is_demo": record.is_demo,
        "sources": list(record.sources or []),
        "version": record.version,
        "created_at": utc(record.created_at),
        "updated_at": utc(record.updated_at),
    }


def _store(record: Action | Contract, document: BaseModel) -> None:
    """The document as served, and its ETag."""
    record.document = document.model_dump_json()
    record.etag = etag_for(record.document.encode())


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


def _served(
    schema: type[_Read], rows: Iterable[Positioned], **derived: Callable[[Any], Any]
) -> list[_Read]:
    """Child rows (plan lines, indicators, milestones, signatories) as served, in their order:
    each field of `schema` is the row's column of that name, but those `derived` computes from
    the row (a registry name, a flag)."""
    copied = [name for name in schema.model_fields if name not in derived]
    return [
        schema(
            **{name: getattr(row, name) for name in copied},
            **{name: value(row) for name, value in derived.items()},
        )
        for row in sorted(rows, key=lambda row: row.position)
    ]


def render_action(action: Action, names: Mapping[str, str] | None = None) -> None:
    """Refresh the action's search text, document and ETag from its record; `names` are the
    registry's names of the organisations it shows (contracts.contracts.organisations)."""
    names = names or {}
    _index(
        action,
        (
            action.code,
            action.title,
            action.description or "",
            action.owner_organisation_code or "",
            action.owner_name or "",
            " ".join(t.theme for t in action.themes),
        ),
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
        plan_lines=_served(
            PlanLineRead,
            action.plan_lines,
            financer_organisation_name=lambda line: names.get(line.financer_code or ""),
        ),
        indicators=_served(IndicatorRead, action.indicators),
        milestones=_served(MilestoneRead, action.milestones),
        **_record_members(action),
    )
    _store(action, document)


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
    _index(
        contract,
        (
            contract.territory_code,
            territory.name,
            contract.title,
            " ".join(contract.enjeux or []),
            " ".join(s.name or s.organisation_code or "" for s in contract.signatories),
        ),
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
        signatories=_served(
            SignatoryRead,
            contract.signatories,
            organisation_name=lambda s: names.get(s.organisation_code or ""),
            required=lambda s: s.role in REQUIRED_ROLES,
        ),
        action_count=len(actions),
        budget_cents=(
            sum(a.budget_cents for a in actions if a.budget_cents is not None)
            if any(a.budget_cents is not None for a in actions)
            else None
        ),
        planned_cents=sum(line.amount_cents for a in actions for line in a.plan_lines),
        amendment_count=amendment_count,
        **_record_members(contract),
    )
    _store(contract, document)


def detail(contract_document: str, action_documents: Iterable[str]) -> str:
    """One contract as served: its document with `actions` added, without re-encoding."""
    return contract_document[:-1] + ',"actions":[' + ",".join(action_documents) + "]}"
