"""SQL for balances: GROUP BY over the ledger, nothing else."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select

from funding.models import AllocationRegion, EnvelopeTheme, LedgerEntry

# Each dimension: the columns it groups by (and the name each is served under).
COLUMNS: dict[str, list[tuple[str, Any]]] = {
    "envelope": [("envelope_code", LedgerEntry.envelope_code)],
    "tranche": [("envelope_code", LedgerEntry.envelope_code), ("year", LedgerEntry.year)],
    "operator": [("operator_code", LedgerEntry.operator_code)],
    "year": [("year", LedgerEntry.year)],
    "theme": [("theme", EnvelopeTheme.theme)],
    "territory": [("territory_code", LedgerEntry.territory_code)],
    "region": [("region_code", AllocationRegion.region_code)],
}
SUMS = [
    func.coalesce(func.sum(LedgerEntry.amount_delta_cents), 0).label("amount_cents"),
    func.coalesce(func.sum(LedgerEntry.committed_delta_cents), 0).label("committed_cents"),
    func.coalesce(func.sum(LedgerEntry.disbursed_delta_cents), 0).label("disbursed_cents"),
]


def _joined(stmt: Select[Any], dims: set[str], filters: dict[str, Any]) -> Select[Any]:
    if "theme" in dims or filters.get("theme") is not None:
        stmt = stmt.join(EnvelopeTheme, EnvelopeTheme.envelope_code == LedgerEntry.envelope_code)
    if "region" in dims or filters.get("region") is not None:
        stmt = stmt.join(
            AllocationRegion, AllocationRegion.allocation_id == LedgerEntry.allocation_id
        )
    if "territory" in dims:
        stmt = stmt.where(LedgerEntry.territory_code.is_not(None))
    for name, column in (
        ("envelope", LedgerEntry.envelope_code),
        ("year", LedgerEntry.year),
        ("operator", LedgerEntry.operator_code),
        ("theme", EnvelopeTheme.theme),
        ("territory", LedgerEntry.territory_code),
        ("region", AllocationRegion.region_code),
    ):
        if filters.get(name) is not None:
            stmt = stmt.where(column == filters[name])
    if filters.get("exclude_demo"):
        stmt = stmt.where(LedgerEntry.is_demo.is_(False))
    return stmt


def grouped(by: list[str], filters: dict[str, Any]) -> Select[Any]:
    columns = list(dict.fromkeys(c for dim in by for c in COLUMNS[dim]))
    labelled = [column.label(name) for name, column in columns]
    stmt = select(*labelled, *SUMS).select_from(LedgerEntry)
    stmt = _joined(stmt, set(by), filters)
    plain = [column for _, column in columns]
    return stmt.group_by(*plain).order_by(*plain)


def totals(filters: dict[str, Any]) -> Select[Any]:
    """Every matching movement once, however many themes or regions it falls under."""
    stmt = select(*SUMS).select_from(LedgerEntry)
    if filters.get("theme") is not None or filters.get("region") is not None:
        matching = _joined(select(LedgerEntry.id).select_from(LedgerEntry), set(), filters)
        return stmt.where(LedgerEntry.id.in_(matching))
    return _joined(stmt, set(), filters)
