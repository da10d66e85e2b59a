"""Counting the rows a service commits to its record (funding: ledger entries), for /metrics.

A query that appends to a counted table says so (`written`); the figures reach
`db_rows_written_total` when the session commits, and are forgotten if it rolls back, so the
metric counts what the record holds, not what was attempted.
"""

from __future__ import annotations

import weakref
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from tdi_kit.metrics import Metrics

_KEY = "tdi_rows_written"
# table name → the metrics of the apps counting it (one app per process outside the tests).
_watchers: dict[str, weakref.WeakSet[Metrics]] = {}


def count_rows(tables: Sequence[str], metrics: Metrics) -> None:
    """Count the rows committed to `tables` in `metrics`."""
    for table in tables:
        _watchers.setdefault(table, weakref.WeakSet()).add(metrics)
    if tables and not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)


def written(session: AsyncSession | Session, table: str, kinds: Iterable[str]) -> None:
    """Rows of `table` (one `kind` each) added in this session's transaction."""
    if table not in _watchers:
        return
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    counts: Counter[tuple[str, str]] = sync.info.setdefault(_KEY, Counter())
    for kind in kinds:
        counts[(table, kind)] += 1


def _after_commit(session: Session) -> None:
    counts: Counter[tuple[str, str]] | None = session.info.pop(_KEY, None)
    if not counts:
        return
    for (table, kind), count in counts.items():
        for metrics in _watchers.get(table, ()):
            metrics.rows(table, kind, count)


def _after_rollback(session: Session, *_: Any) -> None:
    session.info.pop(_KEY, None)
