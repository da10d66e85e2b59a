"""HTTP for disbursements: an allocation's payments, one at a time or pushed in bulk."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status

from funding.access import VARY, Writer, private_scope
from funding.allocations import bulk
from funding.disbursements import service
from funding.pages import PAGES
from funding.schemas import (
    PROBLEMS,
    BulkResult,
    DisbursementCreate,
    DisbursementRead,
    DisbursementRow,
)
from funding.schemas.paths import IdPath
from tdi_kit.auth import OPTIONAL_BEARER, CallerDep
from tdi_kit.db import SessionDep
from tdi_kit.documents import write_response
from tdi_kit.listing import ListingDep
from tdi_kit.pagination import CSV_RESPONSE, Page
from tdi_kit.rowreader import RowsDep

# Tagged with allocations too, as they were when these routes lived there: a payment is an
# allocation's.
router = APIRouter(tags=["allocations"], responses=PROBLEMS)


@router.get(
    "/allocations/{allocation_id:uuid}/disbursements",
    response_model=Page[DisbursementRead],
    responses=CSV_RESPONSE,
    tags=["disbursements"],
    openapi_extra=OPTIONAL_BEARER,
)
async def list_disbursements(
    allocation_id: IdPath,
    listing: ListingDep,
    rows: RowsDep,
    caller: CallerDep,
) -> Any:
    """An allocation's disbursements; sort on `created_at`, `amount_cents`."""

    async def build() -> Any:
        found = await service.disbursements(
            rows, caller=caller, allocation_id=allocation_id, params=listing.params
        )
        listing.response.headers.update(VARY)
        return listing.page(
            found, model=DisbursementRead, filename=f"disbursements-{allocation_id}"
        )

    # Whether the caller sees the allocation is the caller's view's: kept apart for each.
    return await PAGES.answer(
        rows, listing.request, listing.params, build, seen_as=private_scope(caller)
    )


@router.post(
    "/allocations/{allocation_id:uuid}/disbursements",
    status_code=status.HTTP_201_CREATED,
    response_model=DisbursementRead,
    tags=["disbursements"],
)
async def create_disbursement(
    allocation_id: IdPath, payload: DisbursementCreate, session: SessionDep, caller: Writer
) -> Any:
    """Pay part of a committed allocation (409 beyond what is committed and not disbursed)."""
    created = await service.disburse(
        session, caller=caller, allocation_id=allocation_id, payload=payload
    )
    return write_response(
        service.read(created),
        status_code=201,
        location=f"/api/v1/allocations/{allocation_id}/disbursements",
    )


@router.post(
    "/disbursements/bulk",
    status_code=status.HTTP_201_CREATED,
    response_model=BulkResult,
    openapi_extra=bulk.openapi_body(DisbursementRow),
    tags=["disbursements"],
)
async def push_disbursements(request: Request, session: SessionDep, caller: Writer) -> BulkResult:
    """Push many disbursements (JSON array or CSV), by `allocation_id` or the operator's
    `allocation_reference`: all or nothing, with a report of every bad row."""
    rows, problems = bulk.parse(
        await request.body(), request.headers.get("content-type", ""), DisbursementRow
    )
    outcome = await service.disburse_many(session, caller=caller, rows=rows)
    return bulk.settle(rows, problems, outcome)
