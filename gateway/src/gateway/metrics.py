"""The gateway's own series, beside the kit's (requests, process): its calls to the services,
their circuit breakers, and the callers its rate limit refused."""

from __future__ import annotations

from tdi_kit.metrics import Metrics

# Ordered by severity: with several workers, the gauge shows the worst of their breakers.
BREAKER_STATES = {"closed": 0, "half-open": 1, "open": 2}
UPSTREAM_OUTCOMES = (
    "ok",  # an answer below 500, relayed or read
    "error",  # a 5xx answer
    "timeout",  # no answer within the time left
    "unreachable",  # refused, reset or closed before any answer
    "bad_answer",  # a broken answer, malformed JSON
    "unreadable",  # an answer whose head the gateway's parser refuses (not the service's fault)
    "breaker_open",  # not called: its breaker is open
)


class GatewayMetrics(Metrics):
    def __init__(self, service: str) -> None:
        super().__init__(service)
        self.upstream = self.counter(
            "gateway_upstream_requests_total",
            "Calls to a service (pass-through and aggregates' parts), by outcome.",
            ["upstream", "outcome"],
        )
        self.upstream_latency = self.histogram(
            "gateway_upstream_request_duration_seconds",
            "Time from sending a call to a service to the head of its answer (or the failure).",
            ["upstream"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 4, 10),
        )
        self.breaker_state = self.gauge(
            "gateway_breaker_state",
            "A service's circuit breaker: 0 closed, 1 half-open, 2 open.",
            ["upstream"],
            mode="livemax",
        )
        self.breaker_transitions = self.counter(
            "gateway_breaker_transitions_total",
            "Changes of a service's circuit breaker, by the state it went to.",
            ["upstream", "state"],
        )
        self.upstream_up = self.gauge(
            "gateway_upstream_up",
            "A service as the gateway's readiness probe last saw it: 1 up, 0 down or its breaker "
            "open (refreshed by each /readyz and each scrape).",
            ["upstream"],
            mode="livemin",
        )
        self.rate_limited = self.counter(
            "gateway_rate_limited_total",
            "Requests refused by the rate limit (429), by caller: token or address.",
            ["caller"],
        )
        self.rate_limit_store_errors = self.counter(
            "gateway_rate_limit_store_errors_total",
            "Rate-limit checks the store could not answer (the request was let through).",
        )

    def call(self, upstream: str, outcome: str, seconds: float | None) -> None:
        self.upstream.labels(self.service, upstream, outcome).inc()
        if seconds is not None:
            self.upstream_latency.labels(self.service, upstream).observe(seconds)

    def upstream_state(self, upstream: str, state: str) -> None:
        self.upstream_up.labels(self.service, upstream).set(1 if state == "up" else 0)

    def breaker(self, upstream: str, state: str, *, changed: bool = True) -> None:
        self.breaker_state.labels(self.service, upstream).set(BREAKER_STATES[state])
        if changed:
            self.breaker_transitions.labels(self.service, upstream, state).inc()
