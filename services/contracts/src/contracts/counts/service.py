"""The dashboard's counts of acts and fiches-actions, from a GROUP BY each.

They count what the lists give for the same filters, for every caller: the lists show every
record to everyone (drafts included; reads are public, only writes depend on the token), so
the counts need no caller either. Demo records are left out unless `include_demo` (the lists'
`is_demo=false`), as every aggregate of the programme does.
"""

from __future__ import annotations

from typing import Any

from contracts.counts import queries
from tdi_kit.counting import by_key
from tdi_kit.rowreader import RowReader


async def counts(rows: RowReader, *, region: str | None, include_demo: bool) -> dict[str, Any]:
    """`Counts`: the contracts per status and kind, the actions per axis (phase 1), priority
    (phase 2) and status."""
    filters: dict[str, Any] = {"region": region, "is_demo": None if include_demo else False}
    contracts = await queries.contract_groups(rows, filters)
    actions = await queries.action_groups(rows, filters)
    return {
        "contracts": {
            "total": sum(n for *_, n in contracts),
            "by_status": by_key((status, n) for status, _, n in contracts),
            "by_kind": by_key((kind, n) for _, kind, n in contracts),
        },
        "actions": {
            "total": sum(n for *_, n in actions),
            "by_axis": by_key((axis, n) for phase, axis, _, _, n in actions if phase == 1),
            "by_priority": by_key((prio, n) for phase, _, prio, _, n in actions if phase == 2),
            "by_status": by_key((status, n) for *_, status, n in actions),
        },
    }
