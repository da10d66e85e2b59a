"""Allocations as served, rendered from their rows: a list's page and a read by id.

A row of `queries.READ_COLUMNS` becomes the allocation's JSON members (`item`) in
`AllocationRead`'s order, values as they are read, and orjson encodes the page in one call
(`tdi_kit.rowlists`): no model is validated and dumped per item, which cost a 100-item page
most of its CPU. The bytes are those of `AllocationRead.model_dump_json()`, which the writes
still answer (`service.read`); a test compares the two for every allocation, seed and
generated, as each caller sees them.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import orjson
from fastapi import Response

from funding import rules
from funding.access import VARY
from funding.allocations import queries
from funding.models import Allocation
from funding.schemas import AllocationRead
from tdi_kit.copies import REGION_NAMES_20261202
from tdi_kit.rowlists import TIMESTAMPS, RowList


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    # orjson spells UTC (aware, asyncpg's) and naive (SQLite's, stored in UTC) as `Z`; any
    # other zone is brought to UTC first, as `tdi_kit.clock.Timestamp` does.
    if moment is None or moment.tzinfo is None or moment.tzinfo is dt.UTC:
        return moment
    return moment.astimezone(dt.UTC)


@functools.lru_cache(maxsize=1024)
def _regions(aggregated: str | None) -> tuple[list[str], list[dict[str, str]]]:
    """The region codes aggregated by the database, sorted, and `service.regions_of`'s names
    as members rather than models: a few combinations serve every allocation, so each is made
    once. The lists are shared by the items that name them, which are encoded, never changed."""
    codes = sorted(aggregated.split(",")) if aggregated else []
    return codes, [{"code": c, "name": REGION_NAMES_20261202.get(c, c)} for c in codes]


def item(row: tuple[Any, ...]) -> dict[str, Any]:
    """An allocation's members, from a row of `queries.READ_COLUMNS` (its first 26 columns)."""
    (
        id_,
        envelope_code,
        year,
        operator_code,
        operator_name,
        territory_code,
        regions,
        action_id,
        title,
        beneficiary_name,
        beneficiary_siren,
        reference,
        amount_cents,
        eligible_spending_cents,
        cap_waiver,
        decision_date,
        status,
        disbursed_cents,
        released_cents,
        cancel_reason,
        is_demo,
        version,
        created_at,
        updated_at,
        committed_at,
        cancelled_at,
    ) = row[:26]
    region_codes, named = _regions(regions)
    return {
        "id": id_,
        "envelope_code": envelope_code,
        "year": year,
        "operator_code": operator_code,
        "operator_name": operator_name,
        "territory_code": territory_code,
        "region_codes": region_codes,
        "regions": named,
        "action_id": action_id,
        "title": title,
        "beneficiary_name": beneficiary_name,
        "beneficiary_siren": beneficiary_siren,
        "reference": reference,
        "amount_cents": amount_cents,
        "eligible_spending_cents": eligible_spending_cents,
        "cap_waiver": cap_waiver,
        "decision_date": decision_date,
        "status": status,
        "disbursed_cents": disbursed_cents,
        "released_cents": released_cents,
        "undisbursed_cents": rules.undisbursed(
            committed_cents=0 if status == "proposed" else amount_cents,
            released_cents=released_cents,
            disbursed_cents=disbursed_cents,
        ),
        "cancel_reason": cancel_reason,
        "is_demo": is_demo,
        "version": version,
        "created_at": _utc(created_at),
        "updated_at": _utc(updated_at),
        "committed_at": _utc(committed_at),
        "cancelled_at": _utc(cancelled_at),
    }


def _csv_row(members: dict[str, Any]) -> dict[str, Any]:
    # A cell holds text: the Régions' names, in the order of `region_codes`.
    return {**members, "regions": [r["name"] for r in members["regions"]]}


ALLOCATIONS = RowList(
    sortable=queries.SORTABLE,
    default="created_at",
    unique=("id", Allocation.id),
    item=item,
    columns=tuple(AllocationRead.model_fields),
    csv_row=_csv_row,
    json_option=TIMESTAMPS,
)


def document(row: tuple[Any, ...]) -> Response:
    """One allocation's JSON (the kit's middleware adds its ETag from these very bytes)."""
    return Response(
        orjson.dumps(item(row), option=TIMESTAMPS), media_type="application/json", headers=VARY
    )
