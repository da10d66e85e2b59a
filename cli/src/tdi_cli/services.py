"""The services `tdi` knows how to migrate, seed and start."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from tdi_kit.settings import AppSettings


@dataclass(frozen=True)
class Service:
    name: str
    app: str  # "module:factory", for uvicorn --factory
    migrations: str
    settings: Callable[[], AppSettings]
    # The official or public facts this service ships (idempotent).
    seed: Callable[[AsyncSession], Awaitable[Any]] | None = None
    # Invented, plausible data for demonstrations, loaded only on request and marked as demo.
    demo: Callable[[AsyncSession], Awaitable[Any]] | None = None
    # Its stored Idempotency-Key answers (`tdi purge-idempotency`).
    idempotency: Table | None = None


def _registry() -> Service:
    from registry.main import MIGRATIONS
    from registry.models import idempotency_keys
    from registry.seed.loader import load
    from registry.settings import RegistrySettings

    return Service(
        "registry",
        "registry.main:create_app",
        MIGRATIONS,
        RegistrySettings,
        load,
        idempotency=idempotency_keys,
    )


def _funding() -> Service:
    from funding.main import MIGRATIONS
    from funding.models import idempotency_keys
    from funding.seed.demo import load_demo
    from funding.seed.loader import load
    from funding.settings import FundingSettings

    return Service(
        "funding",
        "funding.main:create_app",
        MIGRATIONS,
        FundingSettings,
        load,
        load_demo,
        idempotency_keys,
    )


def _contracts() -> Service:
    from contracts.main import MIGRATIONS
    from contracts.models import idempotency_keys
    from contracts.seed.demo import load_demo
    from contracts.seed.loader import load
    from contracts.settings import ContractsSettings

    return Service(
        "contracts",
        "contracts.main:create_app",
        MIGRATIONS,
        ContractsSettings,
        load,
        load_demo,
        idempotency_keys,
    )


def _gateway() -> Service:
    from gateway.settings import GatewaySettings

    # The gateway owns no database (no migrations, no seed); it is started last, once the
    # services it forwards to answer; its readiness is its own (each service reported in it).
    return Service("gateway", "gateway.main:create_app", "", GatewaySettings)


def all_services() -> list[Service]:
    return [_registry(), _funding(), _contracts(), _gateway()]


def by_name(names: list[str] | None) -> list[Service]:
    services = all_services()
    if not names:
        return services
    known = {s.name: s for s in services}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"unknown service {', '.join(unknown)}; known: {', '.join(known)}")
    return [known[n] for n in names]
