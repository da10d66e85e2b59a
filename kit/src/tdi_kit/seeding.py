"""What every service's seed load reports: how many records it added, changed or left alone.

A seed is loaded again on every start, so each record is an upsert; the counts say what the
load did, and `skipped` names the records it could not load (a reference missing, say).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Counts:
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"{self.added} added, {self.changed} changed, {self.unchanged} left as they were"
        return text + (f", {len(self.skipped)} skipped" if self.skipped else "")

    def count(self, *, new: bool, changed: bool) -> None:
        if new:
            self.added += 1
        elif changed:
            self.changed += 1
        else:
            self.unchanged += 1
