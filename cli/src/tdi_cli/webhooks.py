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

from registry.settings import RegistrySettings
from registry.webhooks.dispatcher import Dispatcher, event_source, run_until_cancelled
from tdi_kit.db import create_engine, create_sessionmaker
from tdi_kit.observability import configure_logging

log = logging.getLogger("tdi.webhooks")


async def _run(settings: RegistrySettings) -> None:
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
    try:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    finally:
        await engine.dispose()


def cmd_webhooks(args: argparse.Namespace) -> None:
    settings = RegistrySettings()
    configure_logging("webhooks", level=settings.log_level, as_json=settings.log_json)
    asyncio.run(_run(settings))


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    webhooks = sub.add_parser(
        "webhooks",
        help="run the webhooks dispatcher alone (REGISTRY_WEBHOOKS_DISPATCHER=external)",
    )
    webhooks.set_defaults(func=cmd_webhooks)
