from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from tdi_kit.settings import ServiceSettings


class ContractsSettings(ServiceSettings):
    """Environment variables prefixed `CONTRACTS_` (for example `CONTRACTS_DATABASE_URL`)."""

    model_config = SettingsConfigDict(env_prefix="CONTRACTS_")

    service_name: str = "contracts"
    port: int = 8003
    # The owner of territories and organisations, asked at write time to check references.
    registry_url: str = "http://127.0.0.1:8001"
    registry_timeout_seconds: float = 3.0
    # The owner of allocations, asked whether an operator with no positive plan line on an
    # action finances it all the same (a recorded allocation); unreachable means 503.
    funding_url: str = "http://127.0.0.1:8002"
    funding_timeout_seconds: float = 3.0
