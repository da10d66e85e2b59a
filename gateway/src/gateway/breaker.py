"""The circuit breaker each service's client keeps (`gateway.clients`): a service that keeps
failing is not called again until its reset time has passed, then tried once."""

from __future__ import annotations

import time
from collections.abc import Callable


class CircuitBreaker:
    """Closed → (N failures in a row) → open → (after `reset_seconds`) half-open → one trial.

    The trial's success closes it; its failure opens it again for another `reset_seconds`.
    A trial that never reports (its caller went away) is given up after `reset_seconds` too.
    `clock` (monotonic seconds) is there for tests, which move time instead of waiting;
    `on_change(old, new)` hears every change of state.
    """

    def __init__(
        self,
        failures: int,
        reset_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[str, str], None] = lambda _old, _new: None,
    ) -> None:
        self.clock = clock
        self.on_change = on_change
        self.threshold = failures
        self.reset_seconds = reset_seconds
        self.consecutive_failures = 0
        self.opened_at: float | None = None
        self.trial_started: float | None = None

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        if self.trial_started is not None:
            return "half-open"
        return "open"

    def allow(self) -> bool:
        if self.opened_at is None:
            return True
        now = self.clock()
        if self.trial_started is None:
            if now - self.opened_at < self.reset_seconds:
                return False
        elif now - self.trial_started < self.reset_seconds:
            return False  # one trial at a time
        before = self.state
        self.trial_started = now
        if before != "half-open":
            self.on_change(before, "half-open")
        return True

    def retry_after(self) -> int:
        if self.opened_at is None:
            return 0
        since = self.trial_started or self.opened_at
        return max(1, round(self.reset_seconds - (self.clock() - since)))

    def success(self) -> None:
        if self.opened_at is not None or self.consecutive_failures:
            before = self.state
            self.consecutive_failures = 0
            self.opened_at = None
            self.trial_started = None
            if before != "closed":
                self.on_change(before, "closed")

    def failure(self) -> None:
        self.consecutive_failures += 1
        if self.trial_started is not None or self.consecutive_failures >= self.threshold:
            before = self.state
            self.opened_at = self.clock()
            self.trial_started = None
            if before != "open":
                self.on_change(before, "open")
