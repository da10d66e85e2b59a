"""When to try a failed delivery again: exponential steps over about a day, with full jitter."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

# 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 24 h: eight attempts in all. Each wait is drawn at random
# below its step (full jitter), so that the deliveries a receiver's outage failed together do
# not all come back together when it returns.
SCHEDULE_SECONDS: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 86400)


def next_delay(
    failed_attempts: int,
    *,
    schedule: Sequence[float] = SCHEDULE_SECONDS,
    draw: Callable[[], float] = random.random,
) -> float | None:
    """Seconds before the next attempt after `failed_attempts` failures; None: give up."""
    if failed_attempts < 1 or failed_attempts > len(schedule):
        return None
    return schedule[failed_attempts - 1] * draw()
