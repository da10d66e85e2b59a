"""HTTP for amendments, the history of a contract and its past versions."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response, status

from contracts.access import Writer, sees_subject
from contracts.amendments import service
from contracts.models import Amendment, ContractEvent
from contracts.references import RefsDep
from contracts.schemas import (
    CREATE,
    READ_ONE,
    UPDATE,
    AmendmentRead,
    AmendmentWrite,
    ChangeRead,
    ContractDetail,
    HistoryEntryRead,
)
from tdi_kit.auth import OPTIONAL_BEARER, Caller, CallerDep
from tdi_kit.clock import utc
from tdi_kit.conditional import IfMatch, etag_for
from tdi_kit.db import SessionDep
from tdi_kit.documents import conditional_document
from tdi_kit.pagination import ListParamsDep, Page, next_link

router = APIRouter(tags=["amendments and history"])
ContractId = Annotated[uuid.UUID, Path(description="The contract's UUID.")]
Number = Annotated[int, Path(ge=1, le=1_000_000, description="The amendment's number.")]
Version = Annotated[int, Path(ge=1, le=1_000_000_000, description="A version of the contract.")]


@router.get(
    "/contracts/{contract_id}/amendments",
    response_model=Page[AmendmentRead],
    responses=READ_ONE,
    openapi_extra=OPTIONAL_BEARER,
)
async def list_amendments(
    contract_id: ContractId,
    request: Request,
    response: Response,
    session: SessionDep,
    params: ListParamsDep,
    caller: CallerDep,
) -> Any:
    """A contract's amendments in order of number (the recording token's subject only for its
    organisation's callers and admins)."""
    items, next_cursor, total = await service.list_amendments(
        session, contract_id=contract_id, params=params
    )
    orgs = await service.orgs_of(session, contract_id=contract_id, amendments=items)
    next_link(request, response, next_cursor)
    return Page[AmendmentRead](
        items=[_amendment(a, orgs.get(a.number), caller) for a in items],
        next_cursor=next_cursor,
        total=total,
    )


@router.post(
    "/contracts/{contract_id}/amendments",
    status_code=status.HTTP_201_CREATED,
    response_model=AmendmentRead,
    responses={**CREATE, **UPDATE},
)
async def create_amendment(
    contract_id: ContractId,
    payload: AmendmentWrite,
    session: SessionDep,
    references: RefsDep,
    caller: Writer,
    if_match: IfMatch = None,
) -> Any:
    """Amend a signed contract: the changes apply at once under the next number; needs the
    contract's If-Match."""
    amendment = await service.create(
        session,
        references=references,
        caller=caller,
        contract_id=contract_id,
        payload=payload,
        if_match=if_match,
    )
    location = f"/api/v1/contracts/{contract_id}/amendments/{amendment.number}"
    return Response(
        _amendment(amendment, caller.org, caller).model_dump_json(),
        status_code=201,
        media_type="application/json",
        headers={"Location": location},
    )


@router.get(
    "/contracts/{contract_id}/amendments/{number}",
    response_model=AmendmentRead,
    responses=READ_ONE,
    openapi_extra=OPTIONAL_BEARER,
)
async def get_amendment(
    contract_id: ContractId, number: Number, session: SessionDep, caller: CallerDep
) -> Any:
    """One amendment with the changes it made."""
    found = await service.get_amendment(session, contract_id=contract_id, number=number)
    orgs = await service.orgs_of(session, contract_id=contract_id, amendments=[found])
    return _amendment(found, orgs.get(found.number), caller)


@router.get(
    "/contracts/{contract_id}/history",
    response_model=Page[HistoryEntryRead],
    responses=READ_ONE,
    openapi_extra=OPTIONAL_BEARER,
)
async def list_contract_history(
    contract_id: ContractId,
    request: Request,
    response: Response,
    session: SessionDep,
    params: ListParamsDep,
    caller: CallerDep,
) -> Any:
    """Every recorded change, newest first (`sort=version` for oldest first); each names the
    acting organisation, and its token subject only to that organisation's callers and admins."""
    events, next_cursor, total = await service.history(
        session, contract_id=contract_id, params=params
    )
    next_link(request, response, next_cursor)
    return Page[HistoryEntryRead](
        items=[_entry(e, caller) for e in events], next_cursor=next_cursor, total=total
    )


@router.get(
    "/contracts/{contract_id}/versions/{version}",
    response_model=ContractDetail,
    responses=READ_ONE,
)
async def get_contract_version(
    contract_id: ContractId, version: Version, request: Request, session: SessionDep
) -> Any:
    """The contract, its signatories and actions as they were at a version."""
    body = await service.version(session, contract_id=contract_id, version=version)
    return conditional_document(request, body, etag_for(body.encode()))


def _amendment(a: Amendment, org: str | None, caller: Caller | None) -> AmendmentRead:
    return AmendmentRead(
        number=a.number,
        title=a.title,
        reason=a.reason,
        signed_on=a.signed_on,
        version=a.version,
        changes=[ChangeRead.model_validate(c) for c in a.changes],
        org=org,
        created_by=a.created_by if sees_subject(caller, org) else None,
        created_at=utc(a.created_at),
    )


def _entry(e: ContractEvent, caller: Caller | None) -> HistoryEntryRead:
    return HistoryEntryRead(
        version=e.version,
        kind=e.kind,
        summary=e.summary,
        amendment_number=e.amendment_number,
        changes=[ChangeRead.model_validate(c) for c in e.changes],
        by=e.by_sub if sees_subject(caller, e.by_org) else None,
        org=e.by_org,
        at=utc(e.at),
    )
