"""The Prometheus metrics of an app: every series it may expose, declared in one place.

Metrics are right whatever the number of uvicorn workers: with `PROMETHEUS_MULTIPROC_DIR` set
(`tdi serve` sets and empties it), every worker writes its figures to files there and any worker
answering `/metrics` reads them all (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

log = logging.getLogger("tdi.metrics")
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
_STARTED = time.time()


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_DIR))


class Metrics:
    """The Prometheus collectors of one app (own registry, so tests can build many apps).

    Every series the suite exposes is declared here or in a subclass (the gateway's), so that
    `series()` names them all: the alert rules and dashboards are checked against it.
    """

    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        self.service = service
        self.declared: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.samplers: list[Callable[[], None]] = [self._sample_process]
        self.requests = self.counter(
            "http_requests_total", "HTTP requests served.", ["method", "route", "status"]
        )
        self.latency = self.histogram(
            "http_request_duration_seconds",
            "Time to serve an HTTP request.",
            ["method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        # The process: summed over the workers of one container (livesum: live workers only).
        self.cpu = self.counter("process_cpu_seconds_total", "CPU time used (user + system).")
        self.memory = self.gauge(
            "process_resident_memory_bytes", "Resident memory.", mode="livesum"
        )
        self.open_fds = self.gauge("process_open_fds", "Open file descriptors.", mode="livesum")
        self.started = self.gauge(
            "process_start_time_seconds", "When the oldest live worker started.", mode="livemin"
        )
        self.workers = self.gauge("process_workers", "Live worker processes.", mode="livesum")
        # Database connection pools, one `pool` label each of the connection budget's
        # (docs/operations.md): `engine` (writes' sessions), `read_engine` (GETs' AUTOCOMMIT
        # sessions, PostgreSQL), `reader` (the driver-level row reader), `idempotency_locks`.
        self.pool_size = self.gauge(
            "db_pool_size", "Connections open in the pool.", ["pool"], mode="livesum"
        )
        self.pool_checked_out = self.gauge(
            "db_pool_checked_out", "Connections in use.", ["pool"], mode="livesum"
        )
        self.pool_overflow = self.gauge(
            "db_pool_overflow",
            "Connections open beyond the pool's size (SQLAlchemy's overflow).",
            ["pool"],
            mode="livesum",
        )
        self.idempotency = self.counter(
            "idempotency_requests_total",
            "POSTs with an Idempotency-Key, by outcome: stored (first answer kept), replayed, "
            "in_flight (409), mismatch (422: another request under the key), forbidden (403).",
            ["outcome"],
        )
        self.rows_written = self.counter(
            "db_rows_written_total",
            "Rows committed to the record tables a service counts (funding: ledger_entries), "
            "by table and kind.",
            ["table", "kind"],
        )
        self.events_published_total = self.counter(
            "events_published_total",
            "Events the relay published to the broker (and the broker confirmed).",
        )
        self.events_relay_errors = self.counter(
            "events_relay_errors_total",
            "Failed rounds of the events relay, by stage: sequence (the database) or publish "
            "(the broker); it backs off and retries.",
            ["stage"],
        )
        # The same figure in every worker (they share the database): the largest, not the sum.
        self.events_unpublished = self.gauge(
            "events_unpublished",
            "Sequenced events the broker has not confirmed yet: the relay's backlog (services "
            "with a broker only).",
            mode="livemax",
        )
        self.events_unpublished_age = self.gauge(
            "events_unpublished_oldest_seconds",
            "How long ago the oldest event of the relay's backlog happened (0: no backlog).",
            mode="livemax",
        )
        self._cpu_seen = 0.0
        # labels() takes a lock and builds a key on every call: keep the children it returns.
        self._counters: dict[tuple[str, str, int], Any] = {}
        self._histograms: dict[tuple[str, str], Any] = {}
        self._sampling: asyncio.Task[None] | None = None

    # Declaring --------------------------------------------------------------------------------

    def counter(self, name: str, doc: str, labels: Iterable[str] = ()) -> Counter:
        names = ("service", *labels)
        self.declared[name] = ("counter", names)
        return Counter(name, doc, names, registry=self.registry)

    def gauge(self, name: str, doc: str, labels: Iterable[str] = (), *, mode: str) -> Gauge:
        """`mode`: how the workers' values add up (prometheus_client's multiprocess_mode)."""
        names = ("service", *labels)
        self.declared[name] = ("gauge", names)
        return Gauge(name, doc, names, registry=self.registry, multiprocess_mode=mode)  # type: ignore[arg-type]

    def histogram(
        self, name: str, doc: str, labels: Iterable[str], *, buckets: tuple[float, ...]
    ) -> Histogram:
        names = ("service", *labels)
        self.declared[name] = ("histogram", names)
        return Histogram(name, doc, names, registry=self.registry, buckets=buckets)

    def series(self) -> dict[str, set[str]]:
        """Every series name this app may expose, with its labels (for the rule checks)."""
        found: dict[str, set[str]] = {}
        for name, (kind, labels) in self.declared.items():
            if kind == "histogram":
                found[f"{name}_bucket"] = {*labels, "le"}
                found[f"{name}_sum"] = set(labels)
                found[f"{name}_count"] = set(labels)
            else:
                found[name] = set(labels)
        return found

    # Recording --------------------------------------------------------------------------------

    def record(self, method: str, route: str, status: int, seconds: float) -> None:
        counter = self._counters.get((method, route, status))
        if counter is None:
            counter = self.requests.labels(self.service, method, route, str(status))
            self._counters[(method, route, status)] = counter
        histogram = self._histograms.get((method, route))
        if histogram is None:
            histogram = self.latency.labels(self.service, method, route)
            self._histograms[(method, route)] = histogram
        counter.inc()
        histogram.observe(seconds)

    def idempotency_outcome(self, outcome: str) -> None:
        self.idempotency.labels(self.service, outcome).inc()

    def rows(self, table: str, kind: str, count: int) -> None:
        self.rows_written.labels(self.service, table, kind).inc(count)

    def events_published(self, count: int) -> None:
        self.events_published_total.labels(self.service).inc(count)

    def events_relay_error(self, stage: str) -> None:
        self.events_relay_errors.labels(self.service, stage).inc()

    def events_backlog(self, count: int, oldest_seconds: float) -> None:
        self.events_unpublished.labels(self.service).set(count)
        self.events_unpublished_age.labels(self.service).set(oldest_seconds)

    def pool(self, pool: str, *, size: int, checked_out: int, overflow: int) -> None:
        self.pool_size.labels(self.service, pool).set(size)
        self.pool_checked_out.labels(self.service, pool).set(checked_out)
        self.pool_overflow.labels(self.service, pool).set(overflow)

    def engine_pool(self, pool: str, engine_pool: Any) -> None:
        """The figures of a SQLAlchemy engine's pool, as `pool` (a queue pool: SQLite files and
        PostgreSQL use one; other pools keep no figures)."""
        if hasattr(engine_pool, "checkedout"):
            self.pool(
                pool,
                size=engine_pool.checkedin() + engine_pool.checkedout(),
                checked_out=engine_pool.checkedout(),
                overflow=max(0, engine_pool.overflow()),
            )

    def _sample_process(self) -> None:
        times = os.times()
        cpu = times.user + times.system
        if cpu > self._cpu_seen:
            self.cpu.labels(self.service).inc(cpu - self._cpu_seen)
            self._cpu_seen = cpu
        self.memory.labels(self.service).set(_resident_bytes())
        if os.path.isdir("/proc/self/fd"):
            self.open_fds.labels(self.service).set(len(os.listdir("/proc/self/fd")))
        self.started.labels(self.service).set(_STARTED)
        self.workers.labels(self.service).set(1)

    def sample(self) -> None:
        """Bring the sampled figures (process, pools) up to date."""
        for sampler in self.samplers:
            try:
                sampler()
            except Exception:  # a figure missing from one scrape is no reason to fail it
                log.warning("metrics sampler failed", exc_info=True)

    async def _sample_every(self, seconds: float) -> None:
        while True:
            self.sample()
            await asyncio.sleep(seconds)

    def start(self, every_seconds: float = 10.0) -> None:
        """With several workers, a scrape reads the others' sampled figures from their files:
        each worker refreshes its own in the background."""
        if multiprocess() and self._sampling is None:
            self._sampling = asyncio.get_running_loop().create_task(
                self._sample_every(every_seconds)
            )

    def stop(self) -> None:
        if self._sampling is not None:
            self._sampling.cancel()
            self._sampling = None
        if multiprocess():
            from prometheus_client import multiprocess as mp

            # This worker's live gauges leave the sums; its counters stay in them.
            mp.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]

    def exposition(self) -> tuple[bytes, str]:
        self.sample()
        if multiprocess():
            from prometheus_client import multiprocess as mp

            registry = CollectorRegistry()
            mp.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def _resident_bytes() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux: the peak, which is what the platform tells
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


def prepare_multiprocess(workers: int) -> str | None:
    """Before uvicorn starts its workers: an empty `PROMETHEUS_MULTIPROC_DIR` (one made under
    the temporary folder when several workers run and none is set). Files left by a previous
    run would add its figures to this one's."""
    directory = os.environ.get(MULTIPROC_DIR)
    if not directory and workers > 1:
        import tempfile

        directory = tempfile.mkdtemp(prefix="tdi-metrics-")
    if not directory:
        return None
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if name.endswith(".db"):
            os.remove(os.path.join(directory, name))
    os.environ[MULTIPROC_DIR] = directory
    return directory
