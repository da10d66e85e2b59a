"""HTTP for allocations, one at a time or pushed in bulk."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status

from funding.access import VARY, Writer, private_scope
from funding.allocations import bulk, changes, reads, service
from funding.pages import PAGES
from funding.references import OwnersDep
from funding.schemas import (
    PROBLEMS,
    AllocationCreate,
    AllocationRead,
    AllocationStatus,
    AllocationUpdate,
    BulkResult,
    Cancellation,
    Code,
    OrganisationCode,
    TerritoryCode,
)
from funding.schemas.paths import IdPath
from tdi_kit.auth import OPTIONAL_BEARER, CallerDep
from tdi_kit.conditional import IfMatch
from tdi_kit.db import SessionDep
from tdi_kit.documents import write_response
from tdi_kit.identifiers import RegionCode, Siren
from tdi_kit.listing import ListingDep
from tdi_kit.pagination import CSV_RESPONSE, Page
from tdi_kit.rowreader import RowsDep

router = APIRouter(tags=["allocations"], responses=PROBLEMS)


@router.get(
    "/allocations",
    response_model=Page[AllocationRead],
    responses=CSV_RESPONSE,
    openapi_extra=OPTIONAL_BEARER,
)
async def list_allocations(
    listing: ListingDep,
    rows: RowsDep,
    caller: CallerDep,
    envelope: Annotated[Code | None, Query()] = None,
    operator: Annotated[OrganisationCode | None, Query()] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    territory: Annotated[TerritoryCode | None, Query()] = None,
    region: Annotated[RegionCode | None, Query()] = None,
    status: Annotated[AllocationStatus | None, Query()] = None,
    action: Annotated[uuid.UUID | None, Query()] = None,
    is_demo: Annotated[bool | None, Query()] = None,
    beneficiary_siren: Annotated[Siren | None, Query()] = None,
    reference: Annotated[str | None, Query(pattern=r"^[^\x00-\x1f]{1,100}$")] = None,
) -> Any:
    """Allocations; proposed ones only with their operator's (or examiner's) token. Sort on
    `created_at`, `amount_cents`, `territory_code`, `year`."""
    filters = {
        "envelope": envelope,
        "operator": operator,
        "year": year,
        "territory": territory,
        "region": region,
        "status": status,
        "action": action,
        "is_demo": is_demo,
        "beneficiary_siren": beneficiary_siren,
        "reference": reference,
    }

    async def build() -> Any:
        page = await service.allocations(
            rows, caller=caller, params=listing.params, filters=filters
        )
        return reads.ALLOCATIONS.answer(
            listing.request, listing.params, page, filename="allocations", headers=VARY
        )

    return await PAGES.answer(
        rows, listing.request, listing.params, build, seen_as=private_scope(caller)
    )


@router.get(
    "/allocations/{allocation_id:uuid}",
    response_model=AllocationRead,
    openapi_extra=OPTIONAL_BEARER,
)
async def get_allocation(allocation_id: IdPath, rows: RowsDep, caller: CallerDep) -> Any:
    """One allocation (a proposed one only for its operator or examiner: 404 to others)."""
    return reads.document(
        await service.read_by_id(rows, caller=caller, allocation_id=allocation_id)
    )


@router.post("/allocations", status_code=status.HTTP_201_CREATED, response_model=AllocationRead)
async def create_allocation(
    payload: AllocationCreate, session: SessionDep, caller: Writer, owners: OwnersDep
) -> Any:
    """Allocate tranche money to a territory, proposed or committed at once (409 when the
    tranche lacks it, 422 when the envelope's rules refuse it)."""
    created = await service.create(session, caller=caller, owners=owners, payload=payload)
    return write_response(
        await service.read(session, created),
        status_code=201,
        location=f"/api/v1/allocations/{created.id}",
    )


@router.patch("/allocations/{allocation_id:uuid}", response_model=AllocationRead)
async def update_allocation(
    allocation_id: IdPath,
    payload: AllocationUpdate,
    session: SessionDep,
    caller: Writer,
    owners: OwnersDep,
    if_match: IfMatch = None,
) -> Any:
    """Change a proposed allocation; needs If-Match."""
    updated = await changes.update(
        session,
        caller=caller,
        owners=owners,
        allocation_id=allocation_id,
        payload=payload,
        if_match=if_match,
    )
    return write_response(await service.read(session, updated))


@router.post("/allocations/{allocation_id:uuid}/commit", response_model=AllocationRead)
async def commit_allocation(
    allocation_id: IdPath, session: SessionDep, caller: Writer, if_match: IfMatch = None
) -> Any:
    """Commit a proposed allocation (409 when the tranche lacks the money); needs If-Match."""
    committed = await changes.commit(
        session, caller=caller, allocation_id=allocation_id, if_match=if_match
    )
    return write_response(await service.read(session, committed))


@router.post("/allocations/{allocation_id:uuid}/cancel", response_model=AllocationRead)
async def cancel_allocation(
    allocation_id: IdPath,
    payload: Cancellation,
    session: SessionDep,
    caller: Writer,
    if_match: IfMatch = None,
) -> Any:
    """Cancel; what was committed and not disbursed returns to the tranche. Needs If-Match."""
    cancelled = await changes.cancel(
        session, caller=caller, allocation_id=allocation_id, payload=payload, if_match=if_match
    )
    return write_response(await service.read(session, cancelled))


@router.post(
    "/allocations/bulk",
    status_code=status.HTTP_201_CREATED,
    response_model=BulkResult,
    openapi_extra=bulk.openapi_body(AllocationCreate),
)
async def push_allocations(
    request: Request, session: SessionDep, caller: Writer, owners: OwnersDep
) -> BulkResult:
    """Push many allocations (JSON array or CSV): all stored, or none and a report of every
    bad row. Send an Idempotency-Key so that a retried push is harmless."""
    rows, problems = bulk.parse(
        await request.body(), request.headers.get("content-type", ""), AllocationCreate
    )
    outcome = await service.create_many(session, caller=caller, owners=owners, rows=rows)
    return bulk.settle(rows, problems, outcome)
