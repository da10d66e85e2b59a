"""`tdi migrate`, `tdi seed`, `tdi purge-idempotency`, `tdi backup`, `tdi restore`: the jobs
run against each service's database, by the kit's recipes (as deployments' Jobs run them)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tdi_cli import backup
from tdi_cli.services import Service, by_name
from tdi_kit import migrations
from tdi_kit.db import create_engine, create_sessionmaker
from tdi_kit.idempotency import purge_expired
from tdi_kit.settings import ServiceSettings


def batch_engine(settings: ServiceSettings) -> AsyncEngine:
    """A job's engine: two connections at most (it uses one), statements unbounded."""
    return create_engine(
        settings.database_url,
        pool_size=1,
        max_overflow=1,
        connect_timeout=settings.database_connect_timeout_seconds,
        statement_cache_size=settings.database_statement_cache_size,
        application_name=f"{settings.database_application_name}-job",
    )


async def prepare(service: Service, *, seed: bool = False, demo: bool = False) -> None:
    """Migrate the service's database to head, then (with `seed`) load what it ships: the
    kit's one recipe for a fresh database, as the tests and the deployment jobs follow it."""
    if not service.migrations:
        return  # the gateway: no database of its own
    settings = service.settings()
    assert isinstance(settings, ServiceSettings)
    loaders = [("seed", service.seed)] if seed else []
    if seed and demo:
        loaders.append(("demo data", service.demo))
    engine = batch_engine(settings)
    try:
        # Started beside its database (compose, a Job), the job waits for it, within bounds;
        # every replica or job may run this at once: the migration lock lets one work at a time.
        await migrations.wait_for_database(engine, within=settings.database_wait_seconds)
        await migrations.migrate_and_seed(
            engine,
            service.migrations,
            *[
                _announced(f"{service.name}: loading the {what}", load)
                for what, load in loaders
                if load
            ],
            say=print,
            app_role=settings.database_app_role,
        )
    finally:
        await engine.dispose()
    print(f"{service.name}: migrations at head ({_safe_url(settings.database_url)})")


def _announced(line: str, loader: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def load(session: AsyncSession, *, say: Callable[[str], None]) -> Any:
        say(line)
        return await loader(session, say=say)

    return load


async def _purge_idempotency(service: Service) -> None:
    if service.idempotency is None:
        return
    settings = service.settings()
    assert isinstance(settings, ServiceSettings)
    engine = batch_engine(settings)
    try:
        purged = await purge_expired(
            create_sessionmaker(engine),
            service.idempotency,
            retention=dt.timedelta(hours=settings.idempotency_retention_hours),
        )
    finally:
        await engine.dispose()
    print(
        f"{service.name}: {purged} Idempotency-Key answers older than "
        f"{settings.idempotency_retention_hours:g} h purged"
    )


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def cmd_migrate(args: argparse.Namespace) -> None:
    for service in by_name(args.service):
        asyncio.run(prepare(service))


def cmd_purge_idempotency(args: argparse.Namespace) -> None:
    for service in by_name(args.service):
        asyncio.run(_purge_idempotency(service))


def cmd_seed(args: argparse.Namespace) -> None:
    # The seed needs the schema at head; migrating first makes `tdi seed` enough on its own.
    for service in by_name(args.service):
        asyncio.run(prepare(service, seed=True, demo=args.demo))


def cmd_backup(args: argparse.Namespace) -> None:
    for service in by_name(args.service):
        if not service.migrations:
            continue  # the gateway keeps nothing
        settings = service.settings()
        assert isinstance(settings, ServiceSettings)
        try:
            target = backup.backup(service.name, settings.database_url, Path(args.to))
        except backup.BackupError as exc:
            raise SystemExit(str(exc)) from exc
        print(f"{service.name}: {target} (+ {target.name}.json)")


def cmd_restore(args: argparse.Namespace) -> None:
    for file in args.file:
        source = Path(file)
        name = source.name.split("-", 1)[0]
        services = [s for s in by_name(None) if s.name == name and s.migrations]
        if not services:
            raise SystemExit(f"{source.name}: not a backup of registry, funding or contracts")
        service = services[0]
        settings = service.settings()
        assert isinstance(settings, ServiceSettings)
        try:
            counts = backup.restore(
                service.name,
                settings.database_url,
                source,
                service.migrations,
                settings.database_app_role,
            )
        except backup.BackupError as exc:
            raise SystemExit(str(exc)) from exc
        rows = sum(counts.values())
        print(f"{service.name}: restored {rows} rows in {len(counts)} tables, as the manifest says")
