"""One client per service, over one shared aiohttp session, with timeouts, retry and a breaker.

The pass-through (`proxy`) and the aggregates (`dossier`, `dashboard`) share the same
connection pool and the same circuit breaker per service: a service that keeps failing is
failing for both.

Failures become problems that name the service (`service` member): 503 when it cannot be
reached or its breaker is open, 504 when it does not answer within the time left, 502 when its
answer is not one the gateway can use (a 5xx, malformed JSON). An answer whose head the
gateway's HTTP parser refuses (a header over its limits) is a 502 too, but it does not count
against the service's breaker: the limit is the gateway's, and a caller who can make a service
echo a long header must not be able to switch that service off for everyone.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
import orjson

from gateway.breaker import CircuitBreaker
from gateway.kept import DOCUMENTS_KEPT, PARTS_KEPT, Kept
from gateway.metrics import GatewayMetrics
from gateway.settings import GatewaySettings
from tdi_kit.deadline import budget_header
from tdi_kit.errors import BadGateway, GatewayTimeout, Problem, ServiceUnavailable
from tdi_kit.observability import propagation_headers

log = logging.getLogger("tdi.gateway.clients")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The connection failed before any answer came: no service saw a read twice if it is sent again.
CONNECTION_FAILURES = (
    aiohttp.ConnectionTimeoutError,
    aiohttp.ClientOSError,
    aiohttp.ServerDisconnectedError,
)


class Pool:
    """The one aiohttp session of the process, created in the running event loop on first use."""

    def __init__(self, settings: GatewaySettings, trace_configs: list[Any] | None = None) -> None:
        self.settings = settings
        # aiohttp's client spans when tracing is on (tdi_kit.tracing).
        self.trace_configs = trace_configs or []
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=0,
                limit_per_host=self.settings.max_connections_per_service,
                keepalive_timeout=30,
                ttl_dns_cache=300,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                # Bytes pass through as the service sent them: no decompression, no cookies,
                # no default headers that the caller did not send.
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept"),
                timeout=aiohttp.ClientTimeout(total=None),
                trace_configs=self.trace_configs or None,
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


_UNREAD: Any = object()


class Answer:
    """A service's JSON answer to an aggregate's call. `revalidated`: the service answered 304
    to the ETag of the answer the gateway kept, whose bytes are parsed again only if read."""

    __slots__ = ("_body", "etag", "raw", "revalidated", "status")

    def __init__(
        self,
        status: int,
        raw: bytes,
        etag: str | None,
        *,
        body: Any = _UNREAD,
        revalidated: bool = False,
    ) -> None:
        self.status, self.raw, self.etag = status, raw, etag
        self.revalidated = revalidated
        self._body = body

    @property
    def body(self) -> Any:
        if self._body is _UNREAD:
            self._body = orjson.loads(self.raw) if self.raw else None
        return self._body


# A part's answer is kept under its service's URL, its parameters and the caller's
# Authorization: what one caller was sent is reused for that caller only.
PartKey = tuple[str, tuple[tuple[str, str], ...], str | None]


class ServiceClient:
    """Calls to one service: the pass-through's breaker and the aggregates' JSON reads."""

    def __init__(
        self,
        name: str,
        base_url: str,
        pool: Pool,
        settings: GatewaySettings,
        metrics: GatewayMetrics,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.pool = pool
        self.settings = settings
        self.metrics = metrics
        self.breaker = CircuitBreaker(
            settings.breaker_failures,
            settings.breaker_reset_seconds,
            on_change=self._breaker_changed,
        )
        metrics.breaker(name, "closed", changed=False)
        # The class of the last failure seen on a call ("timeout", "unreachable", ...): what
        # the gateway's /readyz reports, never a message (which could carry a driver's text).
        self.last_error: str | None = None
        # The aggregates' last answers with an ETag, asked again with If-None-Match
        # (`gateway.kept`).
        self.kept: Kept[PartKey, Answer] = Kept(PARTS_KEPT)

    def _breaker_changed(self, old: str, new: str) -> None:
        self.metrics.breaker(self.name, new)
        if new == "open":
            log.warning(
                "circuit breaker for %s opened: the gateway stops calling it for %s s",
                self.name,
                self.settings.breaker_reset_seconds,
                extra={"upstream": self.name, "breaker": new, "was": old},
            )
        else:
            log.info(
                "circuit breaker for %s is %s",
                self.name,
                new,
                extra={"upstream": self.name, "breaker": new, "was": old},
            )

    def outcome(self, outcome: str, started: float | None = None) -> None:
        """Count one call (or refusal) to this service; `started`: when it was sent."""
        seconds = None if started is None else time.perf_counter() - started
        self.metrics.call(self.name, outcome, seconds)

    # Problems naming this service -------------------------------------------------------------

    def unavailable(self, why: str, *, error: str = "unreachable") -> ServiceUnavailable:
        self.last_error = error
        return self._unavailable(why)

    def _unavailable(self, why: str) -> ServiceUnavailable:
        return ServiceUnavailable(
            f"The {self.name} service {why}.",
            service=self.name,
            headers={"Retry-After": str(max(1, self.breaker.retry_after()))},
        )

    def breaker_open(self) -> ServiceUnavailable:
        return self._unavailable(
            "kept failing; the gateway stopped calling it for a while (circuit breaker open)"
        )

    def timed_out(self) -> GatewayTimeout:
        self.last_error = "timeout"
        return GatewayTimeout(f"The {self.name} service did not answer in time.", service=self.name)

    def bad_answer(self, why: str) -> BadGateway:
        self.last_error = "bad_answer"
        return BadGateway(f"The {self.name} service {why}.", service=self.name)

    def unreadable(self) -> BadGateway:
        self.last_error = "unreadable_answer"
        return BadGateway(
            f"The gateway could not read the {self.name} service's answer (a header over the "
            "gateway's limits, say).",
            service=self.name,
        )

    # Readiness ----------------------------------------------------------------------------------

    async def probe(self, seconds: float) -> dict[str, str | None]:
        """This service's state for the gateway's /readyz: its own /readyz asked once, within
        `seconds`, past the breaker and without counting against it (an observation, not
        traffic). `state` is `up`, `down` or `breaker_open`; `error` the class of the failure."""
        state: dict[str, str | None] = {"state": "up", "breaker": self.breaker.state}
        error: str | None = None
        if self.breaker.state == "open":
            state["state"] = "breaker_open"
        try:
            async with self.pool.session.get(
                self.base_url + "/readyz",
                headers={**propagation_headers(), "Accept": "application/json"},
                timeout=aiohttp.ClientTimeout(
                    total=seconds, sock_connect=min(seconds, self.settings.connect_timeout_seconds)
                ),
            ) as response:
                if response.status != 200:
                    error = "unavailable" if response.status == 503 else "bad_answer"
        except TimeoutError:
            error = "timeout"
        except aiohttp.ClientResponseError:
            error = "unreadable_answer"
        except aiohttp.ClientError:
            error = "unreachable"
        if error is not None and state["state"] == "up":
            state["state"] = "down"
        state["error"] = error
        state["last_error"] = self.last_error
        return state

    # Aggregates' reads --------------------------------------------------------------------------

    async def get_json(
        self,
        path: str,
        *,
        deadline: float,
        params: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
        accept: tuple[int, ...] = (200,),
        call_timeout: float | None = None,
        revalidate: bool = False,
    ) -> Answer:
        """GET `path` as JSON before `deadline` (a `time.monotonic()` instant).

        Statuses in `accept` are answers; anything else, and any failure, raises a problem
        naming this service. A connection that fails is tried once more, time allowing.
        `call_timeout` replaces `call_timeout_seconds` for calls known to be slow.
        `revalidate`: a 200 with an ETag is kept, and the same call (path, parameters,
        Authorization) sent again with If-None-Match; the service's 304 answers the kept body.
        """
        per_call = call_timeout or self.settings.call_timeout_seconds
        sent = {**propagation_headers(), **(headers or {}), "Accept": "application/json"}
        key: PartKey | None = None
        held: Answer | None = None
        if revalidate:
            pairs = params.items() if isinstance(params, Mapping) else (params or ())
            key = (path, tuple(pairs), sent.get("Authorization"))
            held = self.kept.get(key)
            if held is not None:
                sent["If-None-Match"] = held.etag or ""
        url = self.base_url + path
        for attempt in (1, 2):
            if not self.breaker.allow():
                self.outcome("breaker_open")
                raise self.breaker_open()
            left = deadline - time.monotonic()
            if left <= 0:
                self.outcome("timeout")
                raise self.timed_out()
            timeout = aiohttp.ClientTimeout(
                total=min(per_call, left),
                sock_connect=self.settings.connect_timeout_seconds,
            )
            # The service gives up when this call would (tdi_kit.deadline).
            budget = dict([budget_header(min(per_call, left))])
            started = time.perf_counter()
            try:
                async with self.pool.session.get(
                    url, params=params, headers={**sent, **budget}, timeout=timeout
                ) as response:
                    raw = await response.read()
                    status = response.status
                    etag = response.headers.get("ETag")
            except CONNECTION_FAILURES as exc:
                # Refused, reset or closed before an answer: a read is safe to send again.
                self.outcome("unreachable", started)
                if attempt == 1:
                    continue
                self.breaker.failure()
                raise self.unavailable(f"cannot be reached ({type(exc).__name__})") from None
            except TimeoutError:
                self.outcome("timeout", started)
                self.breaker.failure()
                raise self.timed_out() from None
            except aiohttp.ClientResponseError:
                self.outcome("unreadable", started)
                raise self.unreadable() from None
            except aiohttp.ClientError as exc:
                self.outcome("bad_answer", started)
                self.breaker.failure()
                raise self.bad_answer(f"sent a broken answer ({type(exc).__name__})") from None
            if status == 304 and held is not None:
                self.outcome("ok", started)
                self.breaker.success()
                return Answer(held.status, held.raw, held.etag, revalidated=True)
            answer = self._answer(path, status, raw, etag, accept, started)
            if key is not None and answer.status == 200 and answer.etag:
                self.kept.put(key, Answer(200, raw, answer.etag))  # its bytes, not its objects
            return answer
        raise AssertionError("unreachable")

    def _answer(
        self,
        path: str,
        status: int,
        raw: bytes,
        etag: str | None,
        accept: tuple[int, ...],
        started: float,
    ) -> Answer:
        if status >= 500:
            self.outcome("error", started)
            self.breaker.failure()
            if status == 503:  # the service says it is not ready (its database, say)
                raise self.unavailable(f"is unavailable (503 on {path})", error="unavailable")
            raise self.bad_answer(f"failed on {path} ({status})")
        try:
            body = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            self.outcome("bad_answer", started)
            self.breaker.failure()
            raise self.bad_answer(f"answered malformed JSON on {path}") from None
        self.outcome("ok", started)
        self.breaker.success()
        if status not in accept:
            raise self.bad_answer(f"answered {status} on {path}")
        return Answer(status, raw, etag, body=body)


class Services:
    """The clients of the three services, by name."""

    def __init__(
        self,
        settings: GatewaySettings,
        metrics: GatewayMetrics | None = None,
        trace_configs: list[Any] | None = None,
    ) -> None:
        self.pool = Pool(settings, trace_configs)
        self.metrics = metrics or GatewayMetrics(settings.service_name)
        self.by_name = {
            name: ServiceClient(name, url, self.pool, settings, self.metrics)
            for name, url in settings.service_urls().items()
        }
        # The aggregates' whole answers, (bytes, ETag) by what they were built from
        # (`gateway.kept`).
        self.documents: Kept[tuple[Any, ...], tuple[bytes, str]] = Kept(DOCUMENTS_KEPT)

    def __getitem__(self, name: str) -> ServiceClient:
        return self.by_name[name]

    @property
    def registry(self) -> ServiceClient:
        return self.by_name["registry"]

    @property
    def funding(self) -> ServiceClient:
        return self.by_name["funding"]

    @property
    def contracts(self) -> ServiceClient:
        return self.by_name["contracts"]

    async def close(self) -> None:
        await self.pool.close()


async def settle(calls: Mapping[str, Any]) -> dict[str, Any]:
    """Await named coroutines concurrently; each result is its value or the Problem it raised."""
    names = list(calls)
    results = await asyncio.gather(*calls.values(), return_exceptions=True)
    settled: dict[str, Any] = {}
    for name, result in zip(names, results, strict=True):
        if isinstance(result, BaseException) and not isinstance(result, Problem):
            raise result
        settled[name] = result
    return settled
