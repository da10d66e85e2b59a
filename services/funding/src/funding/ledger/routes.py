"""HTTP for the ledger."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from funding.ledger import queries, service
from funding.schemas import (
    PROBLEMS,
    Code,
    LedgerEntryRead,
    LedgerKind,
    OrganisationCode,
    TerritoryCode,
)
from tdi_kit.auth import CallerDep
from tdi_kit.listing import ListingDep
from tdi_kit.pagination import CSV_RESPONSE, Page
from tdi_kit.rowreader import RowsDep

router = APIRouter(tags=["ledger"], responses=PROBLEMS)


@router.get("/ledger", response_model=Page[LedgerEntryRead], responses=CSV_RESPONSE)
async def list_ledger(
    listing: ListingDep,
    rows: RowsDep,
    caller: CallerDep,
    envelope: Annotated[Code | None, Query()] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    operator: Annotated[OrganisationCode | None, Query()] = None,
    allocation: Annotated[uuid.UUID | None, Query()] = None,
    territory: Annotated[TerritoryCode | None, Query()] = None,
    kind: Annotated[LedgerKind | None, Query()] = None,
    is_demo: Annotated[
        bool | None, Query(description="true: demo movements only; false: real ones only.")
    ] = None,
) -> Any:
    """Every movement of money, oldest first (token needed; an operator sees its own)."""
    filters = {
        "envelope": envelope,
        "year": year,
        "operator": operator,
        "allocation": allocation,
        "territory": territory,
        "kind": kind,
        "is_demo": is_demo,
    }
    page = await service.entries(rows, caller=caller, params=listing.params, filters=filters)
    return queries.LEDGER.answer(listing.request, listing.params, page, filename="ledger")
