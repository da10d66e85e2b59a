"""Load generation: a service in its own uvicorn process, and wrk (or Python) hitting it.

    async with serve("registry.main:create_app", factory=True, name="registry", env={...},
                     workdir=ctx.workdir) as server:
        summaries = await compare(ctx, [Scenario("by code", server.url + "/api/v1/...")])

`compare` interleaves the scenarios over `ctx.repeat` rounds (each round starts with another
scenario) and keeps every run, so that ratios are taken between runs of the same round: on a
shared, noisy machine a ratio measured a few seconds apart is worth more than two absolutes.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import httpx

if TYPE_CHECKING:
    from bench.harness.runner import Context

REPO = Path(__file__).resolve().parents[2]
WRK_REPORT = Path(__file__).with_name("wrk_report.lua")
# The load tools run a little past their duration; past this margin the run is stopped.
GRACE_SECONDS = 30


@dataclass(frozen=True)
class Result:
    """One measured run: completed requests over the measured seconds, latency percentiles."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx/3xx answers, connection errors and timeouts
    server_cpu: float = 0.0  # CPU seconds the server process used meanwhile (all its threads)
    machine_busy: float = 0.0  # share of all cores busy meanwhile (server, load, database)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_us_per_request(self) -> float:
        return self.server_cpu / self.requests * 1e6 if self.requests else 0.0


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used, from /proc; 0 where there is none."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all cores, from /proc/stat; (0, 0) where there is none."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0, 0
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values) - idle, sum(values)


class LoadGenerator(Protocol):
    name: str

    async def run(
        self, url: str, *, headers: Mapping[str, str], connections: int, duration: float
    ) -> Result: ...


async def _communicate(cmd: Sequence[str], limit_seconds: float) -> str:
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), limit_seconds)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise RuntimeError(f"{cmd[0]} ran past {limit_seconds:.0f} s and was stopped") from None
    except asyncio.CancelledError:  # the run is being stopped: so is the load
        proc.kill()
        await proc.wait()
        raise
    if proc.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd)} failed ({proc.returncode}): {err.decode()[-2000:]}")
    return out.decode()


class Wrk:
    """wrk with one thread (the server under test needs the other core), fixed connections."""

    def __init__(self, path: str) -> None:
        self.path = path
        version = subprocess.run([path, "-v"], capture_output=True, text=True, check=False)
        first = (version.stdout + version.stderr).split()
        self.name = f"wrk {first[1] if len(first) > 1 else ''}".strip() + " (1 thread)"

    async def run(
        self, url: str, *, headers: Mapping[str, str], connections: int, duration: float
    ) -> Result:
        seconds = max(1, round(duration))  # wrk takes whole seconds
        cmd = [self.path, "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s"]
        cmd += ["-s", str(WRK_REPORT)]
        for name, value in headers.items():
            cmd += ["-H", f"{name}: {value}"]
        out = await _communicate([*cmd, url], seconds + GRACE_SECONDS)
        report = json.loads(next(line for line in out.splitlines() if line.startswith("{")))
        errors = sum(report[k] for k in ("connect", "read", "write", "status", "timeout"))
        return Result(
            requests=report["requests"],
            seconds=report["duration_us"] / 1e6,
            p50_ms=report["p50_us"] / 1000,
            p99_ms=report["p99_us"] / 1000,
            errors=errors,
        )


class PythonLoad:
    """bench.harness.pyload in its own process: the fallback when wrk is not installed."""

    name = "Python asyncio load generator (bench/harness/pyload.py)"

    async def run(
        self, url: str, *, headers: Mapping[str, str], connections: int, duration: float
    ) -> Result:
        cmd = [sys.executable, "-m", "bench.harness.pyload", url]
        cmd += ["--connections", str(connections), "--duration", str(duration)]
        for name, value in headers.items():
            cmd += ["--header", f"{name}: {value}"]
        report = json.loads(await _communicate(cmd, duration + GRACE_SECONDS))
        return Result(
            requests=report["requests"],
            seconds=report["seconds"],
            p50_ms=report["p50_ms"],
            p99_ms=report["p99_ms"],
            errors=report["errors"],
        )


def pick_generator(*, force_python: bool = False) -> tuple[LoadGenerator, str | None]:
    """wrk when installed; else the Python generator, with a note saying what was skipped."""
    path = shutil.which("wrk")
    if path and not force_python:
        return Wrk(path), None
    if force_python:
        return PythonLoad(), None
    return PythonLoad(), (
        "wrk is not installed (`apt-get install -y wrk`): the Python load generator was used "
        "instead. It needs a core of its own, so absolute figures are lower than with wrk; "
        "ratios within the run stay comparable."
    )


# --- services under test --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    name: str
    url: str
    process: asyncio.subprocess.Process | subprocess.Popen[bytes]
    log: Path

    @property
    def exited(self) -> bool:
        if isinstance(self.process, subprocess.Popen):
            return self.process.poll() is not None
        return self.process.returncode is not None

    @property
    def pid(self) -> int:
        return self.process.pid


