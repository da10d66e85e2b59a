"""Requests on contracts: create, edit terms, signatories, signatures and moves.

The lifecycle itself (states, moves, who must sign, one live act per territory and phase) is
`contracts.contracts.lifecycle`; this module loads, locks, checks with the registry, applies the
lifecycle's answers to the records and records the change.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.actions import queries as action_queries
from contracts.actions.service import add_action
from contracts.contracts import lifecycle, queries
from contracts.contracts.changes import ChangeSet, nested, record
from contracts.contracts.documents import detail
from contracts.contracts.lifecycle import ensure_writable
from contracts.contracts.listing import DocumentList
from contracts.contracts.territories import remember
from contracts.contracts.writes import WriteContext
from contracts.models import Contract, Signatory
from contracts.references import References, TerritoryFacts
from contracts.schemas import ContractUpdate, ContractWrite, SignatoryWrite, SignatureWrite
from tdi_kit import clock
from tdi_kit.errors import Conflict, NotFound, Unprocessable
from tdi_kit.rowreader import RowReader

# Reads -------------------------------------------------------------------------------------


# The list (`listing.DocumentList`): its sorts and filters are `queries`'.
LIST = DocumentList(
    "contracts", Contract, queries.filtered, queries.SORTABLE, "territory_code,kind"
)
sort_for = LIST.sort_for
list_documents = LIST.page


async def get_detail(rows: RowReader, *, contract_id: uuid.UUID) -> tuple[str, str]:
    """The contract with its signatories and actions, and its ETag: one statement through the
    driver (`queries.DETAIL`)."""
    found = await rows.all(queries.DETAIL, id=contract_id)
    if not found or found[0][0] != 0:
        raise NotFound("contract", contract_id)
    return detail(found[0][2], (row[2] for row in found[1:])), found[0][3]


async def territory_plan(rows: RowReader, *, code: str) -> str:
    """A territory's contracts, each with its actions, and its actions in no contract: one
    indexed statement (`queries.PLAN`) whose stored documents are joined as they are, never
    decoded."""
    contracts: list[tuple[Any, str]] = []
    by_contract: dict[Any, list[str]] = {}
    for part, owner, document, _etag in await rows.all(queries.PLAN, code=code):
        if part == 0:
            contracts.append((owner, document))
        else:
            by_contract.setdefault(owner, []).append(document)
    plans = [detail(document, by_contract.get(owner, ())) for owner, document in contracts]
    return (
        f'{{"territory_code":{orjson.dumps(code).decode()},"contracts":[{",".join(plans)}],'
        f'"actions_without_contract":[{",".join(by_contract.get(None, ()))}]}}'
    )


async def detail_of(session: AsyncSession, contract: Contract) -> str:
    return detail(
        contract.document, await action_queries.documents_of_contract(session, contract.id)
    )


async def require(session: AsyncSession, contract_id: uuid.UUID) -> None:
    if await queries.document(session, contract_id) is None:
        raise NotFound("contract", contract_id)


# Writes ------------------------------------------------------------------------------------


async def create(write: WriteContext, *, payload: ContractWrite) -> Contract:
    session, references = write.session, write.references
    editor = await write.editor()
    editor.require_full("a new contract")
    facts = await references.territory(
        payload.territory_code, location="body", field="territory_code"
    )
    holder = await queries.live_holder(session, territory_code=facts.code, phase=facts.phase)
    lifecycle.check_slot_free(holder, territory_code=facts.code, phase=facts.phase)
    territory = await remember(session, facts)
    contract = Contract(
        id=uuid.uuid4(),
        territory_code=facts.code,
        territory=territory,
        phase=facts.phase,
        kind=payload.kind,
        title=payload.title,
        enjeux=list(payload.enjeux),
        start_year=payload.start_year,
        end_year=payload.end_year,
        status="draft",
        signature_place=payload.signature_place,
        notes=payload.notes,
        is_demo=False,
        sources=[],
        live_slot=lifecycle.slot_for(facts.code, facts.phase, "draft"),
        signatories=[],
        version=0,
    )
    session.add(contract)
    changes = ChangeSet(editor, contract, kind="created", summary=f"Draft {payload.kind} created")
    changes.add(
        "contract",
        contract.id,
        "add",
        after=payload.model_dump(mode="json", exclude={"signatories", "actions"}),
    )
    for i, signatory in enumerate(payload.signatories):
        with nested(f"signatories.{i}"):
            await _add_signatory(changes, contract, signatory, facts, references)
    await _flush_new(session, contract)
    for i, action in enumerate(payload.actions):
        with nested(f"actions.{i}"):
            await add_action(session, changes, payload=action, references=references)
    _settle_signature(changes, contract)
    await record(session, changes)
    return contract


async def update(
    write: WriteContext,
    *,
    contract_id: uuid.UUID,
    payload: ContractUpdate,
) -> Contract:
    async def operation(changes: ChangeSet, contract: Contract) -> None:
        update_contract(changes, contract=contract, payload=payload)

    return await _edit(write, contract_id, operation)


def update_contract(changes: ChangeSet, *, contract: Contract, payload: ContractUpdate) -> None:
    """Change the contract's own terms (also an amendment's `update_contract`)."""
    fields = payload.model_fields_set
    changes.permit("contract", fields)
    changes.editor.require_full("the terms of a contract")
    start = payload.start_year if "start_year" in fields else contract.start_year
    end = payload.end_year if "end_year" in fields else contract.end_year
    if start and end and end < start:
        raise Unprocessable.field("body", "end_year", "end_year comes before start_year")
    for name in ("title", "enjeux", "start_year", "end_year", "signature_place", "notes"):
        if name in fields:
            value = getattr(payload, name)
            changes.set("contract", contract, name, list(value) if name == "enjeux" else value)


async def add_signatory(
    write: WriteContext,
    *,
    contract_id: uuid.UUID,
    payload: SignatoryWrite,
) -> Contract:
    async def operation(changes: ChangeSet, contract: Contract) -> None:
        changes.permit("signatory")
        changes.editor.require_full("the signatories")
        facts = await write.references.territory(
            contract.territory_code, location="path", field="contract_id"
        )
        await _add_signatory(changes, contract, payload, facts, write.references)
        _settle_signature(changes, contract)

    return await _edit(write, contract_id, operation, if_match_required=False)


async def remove_signatory(
    write: WriteContext,
    *,
    contract_id: uuid.UUID,
    signatory_id: uuid.UUID,
) -> Contract:
    async def operation(changes: ChangeSet, contract: Contract) -> None:
        changes.permit("signatory")
        changes.editor.require_full("the signatories")
        signatory = _signatory_of(contract, signatory_id)
        changes.add("signatory", signatory.id, "remove", before=_signatory_dict(signatory))
        contract.signatories.remove(signatory)

    return await _edit(write, contract_id, operation)


async def sign(
    write: WriteContext,
    *,
    contract_id: uuid.UUID,
    signatory_id: uuid.UUID,
    payload: SignatureWrite,
) -> Contract:
    async def operation(changes: ChangeSet, contract: Contract) -> None:
        changes.editor.require_full("the signatures")
        signatory = _signatory_of(contract, signatory_id)
        if signatory.signed_on is not None:
            raise Conflict(
                f"Signatory {signatory_id} already signed, on {signatory.signed_on.isoformat()}."
            )
        lifecycle.check_signature_day(payload.signed_on, _today())
        changes.kind = "signature"
        changes.summary = f"Signed by {_signatory_label(signatory)}"
        changes.set("signatory", signatory, "signed_on", payload.signed_on)
        _settle_signature(changes, contract)

    return await _edit(write, contract_id, operation)


async def transition(
    write: WriteContext,
    *,
    contract_id: uuid.UUID,
    move: str,
) -> Contract:
    async def operation(changes: ChangeSet, contract: Contract) -> None:
        changes.editor.require_full("the status of a contract")
        target = lifecycle.move_target(contract.status, move)
        changes.kind = "status"
        changes.summary = f"Status: {contract.status} → {target}"
        changes.set("contract", contract, "status", target)
        # An act that ends frees its territory's slot for a new one.
        lifecycle.apply_status(contract, target)

    return await _edit(write, contract_id, operation)


# Helpers ---------------------------------------------------------------------------------------


async def _edit(
    write: WriteContext,
    contract_id: uuid.UUID,
    operation: Callable[[ChangeSet, Contract], Awaitable[None]],
    *,
    if_match_required: bool = True,
) -> Contract:
    editor = await write.editor()
    contract = await write.locked_contract(contract_id, if_match_required=if_match_required)
    ensure_writable(contract)
    changes = ChangeSet(editor, contract)
    await operation(changes, contract)
    await record(write.session, changes)
    return contract


async def _flush_new(session: AsyncSession, contract: Contract) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        # Another writer created the live contract of this slot between our check and now.
        raise lifecycle.slot_taken_meanwhile(contract) from exc


async def _add_signatory(
    changes: ChangeSet,
    contract: Contract,
    payload: SignatoryWrite,
    facts: TerritoryFacts,
    references: References,
) -> None:
    await _check_signatory(payload, facts, references)
    for other in contract.signatories:
        same_org = (
            payload.organisation_code and other.organisation_code == payload.organisation_code
        )
        same_epci = payload.siren and other.siren == payload.siren and other.role == payload.role
        if same_org or same_epci:
            field = "organisation_code" if same_org else "siren"
            raise Unprocessable.field("body", field, "already a signatory of this contract")
    if payload.signed_on is not None:
        lifecycle.check_signature_day(payload.signed_on, _today())
    signatory = Signatory(
        id=uuid.uuid4(),
        position=max((s.position for s in contract.signatories), default=-1) + 1,
        role=payload.role,
        organisation_code=payload.organisation_code,
        siren=payload.siren,
        name=payload.name,
        signed_on=payload.signed_on,
    )
    contract.signatories.append(signatory)
    changes.add("signatory", signatory.id, "add", after=payload)


async def _check_signatory(
    payload: SignatoryWrite, facts: TerritoryFacts, references: References
) -> None:
    """The State signs through a préfet, the Région through its president, EPCIs by SIREN."""
    role = payload.role
    expected = lifecycle.SIGNS_FOR.get(role)
    if role in lifecycle.SIGNS_FOR_AN_ORGANISATION and payload.organisation_code is None:
        raise Unprocessable.field(
            "body", "organisation_code", f"a {role} signs for an organisation"
        )
    if payload.organisation_code is not None:
        await references.require_organisation(
            payload.organisation_code, location="body", field="organisation_code", kinds=expected
        )
    if role == "president_epci":
        if payload.siren is None:
            raise Unprocessable.field("body", "siren", "a president_epci signs for an EPCI (SIREN)")
        if payload.siren not in facts.members:
            raise Unprocessable.field(
                "body", "siren", f"{payload.siren} is not a member of territory {facts.code}"
            )


def _settle_signature(changes: ChangeSet, contract: Contract) -> None:
    """Sign a draft once every required party has (see `lifecycle.signed_on`)."""
    day = lifecycle.signed_on(contract.status, contract.signatories)
    if day is None:
        return
    if changes.kind == "edited":
        changes.kind = "signature"
    changes.set("contract", contract, "status", "signed")
    changes.set("contract", contract, "signed_on", day)


def _today() -> dt.date:
    return clock.today()


def _signatory_of(contract: Contract, signatory_id: uuid.UUID) -> Signatory:
    found = next((s for s in contract.signatories if s.id == signatory_id), None)
    if found is None:
        raise NotFound("signatory", f"{signatory_id} of contract {contract.id}")
    return found


def _signatory_label(s: Signatory) -> str:
    return s.name or s.organisation_code or s.siren or str(s.id)


def _signatory_dict(s: Signatory) -> dict[str, Any]:
    return {
        "role": s.role,
        "organisation_code": s.organisation_code,
        "siren": s.siren,
        "name": s.name,
        "signed_on": s.signed_on,
    }
