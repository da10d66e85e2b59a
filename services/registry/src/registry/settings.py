from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from tdi_kit.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    """Environment variables prefixed `REGISTRY_` (for example `REGISTRY_DATABASE_URL`)."""

    model_config = SettingsConfigDict(env_prefix="REGISTRY_")

    service_name: str = "registry"
    port: int = 8001
