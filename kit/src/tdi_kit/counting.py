"""Counts by value as every aggregate shows them: `[{"key": ..., "count": n}]`, one entry per
value, in the order of the value's text with null last (the dashboard's order since its first
version: its clients and its ETags rely on it)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def by_key(groups: Iterable[tuple[Any, int]]) -> list[dict[str, Any]]:
    """Counts of (value, count) pairs, a value's counts added: the groups of a GROUP BY on more
    columns than the one counted (the rows of one statement answering several counts)."""
    totals: dict[Any, int] = {}
    for key, n in groups:
        totals[key] = totals.get(key, 0) + n
    ordered = sorted(totals.items(), key=lambda kv: (kv[0] is None, str(kv[0])))
    return [{"key": key, "count": n} for key, n in ordered]
