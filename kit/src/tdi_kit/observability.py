"""Request ids, trace context, JSON logs and Prometheus metrics, as ASGI middleware.

They are plain ASGI callables rather than Starlette's BaseHTTPMiddleware: they sit on every
request's path, and the benchmark shows what each layer of framework costs.

Metrics are right whatever the number of uvicorn workers: with `PROMETHEUS_MULTIPROC_DIR` set
(`tdi serve` sets and empties it), every worker writes its figures to files there and any worker
answering `/metrics` reads them all (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import secrets
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_traceparent: ContextVar[str | None] = ContextVar("traceparent", default=None)
_VALID_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
# W3C Trace Context: version-traceid-parentid-flags, lowercase hex; version ff and all-zero ids
# are invalid (a request carrying one gets a new trace, as the recommendation says).
_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")
access_log = logging.getLogger("tdi.access")
log = logging.getLogger("tdi.observability")
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
_STARTED = time.time()
# The active OpenTelemetry span's ids, when tracing is on (tdi_kit.tracing sets this).
span_ids: Callable[[], tuple[str, str] | None] | None = None


def current_request_id() -> str | None:
    return _request_id.get()


def current_traceparent() -> str | None:
    return _traceparent.get()


def valid_traceparent(value: str | None) -> bool:
    if value is None or (match := _TRACEPARENT.match(value)) is None:
        return False
    version, trace_id, parent_id, _flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest):
        return False
    return trace_id != "0" * 32 and parent_id != "0" * 16


def new_traceparent() -> str:
    """A new trace, sampled: a service that records traces records this request's part."""
    ids = secrets.token_hex(24)  # one draw for both ids
    return f"00-{ids[:32]}-{ids[32:]}-01"


def trace_ids() -> tuple[str, str] | None:
    """(trace id, span id) of the request being served: the active span's, else the caller's."""
    if span_ids is not None and (ids := span_ids()) is not None:
        return ids
    if (tp := _traceparent.get()) is not None:
        return tp[3:35], tp[36:52]
    return None


def propagation_headers() -> dict[str, str]:
    """Headers a service forwards on its own downstream calls (with tracing on, the client's
    instrumentation replaces `traceparent` by its own span's)."""
    headers = {}
    if (rid := _request_id.get()) is not None:
        headers["X-Request-ID"] = rid
    if (tp := _traceparent.get()) is not None:
        headers["traceparent"] = tp
    return headers


# Logs ------------------------------------------------------------------------------------------

