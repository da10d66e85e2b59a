from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from tdi_kit.settings import ServiceSettings


class ContractsSettings(ServiceSettings):
    """Environment variables prefixed `CONTRACTS_` (for example `CONTRACTS_DATABASE_URL`)."""

    model_config = SettingsConfigDict(env_prefix="CONTRACTS_")

    service_name: str = "contracts"
    port: int = 8003
    registry_url: str = "http://127.0.0.1:8001"
    """The registry service (owner of territories and organisations, checked at write time)."""
    registry_timeout_seconds: float = 3.0
    """How long a call to the registry may take (then 503, nothing stored)."""
    funding_url: str = "http://127.0.0.1:8002"
    """The funding service (owner of allocations: contracts asks whether an operator with no
    positive plan line on an action finances it all the same; unreachable means 503)."""
    funding_timeout_seconds: float = 3.0
    """How long a call to the funding service may take (then 503, nothing stored)."""
