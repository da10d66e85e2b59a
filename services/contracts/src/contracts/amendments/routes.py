"""HTTP for amendments, the history of a contract and its past versions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status

from contracts.access import sees_subject
from contracts.amendments import service
from contracts.contracts.writes import WriteDep
from contracts.models import Amendment
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
from contracts.schemas.paths import ContractId, Number, Version
from tdi_kit.auth import OPTIONAL_BEARER, Caller, CallerDep
from tdi_kit.clock import utc
from tdi_kit.conditional import etag_for
from tdi_kit.db import SessionDep
from tdi_kit.documents import conditional_document
from tdi_kit.pagination import ListParamsDep, Page, page_response
from tdi_kit.rowreader import RowsDep

router = APIRouter(tags=["amendments and history"])


@router.get(
    "/contracts/{contract_id}/amendments",
    response_model=Page[AmendmentRead],
    responses=READ_ONE,
    openapi_extra=OPTIONAL_BEARER,
)
async def list_amendments(
    contract_id: ContractId,
    request: Request,
    rows: RowsDep,
    params: ListParamsDep,
    caller: CallerDep,
) -> Any:
    """A contract's amendments in order of number (the recording token's subject only for its
    organisation's callers and admins)."""
    page = await service.list_amendments(rows, contract_id=contract_id, params=params)
    items = [_amendment_row(row, caller).model_dump_json() for row in page.rows]
    return page_response(request, items, page.next_cursor, page.total)


@router.post(
    "/contracts/{contract_id}/amendments",
    status_code=status.HTTP_201_CREATED,
    response_model=AmendmentRead,
    responses={**CREATE, **UPDATE},
)
async def create_amendment(
    contract_id: ContractId,
    payload: AmendmentWrite,
    write: WriteDep,
) -> Any:
    """Amend a signed contract: the changes apply at once under the next number; needs the
    contract's If-Match."""
    amendment = await service.create(
        write,
        contract_id=contract_id,
        payload=payload,
    )
    location = f"/api/v1/contracts/{contract_id}/amendments/{amendment.number}"
    return Response(
        _amendment(amendment, write.caller.org, write.caller).model_dump_json(),
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
    rows: RowsDep,
    params: ListParamsDep,
    caller: CallerDep,
) -> Any:
    """Every recorded change, newest first (`sort=version` for oldest first); each names the
    acting organisation, and its token subject only to that organisation's callers and admins."""
    page = await service.history(rows, contract_id=contract_id, params=params)
    items = [_entry_row(row, caller).model_dump_json() for row in page.rows]
    return page_response(request, items, page.next_cursor, page.total)


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
    row = (a.number, a.title, a.reason, a.signed_on, a.version, a.changes, a.created_by)
    return _amendment_row((*row, a.created_at, org), caller)


def _amendment_row(row: tuple[Any, ...], caller: Caller | None) -> AmendmentRead:
    """An amendment as served, from a row of `queries.AMENDMENT_COLUMNS`."""
    number, title, reason, signed_on, version, changes, created_by, created_at, org = row
    return AmendmentRead(
        number=number,
        title=title,
        reason=reason,
        signed_on=signed_on,
        version=version,
        changes=[ChangeRead.model_validate(c) for c in changes],
        org=org,
        created_by=created_by if sees_subject(caller, org) else None,
        created_at=utc(created_at),
    )


def _entry_row(row: tuple[Any, ...], caller: Caller | None) -> HistoryEntryRead:
    """A history entry as served, from a row of `queries.HISTORY_COLUMNS`."""
    version, kind, summary, amendment_number, changes, by_sub, by_org, at = row
    return HistoryEntryRead(
        version=version,
        kind=kind,
        summary=summary,
        amendment_number=amendment_number,
        changes=[ChangeRead.model_validate(c) for c in changes],
        by=by_sub if sees_subject(caller, by_org) else None,
        org=by_org,
        at=utc(at),
    )
