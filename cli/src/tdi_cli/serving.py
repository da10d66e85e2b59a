"""`tdi up` (every service, migrated and seeded, as child processes) and `tdi serve` (one app
under uvicorn, as every container runs it)."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tdi_cli.jobs import prepare
from tdi_cli.services import Service, by_name
from tdi_kit.metrics import prepare_multiprocess
from tdi_kit.observability import log_config


def cmd_up(args: argparse.Namespace) -> None:
    data_dir = Path(args.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["TDI_DATA_DIR"] = str(data_dir)
    services = by_name(args.service)
    print(f"data folder: {data_dir}")
    for service in services:
        asyncio.run(prepare(service, seed=not args.no_seed, demo=args.demo))

    busy = [
        f"{s.name} ({s.settings().host}:{s.settings().port})"
        for s in services
        if _port_in_use(s.settings().host, s.settings().port)
    ]
    if busy:
        raise SystemExit(
            f"port already in use for {', '.join(busy)}: is the suite already "
            "running? Stop it, or set <SERVICE>_PORT."
        )

    # Each service finds the others where this run puts them (FUNDING_REGISTRY_URL, ...),
    # whatever ports the settings chose; settings a service does not have are ignored.
    urls = {s.name: f"http://{s.settings().host}:{s.settings().port}" for s in services}
    for service in services:
        for other, url in urls.items():
            if other != service.name:
                os.environ.setdefault(f"{service.name.upper()}_{other.upper()}_URL", url)

    children: list[tuple[Service, subprocess.Popen[bytes], str]] = []
    for service in services:
        settings = service.settings()
        log = (data_dir / f"{service.name}.log").open("ab")
        command = [
            sys.executable,
            "-m",
            "tdi_cli.main",
            "serve",
            service.name,
            "--host",
            settings.host,
            "--port",
            str(settings.port),
            "--timeout-graceful-shutdown",
            "10",
        ]
        # Own session: Ctrl-C reaches tdi alone, which then stops the services in order.
        child = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        children.append((service, child, f"http://{settings.host}:{settings.port}"))

    def stop(*_: object) -> None:
        for _service, child, _url in children:
            if child.poll() is None:
                child.terminate()
        for _service, child, _url in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        print("stopped every process tdi up started.")

    def on_sigterm(*_args: object) -> None:
        stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        for service, child, url in children:
            _wait_ready(service, child, url, data_dir)
            log_path = data_dir / f"{service.name}.log"
            print(f"{service.name:10} {url}/api/v1   docs {url}/docs   logs {log_path}")
        print("ready. Ctrl-C stops everything.")
        while all(child.poll() is None for _s, child, _u in children):
            time.sleep(0.5)
        dead = [s.name for s, child, _u in children if child.poll() is not None]
        print(f"{', '.join(dead)} stopped unexpectedly; see its log. Stopping the others.")
        stop()
        sys.exit(1)
    except KeyboardInterrupt:
        stop()


def cmd_serve(args: argparse.Namespace) -> None:
    """One app under uvicorn, as every container and `tdi up` run it."""
    [service] = by_name([args.service])
    settings = service.settings()
    workers = args.workers
    # Several workers share the metrics through files, emptied here before any worker starts.
    prepare_multiprocess(workers)
    import uvicorn

    uvicorn.run(
        service.app,
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        workers=workers,
        # JSON on stdout from uvicorn's first line (plain text when LOG_JSON is false).
        log_config=log_config(service.name, settings.log_level) if settings.log_json else None,
        log_level=settings.log_level.lower(),
        access_log=False,  # the kit's access log replaces it, with the request id
        timeout_graceful_shutdown=args.timeout_graceful_shutdown,
        # A worker still importing the suite on a busy host must not be taken for a hung one
        # (uvicorn's default, 5 s, kills and restarts it over and over).
        timeout_worker_healthcheck=60,
        # The gateway alone decides whose X-Forwarded-For to believe (trusted_proxies):
        # uvicorn's own default believes any local client.
        proxy_headers=service.name != "gateway",
    )


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _wait_ready(service: Service, child: subprocess.Popen[bytes], url: str, data_dir: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise SystemExit(f"{service.name} exited; see {data_dir}/{service.name}.log")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{service.name} was not ready within 60 s; see {data_dir}/{service.name}.log")
