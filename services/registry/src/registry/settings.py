from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from tdi_kit.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    """Environment variables prefixed `REGISTRY_` (for example `REGISTRY_DATABASE_URL`)."""

    model_config = SettingsConfigDict(env_prefix="REGISTRY_")

    service_name: str = "registry"
    port: int = 8001
    publish_contacts: bool = False
    """Publish the governance's e-mails (chef de projet, referents) to anonymous callers too;
    by default only authenticated callers see them (RGPD: names and roles are public, a
    person's address is not)."""