@asynccontextmanager
async def serve(
    app: str,
    *,
    name: str,
    workdir: Path,
    env: Mapping[str, str] | None = None,
    factory: bool = False,
    ready_path: str = "/readyz",
    start_seconds: float = 60,
    port: int | None = None,
) -> AsyncIterator[Server]:
    """`python -m uvicorn <app>` on a loopback port (free, unless given), one worker; stopped on
    exit.

    Waits until `ready_path` answers 200. uvicorn picks uvloop and httptools when installed, as
    it would in production. Give `port` (from `free_port()`) when another service must know the
    address before this one starts.
    """
    port = port or free_port()
    cmd = [sys.executable, "-m", "uvicorn", app, *(["--factory"] if factory else [])]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    cmd += ["--log-level", "warning"]
    pythonpath = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    full_env = {**os.environ, "PYTHONPATH": pythonpath, **(env or {})}
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            *cmd, cwd=REPO, env=full_env, stdout=out, stderr=subprocess.STDOUT
        )
    server = Server(name=name, url=f"http://127.0.0.1:{port}", process=process, log=log)
    try:
        await wait_ready(server, ready_path, start_seconds)
        yield server
    finally:
        await stop(process)


async def wait_ready(server: Server, path: str = "/readyz", start_seconds: float = 60) -> None:
    """Until `path` answers 200; raises with the end of the server's log if it never does."""
    deadline = time.monotonic() + start_seconds
    last = "no answer"
    async with httpx.AsyncClient(timeout=5) as client:
        while time.monotonic() < deadline:
            if server.exited:
                break
            try:
                response = await client.get(server.url + path)
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text[:300]}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            await asyncio.sleep(0.1)
    tail = server.log.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"{server.name} did not become ready on {path} ({last}); log:\n{tail}")


_wait_ready = wait_ready  # the name bench/gateway.py imports


# --- measurements ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    expect: int = 200  # the status one request must get before the load starts
    pid: int | None = None  # the server process whose CPU use is measured with the load


@dataclass
class Summary:
    scenario: Scenario
    runs: list[Result] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return statistics.median(r.rps for r in self.runs)

    @property
    def p50_ms(self) -> float:
        return statistics.median(r.p50_ms for r in self.runs)

    @property
    def p99_ms(self) -> float:
        return statistics.median(r.p99_ms for r in self.runs)

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.runs)

    @property
    def cpu_us_per_request(self) -> float:
        return statistics.median(r.cpu_us_per_request for r in self.runs)

    @property
    def server_cpu_share(self) -> float:
        """Median share of one core the server used (over 1 when its threads ran in parallel)."""
        return statistics.median(r.server_cpu / r.seconds for r in self.runs if r.seconds)

    @property
    def machine_busy(self) -> float:
        return statistics.median(r.machine_busy for r in self.runs)

    @property
    def rps_range(self) -> tuple[float, float]:
        return min(r.rps for r in self.runs), max(r.rps for r in self.runs)


async def check(scenario: Scenario) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.get(scenario.url, headers=dict(scenario.headers))
    if response.status_code != scenario.expect:
        raise RuntimeError(
            f"{scenario.name}: GET {scenario.url} answered {response.status_code}, "
            f"expected {scenario.expect}: {response.text[:300]}"
        )


async def measure(ctx: Context, scenario: Scenario) -> Result:
    """Warm-up (discarded), then the measured run, with the run's connections and duration."""
    load = ctx.loadgen
    kwargs = {"headers": scenario.headers, "connections": ctx.connections}
    if ctx.warmup > 0:
        await load.run(scenario.url, duration=ctx.warmup, **kwargs)
    cpu, ticks = process_cpu(scenario.pid) if scenario.pid else 0.0, machine_ticks()
    result = await load.run(scenario.url, duration=ctx.duration, **kwargs)
    busy, total = (now - then for now, then in zip(machine_ticks(), ticks, strict=True))
    result = replace(
        result,
        server_cpu=process_cpu(scenario.pid) - cpu if scenario.pid else 0.0,
        machine_busy=busy / total if total else 0.0,
    )
    ctx.say(
        f"  {scenario.name}: {result.rps:,.0f} req/s, p50 {result.p50_ms:.1f} ms, "
        f"p99 {result.p99_ms:.1f} ms, {result.errors} errors, server CPU "
        f"{result.cpu_us_per_request:.0f} µs/request, machine {result.machine_busy:.0%} busy"
    )
    return result


async def compare(ctx: Context, scenarios: Sequence[Scenario]) -> dict[str, Summary]:
    """Each scenario `ctx.repeat` times, interleaved; round i starts with scenario i mod n."""
    for scenario in scenarios:
        await check(scenario)
    summaries = {s.name: Summary(s) for s in scenarios}
    for round_ in range(ctx.repeat):
        ctx.say(f"round {round_ + 1}/{ctx.repeat}")
        shift = round_ % len(scenarios)
        for scenario in [*scenarios[shift:], *scenarios[:shift]]:
            summaries[scenario.name].runs.append(await measure(ctx, scenario))
    return summaries


def ratio(numerator: Summary, denominator: Summary) -> tuple[float, float, float]:
    """Median, min and max of the per-round throughput ratios (runs of the same round)."""
    ratios = [n.rps / d.rps for n, d in zip(numerator.runs, denominator.runs, strict=True) if d.rps]
    return statistics.median(ratios), min(ratios), max(ratios)


async def stop(process: asyncio.subprocess.Process) -> None:
    """End a process this module started (by its own handle), politely then firmly."""
    if process.returncode is None:
        process.terminate()
        with suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), 10)
    if process.returncode is None:
        process.kill()
        await process.wait()
