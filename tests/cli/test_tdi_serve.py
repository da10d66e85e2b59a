"""`tdi serve`, as every container runs an app: real uvicorn processes, their stdout and their
/metrics, on a free port and a SQLite database of the test's own."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tdi_kit.testing import free_port

ROOT = Path(__file__).resolve().parents[2]
TRACE_ID = re.compile(r"^[0-9a-f]{32}$")


class Served:
    """A `tdi serve` process whose stdout lines are kept as they come."""

    def __init__(self, process: subprocess.Popen[str], url: str) -> None:
        self.process = process
        self.url = url
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def events(self) -> list[dict]:
        """Every line as JSON: a line that is not fails the test, naming it."""
        events = []
        for line in self.lines:
            try:
                events.append(json.loads(line))
            except ValueError:
                pytest.fail(f"a line on stdout is not JSON: {line!r}")
        return events


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith("_DATABASE_URL") and k != "PROMETHEUS_MULTIPROC_DIR"
    }
    env["TDI_DATA_DIR"] = str(tmp_path)
    env.update(extra)
    return env


def _migrate(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "tdi_cli.main", "migrate", "--service", "registry"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


@contextmanager
def serving(env: dict[str, str], *args: str) -> Iterator[Served]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tdi_cli.main", "serve", "registry", "--port", str(port), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # anything on stderr must be JSON too, or the test says so
        text=True,
    )
    served = Served(process, f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 240  # each worker imports the suite: slow on a busy host
        while True:
            assert process.poll() is None, "".join(served.lines)
            assert time.monotonic() < deadline, "".join(served.lines)
            try:
                if httpx.get(f"{served.url}/livez", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield served
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        served.reader.join(timeout=5)


def _total(exposition: str, metric: str, exclude_route: str = "/metrics") -> float:
    total = 0.0
    for line in exposition.splitlines():
        if line.startswith(metric + "{") and f'route="{exclude_route}"' not in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_two_workers_report_every_request_in_every_scrape(tmp_path: Path) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    # Left by a previous run: `tdi serve` empties the folder, or its figures would be added.
    (metrics_dir / "counter_999999.db").write_bytes(b"not a metrics file")
    env = _env(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    _migrate(env)
    with serving(env, "--workers", "2") as served:
        workers = re.compile(r'^process_workers\{service="registry"\} 2\.0$', re.M)
        deadline = time.monotonic() + 240  # the second worker may start long after the first
        while not workers.search(body := httpx.get(served.url + "/metrics", timeout=10).text):
            assert time.monotonic() < deadline, body
            time.sleep(1)
        before = _total(body, "http_requests_total")
        sent = 60
        for i in range(sent):
            # A new connection each time, so that both workers serve some of them.
            path = "/api/v1/regions" if i % 2 else "/livez"
            assert httpx.get(served.url + path, timeout=10).status_code == 200
        seen = []
        for _ in range(8):
            body = httpx.get(served.url + "/metrics", timeout=10).text
            seen.append(_total(body, "http_requests_total") - before)
            routes = set(re.findall(r'^http_requests_total\{[^}]*route="([^"]+)"', body, re.M))
            assert routes == {"/livez", "/api/v1/regions", "/metrics"}, routes  # templates
            assert workers.search(body), body
            assert re.search(r'^db_pool_size\{pool="engine",service="registry"\} ', body, re.M)
        assert seen == [sent] * len(seen)
    assert not (metrics_dir / "counter_999999.db").exists()
    # The supervisor's lines and both workers', all JSON.
    assert len({e["pid"] for e in served.events() if e["logger"] == "uvicorn.error"}) >= 3


def test_every_line_on_stdout_is_json_with_request_and_trace_ids(tmp_path: Path) -> None:
    # A database file that is not one: the read fails with an error the service did not expect.
    (tmp_path / "broken.db").write_bytes(b"not a database" * 512)
    broken = _env(tmp_path, REGISTRY_DATABASE_URL=f"sqlite:///{tmp_path / 'broken.db'}")
    with serving(broken) as served:
        given = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        ok = httpx.get(served.url + "/livez", headers={"traceparent": given}, timeout=10)
        failed = httpx.get(served.url + "/api/v1/regions", timeout=10)
        assert ok.status_code == 200
        assert failed.status_code == 500
        assert "Traceback" not in failed.text
    events = served.events()
    loggers = {e["logger"] for e in events}
    assert {"uvicorn.error", "tdi.access"} <= loggers, loggers  # uvicorn's own lines too
    for event in events:
        assert {"time", "level", "service", "logger", "message"} <= set(event), event
        assert event["service"] == "registry"
    access = {e["path"]: e for e in events if e["logger"] == "tdi.access"}
    assert access["/livez"]["trace_id"] == given[3:35]
    failed_id = failed.headers["x-request-id"]
    assert access["/api/v1/regions"]["request_id"] == failed_id
    assert TRACE_ID.match(access["/api/v1/regions"]["trace_id"])  # made at the edge
    errors = [e for e in events if e["level"] == "error"]
    assert len(errors) == 1, errors  # one event per error: not the server's loose traceback
    [error] = errors
    assert error["request_id"] == failed_id
    assert error["trace_id"] == access["/api/v1/regions"]["trace_id"]
    assert error["exception"].startswith("Traceback") and error["error"]


def test_a_stop_ends_long_polls_and_streams_at_once(tmp_path: Path) -> None:
    """SIGTERM: an open long poll answers its page and an event stream ends within moments, not
    after its wait or uvicorn's graceful timeout (which would cancel them with an error)."""
    env = _env(tmp_path)
    _migrate(env)
    answers: dict[str, object] = {}

    def long_poll(url: str) -> None:
        answer = httpx.get(url + "/api/v1/events", params={"wait": 25}, timeout=90)
        answers["poll"] = (answer.status_code, answer.json()["items"], time.monotonic())

    def stream(url: str) -> None:
        headers = {"Accept": "text/event-stream"}
        with httpx.stream("GET", url + "/api/v1/events", headers=headers, timeout=90) as answer:
            answers["stream_status"] = answer.status_code
            for _ in answer.iter_bytes():
                pass
        answers["stream"] = time.monotonic()

    with serving(env, "--timeout-graceful-shutdown", "30") as served:
        threads = [
            threading.Thread(target=long_poll, args=(served.url,), daemon=True),
            threading.Thread(target=stream, args=(served.url,), daemon=True),
        ]
        for thread in threads:
            thread.start()
        time.sleep(1.5)  # both requests are in and waiting
        assert not answers.get("poll")
        stopped = time.monotonic()
        served.process.send_signal(signal.SIGTERM)
        served.process.wait(timeout=20)
        exited = time.monotonic()
        for thread in threads:
            thread.join(timeout=10)
    status, items, answered = answers["poll"]  # type: ignore[misc]
    assert status == 200 and items == []
    assert answered - stopped < 5
    assert answers["stream_status"] == 200
    assert answers["stream"] - stopped < 5  # type: ignore[operator]
    assert exited - stopped < 10
    log = "".join(served.lines)
    assert "graceful shutdown exceeded" not in log
    assert "Task cancelled" not in log
