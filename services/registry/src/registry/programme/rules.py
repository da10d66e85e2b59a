"""The programme's calendar: which phase is under way on a given day, and what its words mean.

One home for the rule "a phase is over once its last day has passed", used by the territories
(their `ended` status), the programme resource and its `current` phase.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from tdi_kit import clock
from tdi_kit.vocabulary import labels


class Dated(Protocol):
    starts_on: dt.date
    ends_on: dt.date


def today() -> dt.date:
    """The programme's calendar is French, but its phases are whole days: UTC is near enough."""
    return clock.today()


def phase_status(phase: Dated, on: dt.date) -> str:
    if on < phase.starts_on:
        return "upcoming"
    if on > phase.ends_on:
        return "ended"
    return "current"


PHASE_STATUS_LABELS = labels("phase_statuses")
KIND_LABELS = labels("milestone_kinds")
MEASURE_LABELS = labels("milestone_measures")
