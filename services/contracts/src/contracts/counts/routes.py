"""HTTP for the dashboard's counts of acts and fiches-actions."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query
from starlette.responses import Response

from contracts.counts import service
from contracts.schemas import Counts
from tdi_kit.app import problem_responses
from tdi_kit.identifiers import RegionCode
from tdi_kit.rowreader import RowsDep

# Declared before the contracts' routes: `/contracts/counts` is no contract's id.
router = APIRouter(tags=["contracts"])


@router.get("/contracts/counts", response_model=Counts, responses=problem_responses(304))
async def get_counts(
    rows: RowsDep,
    region: Annotated[
        RegionCode | None,
        Query(
            description="A Région's code, as the lists filter on it (`27`): the records of "
            "the territories touching it."
        ),
    ] = None,
    include_demo: Annotated[
        bool, Query(description="Count demo records too (the lists' `is_demo`).")
    ] = False,
) -> Any:
    """Protocoles and contracts per status and kind, fiches-actions per axis (phase 1),
    priority (phase 2) and status: what the lists give for the same filters, counted by the
    database; demo records only with `include_demo=true`."""
    body = orjson.dumps(await service.counts(rows, region=region, include_demo=include_demo))
    return Response(body, media_type="application/json")
