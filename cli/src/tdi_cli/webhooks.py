"""`tdi webhooks`: the webhooks dispatcher as a process of its own.

For a deployment that sets `REGISTRY_WEBHOOKS_DISPATCHER=external` (the registry's processes
then only store subscriptions): run as many of these as the deliveries need, each with the
registry's settings (database; feed URLs and token, or the broker's URL); they share the due
deliveries through leases, and a broker's consumer shares the events between them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from pathlib import Path

from registry.settings import RegistrySettings
from registry.webhooks.dispatcher import Dispatcher, event_source, run_until_cancelled
from tdi_kit.db import create_engine, create_sessionmaker
from tdi_kit.observability import configure_logging

log = logging.getLogger("tdi.webhooks")


# Touched while the dispatcher runs: an exec probe (deploy/kubernetes, docker-compose.yml) tells
# a wedged process (its event loop blocked) from a live one by the file's age.
HEARTBEAT_SECONDS = 10.0


async def _beat(path: Path, task: asyncio.Task[None]) -> None:
    while not task.done():
        with contextlib.suppress(OSError):  # a probe failing says so; the dispatcher goes on
            await asyncio.to_thread(path.touch)
        await asyncio.wait({task}, timeout=HEARTBEAT_SECONDS)


async def _run(settings: RegistrySettings, heartbeat: Path | None = None) -> None:
    engine = create_engine(
        settings.database_url,
        pool_size=max(2, settings.webhook_concurrency // 4),
        max_overflow=2,
        connect_timeout=settings.database_connect_timeout_seconds,
        application_name=f"{settings.database_application_name}-webhooks",
    )
    sessionmaker = create_sessionmaker(engine)
    dispatcher = Dispatcher(sessionmaker=sessionmaker, settings=settings)
    source = event_source(settings, sessionmaker)
    task = asyncio.create_task(run_until_cancelled(dispatcher, source))
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, task.cancel)
    if settings.events_broker_url:
        read_from = f"broker consumer {settings.webhook_broker_consumer}"
    else:
        read_from = "feeds: " + ", ".join(settings.webhook_feed_urls)
    log.info("webhooks dispatcher started (%s)", read_from)
    beat = asyncio.create_task(_beat(heartbeat, task)) if heartbeat else None
    try:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    finally:
        if beat is not None:
            beat.cancel()
        await engine.dispose()


def cmd_webhooks(args: argparse.Namespace) -> None:
    settings = RegistrySettings()
    configure_logging("webhooks", level=settings.log_level, as_json=settings.log_json)
    asyncio.run(_run(settings, args.heartbeat))


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    webhooks = sub.add_parser(
        "webhooks",
        help="run the webhooks dispatcher alone (REGISTRY_WEBHOOKS_DISPATCHER=external)",
    )
    webhooks.add_argument(
        "--heartbeat",
        type=Path,
        default=None,
        help=f"a file touched every {HEARTBEAT_SECONDS:.0f} s while it runs (for a liveness probe)",
    )
    webhooks.set_defaults(func=cmd_webhooks)
