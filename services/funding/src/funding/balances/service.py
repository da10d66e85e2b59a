"""Balances: the ledger's sums, per envelope, tranche, operator, year, theme, territory, region.

An envelope is not split by territory or region in advance, so grouped by either there is no
amount and nothing "available", only what is committed and disbursed there. A territory that
spans two regions counts in both; an envelope with two themes counts under each: the report's
`totals` count every movement once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from funding.balances import queries
from funding.schemas import BalanceRead, BalanceReport
from tdi_kit.errors import Unprocessable

DIMENSIONS = tuple(queries.COLUMNS)


def parse_by(by: str) -> list[str]:
    dims = list(dict.fromkeys(d.strip() for d in by.split(",") if d.strip()))
    unknown = [d for d in dims if d not in queries.COLUMNS]
    if unknown or not dims:
        raise Unprocessable.field(
            "query", "by", f"group by one or more of {', '.join(DIMENSIONS)} (comma-separated)"
        )
    return dims


def _row(values: dict[str, Any], *, spatial: bool) -> BalanceRead:
    amount = int(values["amount_cents"])
    committed = int(values["committed_cents"])
    disbursed = int(values["disbursed_cents"])
    return BalanceRead(
        **{k: v for k, v in values.items() if not k.endswith("_cents")},
        amount_cents=None if spatial else amount,
        committed_cents=committed,
        disbursed_cents=disbursed,
        undisbursed_cents=committed - disbursed,
        available_cents=None if spatial else amount - committed,
    )


async def report(session: AsyncSession, *, by: str, filters: dict[str, Any]) -> BalanceReport:
    dims = parse_by(by)
    spatial = bool({"territory", "region"} & set(dims))
    spatial_filter = filters.get("territory") is not None or filters.get("region") is not None
    rows = (await session.execute(queries.grouped(dims, filters))).mappings().all()
    total = (await session.execute(queries.totals(filters))).mappings().one()
    return BalanceReport(
        by=dims,  # type: ignore[arg-type]
        items=[_row(dict(r), spatial=spatial or spatial_filter) for r in rows],
        totals=_row(dict(total), spatial=spatial or spatial_filter),
    )