_service_name = "tdi"
# Attributes every LogRecord has: whatever else a record carries was passed in `extra=`.
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
# uvicorn's own records carry these as extras: they say nothing a line's message does not.
_IGNORED_EXTRAS = frozenset({"color_message", "taskName"})


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, service, logger, message, the request and trace
    ids of the request being served, the record's extras, and a traceback as one field."""

    def __init__(self, service: str | None = None) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service or _service_name,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        if (rid := _request_id.get()) is not None:
            doc["request_id"] = rid
        if (ids := trace_ids()) is not None:
            doc["trace_id"], doc["span_id"] = ids
        for key, value in record.__dict__.items():
            if key not in _RECORD_FIELDS and key not in _IGNORED_EXTRAS and key not in doc:
                doc[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            doc["error"] = record.exc_info[0].__name__
            doc["exception"] = self.formatException(record.exc_info)
        elif record.stack_info:
            doc["stack"] = record.stack_info
        return json.dumps(doc, ensure_ascii=False, default=str)


UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def log_config(service: str, level: str = "INFO") -> dict[str, Any]:
    """The `logging.config.dictConfig` document for uvicorn (`log_config=`): every line on
    stdout as JSON from the first, uvicorn's own included (its access log is off: the kit's
    replaces it, with the request id)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter", "service": service}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            }
        },
        "root": {"handlers": ["stdout"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},
        },
    }


def configure_logging(service: str, *, level: str = "INFO", as_json: bool = True) -> None:
    """The app's own logging: one handler on stdout. uvicorn's loggers are led to it too, in
    case uvicorn was started without `log_config(...)` (its lines before this stay plain)."""
    global _service_name
    _service_name = service
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        JsonFormatter(service)
        if as_json
        else logging.Formatter("%(levelname)s %(name)s %(message)s")
    )
    logging.Formatter.converter = time.gmtime
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # Our access log replaces uvicorn's, so that each request is one JSON line with its id.
    logging.getLogger("uvicorn.access").disabled = True
    logging.captureWarnings(True)


# Metrics ---------------------------------------------------------------------------------------


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
        # Database connection pools (engine: SQLAlchemy's; reader: the driver-level row reader).
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

    def pool(self, pool: str, *, size: int, checked_out: int, overflow: int) -> None:
        self.pool_size.labels(self.service, pool).set(size)
        self.pool_checked_out.labels(self.service, pool).set(checked_out)
        self.pool_overflow.labels(self.service, pool).set(overflow)

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


# The request's context -------------------------------------------------------------------------


class RequestContextMiddleware:
    """Request id and trace context in and out, metrics, access log, and the last word on an
    error: each one is logged once, with its traceback in a field, never as loose text."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        traceparent = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
            elif name == b"traceparent":
                traceparent = value.decode("latin-1").strip().lower()
        request_id = incoming if incoming and _VALID_ID.match(incoming) else uuid.uuid4().hex
        if not valid_traceparent(traceparent):
            # The edge starts the trace (the tracing middleware's span, when tracing is on) and
            # hands it on, so that every line logged for this request, here and in the
            # services, carries one trace id.
            ids = span_ids() if span_ids is not None else None
            traceparent = f"00-{ids[0]}-{ids[1]}-01" if ids else new_traceparent()
            scope["headers"] = [
                *(h for h in scope["headers"] if h[0] != b"traceparent"),
                (b"traceparent", traceparent.encode("latin-1")),
            ]
        token = _request_id.set(request_id)
        trace_token = _traceparent.set(traceparent)
        status = 500
        started_response = False
        started = time.perf_counter()
        header = (b"x-request-id", request_id.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                status = message["status"]
                started_response = True
                message["headers"] = [*message.get("headers", []), header]
                if span_ids is not None:
                    # Routed by now; the server span ends with the answer's last byte.
                    from tdi_kit.tracing import name_server_span

                    name_server_span(scope["method"], route_template(scope))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            # Starlette re-raises what its error handler has answered (5xx) and logged, for
            # the server to log again as loose text: stopped here, each error is logged once.
            if not (started_response and status >= 500):
                log.error(
                    "unhandled error on %s %s",
                    scope["method"],
                    scope["path"],
                    exc_info=(type(exc), exc, exc.__traceback__),
                )
                if not started_response:
                    await _send_500(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(scope)
            method = scope["method"]
            self.metrics.record(method, route, status, elapsed)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    "%s %s %s",
                    method,
                    scope["path"],
                    status,
                    extra={
                        "method": method,
                        "path": scope["path"],
                        "route": route,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                    },
                )
            _request_id.reset(token)
            _traceparent.reset(trace_token)


def route_template(scope: Scope) -> str:
    """The matched route's template (`/api/v1/territories/{code}`), never the raw path.

    FastAPI includes routers lazily: `scope["route"]` is the router's own route, whose path
    lacks the prefix the router was included under; its effective route holds the whole
    template (there is no public accessor yet). The gateway's pass-through sets `route` alone.
    """
    fastapi_scope = scope.get("fastapi")
    effective = fastapi_scope.get("effective_route_context") if fastapi_scope else None
    path = getattr(effective, "path_format", None) or getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else "unmatched"


async def _send_500(scope: Scope, receive: Receive, send: Send) -> None:
    from tdi_kit.errors import Problem, problem_response  # errors imports this module

    problem = Problem("An unexpected error occurred; it has been logged.")
    await problem_response(problem, scope["path"])(scope, receive, send)
